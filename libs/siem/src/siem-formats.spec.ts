import { describe, expect, it } from 'vitest';
import { escapeCefExtension, escapeCefHeader, renderCef } from './cef.format.js';
import { hecEnvelope, ocsfClassOf, renderOcsf } from './ocsf.format.js';
import { severityOf } from './severity.js';
import { siemConfigFromEnv } from './siem.config.js';
import { sinkAccepts } from './sink-filter.js';
import { escapeSdValue, octetCountedFrame, renderSyslogMessage } from './syslog.format.js';
import { SyslogTransport } from './syslog.transport.js';

const event = (type: string, data: unknown, tenant = 'acme') => ({
  specversion: '1.0' as const,
  id: 'e-1',
  source: '/forgeone/registry',
  type,
  subject: 'acme:acme/hello',
  time: '2026-12-07T10:00:00.000Z',
  datacontenttype: 'application/json' as const,
  data,
  actor: 'alice',
  tenant,
  schemaversion: '1',
});

describe('siem formats - CEF escaping', () => {
  it('cef - header fields escape \\ and | (and have no line break)', () => {
    expect(escapeCefHeader('a|b\\c\nd')).toBe('a\\|b\\\\c d');
  });
  it('cef - extension values escape \\, =, CR and LF, and leave | alone', () => {
    expect(escapeCefExtension('a=b\\c\r\nd|e')).toBe('a\\=b\\\\c\\r\\nd|e');
  });
  it('cef - a hostile reason stays inside its one key on one line', () => {
    const line = renderCef({ sequence: 7, event: event('io.forgeone.plugin.rolled_back.v1', { name: 'acme/hello', reason: 'x\nsuser=root externalId=forged' }) });
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).toContain('reason=x\\nsuser\\=root externalId\\=forged msg=');
    expect(line.startsWith('CEF:0|ForgeOne|ForgeOne Platform|1|io.forgeone.plugin.rolled_back.v1|plugin rolled back|3|rt=')).toBe(true);
  });
});

describe('siem formats - syslog', () => {
  it('syslog - RFC 5424 with structured data escaped and octet-counted framing in bytes', () => {
    expect(escapeSdValue('a"b]c\\')).toBe('a\\"b\\]c\\\\');
    const message = renderSyslogMessage({ sequence: 3, event: event('io.forgeone.plugin.sandbox_violation.v1', {}) }, 'CEF:0|x', 'host one');
    expect(message).toBe('<106>1 2026-12-07T10:00:00.000Z hostone forgeone - plugin [forgeone@32473 eventId="e-1" sequence="3" tenant="acme"] CEF:0|x');
    expect(octetCountedFrame('é').toString('utf8')).toBe('2 é');
  });
  it('syslog - a batch renders as each message octet-counted in UTF-8 bytes, whatever its characters and size', () => {
    // Multi-byte reasons push some messages' byte counts past a power of ten their UTF-16 length is below; the last outgrows the first buffer.
    const events = [...Array.from({ length: 400 }, (_, i) => 'é'.repeat(i)), `€\n=${'€'.repeat(40_000)}`].map((reason, i) => ({
      sequence: i + 1,
      event: event('io.forgeone.plugin.rolled_back.v1', { name: 'acme/hello', reason }),
    }));
    const frames = new SyslogTransport({ kind: 'syslog', host: '127.0.0.1', port: 1, tls: false }, 'host one').render(events);
    const messages = events.map((e) => renderSyslogMessage(e, renderCef(e), 'host one'));
    expect(messages.some((m) => m.length < 1000 && Buffer.byteLength(m) >= 1000)).toBe(true);
    expect(frames.equals(Buffer.concat(messages.map(octetCountedFrame)))).toBe(true);
  });
});

describe('siem formats - severity, filters and OCSF', () => {
  it('severity - violations and rejections high, denials medium, lifecycle low', () => {
    expect(severityOf(event('io.forgeone.signature.rejected.v1', {}))).toBe('high');
    expect(severityOf(event('io.forgeone.policy.decision_recorded.v1', { decision: 'deny' }))).toBe('medium');
    expect(severityOf(event('io.forgeone.policy.decision_recorded.v1', { decision: 'allow' }))).toBe('low');
    expect(severityOf(event('io.forgeone.plugin.installed.v1', {}))).toBe('low');
  });
  it('filter - a tenant sink sees only its tenant; platform sinks always get audit checkpoints', () => {
    expect(sinkAccepts({ tenant: 'acme' }, event('io.forgeone.plugin.installed.v1', {}, 'globex'))).toBe(false);
    expect(sinkAccepts({ tenant: 'acme' }, event('io.forgeone.plugin.installed.v1', {}))).toBe(true);
    const platform = { minSeverity: 'high' as const, always: ['io.forgeone.audit.checkpoint_signed.v1'] };
    expect(sinkAccepts(platform, event('io.forgeone.plugin.installed.v1', {}))).toBe(false);
    expect(sinkAccepts(platform, event('io.forgeone.audit.checkpoint_signed.v1', {}, 'default'))).toBe(true);
    expect(sinkAccepts({ types: ['io.forgeone.plugin.*'] }, event('io.forgeone.key.trusted.v1', {}))).toBe(false);
  });
  it('ocsf - classes by event type, the event id as metadata.uid, in the HEC envelope', () => {
    expect(ocsfClassOf('io.forgeone.plugin.sandbox_violation.v1').classUid).toBe(2004);
    expect(ocsfClassOf('io.forgeone.key.trusted.v1').classUid).toBe(3004);
    expect(ocsfClassOf('io.forgeone.plugin.installed.v1').classUid).toBe(6002);
    expect(ocsfClassOf('io.forgeone.policy.decision_recorded.v1').classUid).toBe(6003);
    const e = { sequence: 9, event: event('io.forgeone.plugin.installed.v1', { name: 'acme/hello', version: '1.0.0' }) };
    const ocsf = renderOcsf(e);
    expect(ocsf).toMatchObject({ class_uid: 6002, activity_id: 1, type_uid: 600201, severity_id: 2, metadata: { uid: 'e-1', sequence: 9, tenant_uid: 'acme' }, app: { name: 'acme/hello', version: '1.0.0' } });
    expect(JSON.parse(hecEnvelope(e, ocsf, 'h'))).toMatchObject({ time: 1796637600, host: 'h', sourcetype: 'ocsf', event: { class_uid: 6002 } });
  });
  it('config - no sink without variables; a token never appears in an error', () => {
    expect(siemConfigFromEnv({}).sinks).toEqual([]);
    expect(() => siemConfigFromEnv({ FORGEONE_SIEM_HEC_URL: 'https://u:secret-token@h/', FORGEONE_SIEM_HEC_TOKEN: 'secret-token' })).toThrow(/FORGEONE_SIEM_HEC_URL holds credentials/);
    try {
      siemConfigFromEnv({ FORGEONE_SIEM_HEC_URL: 'http://h/?token=secret-token', FORGEONE_SIEM_HEC_TOKEN: 'secret-token' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-token');
    }
  });
});
