import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@forgeone/test-harness';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ComposeService {
  readonly command?: string[];
  readonly environment?: Record<string, string>;
  readonly depends_on?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(repoRoot(), 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const runners = Object.entries(compose.services).filter(([, s]) => s.command?.includes('apps/sandbox-runner/dist/main.js'));

describe('docker-compose sandbox-runners', () => {
  it('compose - at least two sandbox-runners, each with a stable identity of its own', () => {
    expect(runners.map(([name]) => name)).toContain('sandbox-runner');
    expect(runners.length).toBeGreaterThanOrEqual(2);
    const ids = runners.map(([, s]) => s.environment?.FORGEONE_RUNNER_ID);
    // A fixed identity, not the container id a replica would get: call windows are numbered per identity.
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('compose - the runners differ only in their identity: same command, start order, NATS user, credential and keys', () => {
    const [[, first], ...others] = runners;
    const { FORGEONE_RUNNER_ID: _id, ...shared } = first!.environment!;
    expect(shared.NATS_URL).toMatch(/^nats:\/\/sandbox-runner:/);
    expect(shared.OTEL_SERVICE_NAME).toBe('forgeone-sandbox-runner');
    for (const [name, runner] of others) {
      const { FORGEONE_RUNNER_ID: _other, ...rest } = runner.environment!;
      expect(rest, name).toEqual(shared);
      expect(runner.command, name).toEqual(first!.command);
      expect(runner.depends_on, name).toEqual(first!.depends_on);
    }
  });
});
