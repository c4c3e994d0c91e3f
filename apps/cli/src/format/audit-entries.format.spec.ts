import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../api-client.js';
import { formatAuditEntries } from './audit-entries.format.js';

const entry = (sequence: number, type: string, data: Record<string, unknown>): AuditEntry => ({
  sequence,
  eventId: `e${sequence}`,
  type,
  subject: 'acme/hello',
  actor: 'u-1',
  tenant: 'acme',
  occurredAt: '2026-03-01T10:00:00.123Z',
  recordedAt: '2026-03-01T10:00:00.456Z',
  data,
  hash: 'h',
  prevHash: 'g',
  traceparent: null,
  forged: null,
});

describe('formatAuditEntries', () => {
  it('signature results - names the stage, shows FLAGGED for an audit-mode acceptance, and the reason', () => {
    const text = formatAuditEntries(
      [
        entry(1, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello', version: '1.0.0', environment: 'staging' }),
        entry(2, 'io.forgeone.signature.rejected.v1', { name: 'acme/hello', version: '1.0.0', environment: 'staging', stage: 'install', flagged: true, reason: 'SIGNATURE.MISSING' }),
        entry(3, 'io.forgeone.signature.rejected.v1', { name: 'acme/hello', version: '1.0.0', environment: 'production', stage: 'install', flagged: false, reason: 'SIGNATURE.MISSING' }),
        entry(4, 'io.forgeone.signature.verified.v1', { name: 'acme/hello', version: '1.0.0', environment: null, stage: 'publish', flagged: false, reason: null }),
      ],
      { withPlugin: true },
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^SEQ +TIME +EVENT +PLUGIN +VERSION +ENVIRONMENT +ACTOR +REASON$/);
    expect(lines[1]).toMatch(/ plugin\.installed +acme\/hello +1\.0\.0 +staging +u-1 +-$/);
    expect(lines[2]).toMatch(/ signature\.rejected \(install, FLAGGED\) +acme\/hello +1\.0\.0 +staging +u-1 +SIGNATURE\.MISSING$/);
    expect(lines[3]).toMatch(/ signature\.rejected \(install\) +acme\/hello +1\.0\.0 +production +u-1 +SIGNATURE\.MISSING$/);
    expect(lines[4]).toMatch(/ signature\.verified \(publish\) +acme\/hello +1\.0\.0 +- +u-1 +-$/);
  });
});

describe('formatAuditEntries - authorship', () => {
  it("runner results and forgeries - the runner's checks read like the registry's with stage runner; a forged event says FORGED and why", () => {
    const text = formatAuditEntries(
      [
        entry(5, 'io.forgeone.signature.runner_verified.v1', { name: 'acme/hello', version: '1.0.0', environment: 'production', stage: 'runner', flagged: false, reason: null }),
        { ...entry(6, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello', version: '6.6.6', environment: 'production' }), forged: 'unsigned' },
        entry(7, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello', version: '1.0.0', environment: 'production' }),
      ],
      { withPlugin: false },
    );
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/ signature\.verified \(runner\) +1\.0\.0 +production +u-1$/);
    expect(lines[2]).toMatch(/ FORGED \(unsigned\) plugin\.installed +6\.6\.6 +production +u-1$/);
    expect(lines[3]).toMatch(/^7 .* plugin\.installed +1\.0\.0 +production +u-1$/);
    expect(lines[3]).not.toContain('FORGED');
  });
});
