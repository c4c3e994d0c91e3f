import {
  cliSucceeded,
  createTestDatabase,
  eventually,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Readyz {
  readonly ready: boolean;
  readonly services: Record<string, { ready: boolean; checks?: Record<string, { ok: boolean; detail?: string }> }>;
}

// The shared test NATS lets clients without credentials do anything, so the harness runs the
// platform with FORGEONE_NATS_INSECURE=1: this is what a user of such a platform sees.
describe('insecure NATS - a platform started with FORGEONE_NATS_INSECURE=1', () => {
  const namespace = testNamespace('e2e-insecure');
  let db: TestDatabase;
  let platform: TestPlatform;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_LOG_LEVEL: 'error' } });
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('insecure NATS - every start says so at error level, /readyz shows it, and the audit log records the policy service start', async () => {
    expect(platform.output()).toMatch(/"level":"error".*FORGEONE_NATS_INSECURE=1: running on NATS nats:\/\/127\.0\.0\.1:4222, where a client without credentials may publish event subjects/);

    const readyz = (await (await fetch(`${platform.apiUrl}/readyz`)).json()) as Readyz;
    expect(readyz.ready).toBe(true);
    for (const [service, readiness] of Object.entries(readyz.services)) {
      expect(readiness.checks?.natsSecurity, service).toEqual({ ok: true, detail: expect.stringMatching(/^INSECURE \(FORGEONE_NATS_INSECURE=1\): a client without credentials may /) });
    }
    // Services that write watch the storage they write.
    expect(readyz.services.registry.checks?.storage?.detail).toMatch(/^stream \S+ \d+\.\d% of 64MB; object store \S+ \d+\.\d% of 64MB$/);
    expect(readyz.services['sandbox-runner'].checks?.storage?.detail).toMatch(/^stream \S+ \d+\.\d% of 64MB; key-value bucket \S+ \d+\.\d% of 8MB$/);
    expect(readyz.services.gateway.checks?.storage).toBeUndefined();

    const entries = await eventually(async () => {
      const log = cliSucceeded<{ entries: Array<{ type: string; tenant: string; actor: string; data: Record<string, unknown> }> }>(
        await runCli(platform.apiUrl, ['audit', 'log', '--limit', '1000', '--json'], { token: platform.bootstrapToken }),
      );
      const starts = log.entries.filter((e) => e.type === 'io.forgeone.platform.nats_insecure_start.v1');
      return starts.length > 0 ? starts : undefined;
    }, 'the insecure start in the audit log');
    expect(entries).toEqual([
      {
        ...entries[0],
        tenant: 'default',
        actor: 'service.policy',
        data: { service: 'policy', servers: ['nats://127.0.0.1:4222'], exposures: expect.arrayContaining([expect.stringMatching(/^publish event subjects into stream /)]) },
      },
    ]);
  });
});
