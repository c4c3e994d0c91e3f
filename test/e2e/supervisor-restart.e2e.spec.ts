// `npm start` (forgeone up) keeps the platform running when a service dies: the supervisor says so and restarts it.
import { createTestDatabase, removeNamespace, startTestPlatform, testNamespace, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('platform - the supervisor of forgeone up restarts a service that dies', () => {
  const namespace = testNamespace('e2e-restart');
  let db: TestDatabase;
  let platform: TestPlatform;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('kill -9 of the gateway - a log line names the signal, a new process serves the API again', async () => {
    const listPlugins = () => fetch(`${platform.apiUrl}/v1/plugins`, { headers: { authorization: `Bearer ${platform.bootstrapToken}` } });
    expect((await listPlugins()).status).toBe(200);
    const pid = platform.pids.gateway!;
    process.kill(pid, 'SIGKILL');
    const restarted = new RegExp(`"service":"gateway","pid":(\\d+),"attempt":1,"msg":"service gateway restarted"`);
    const deadline = Date.now() + 60_000;
    while (!restarted.test(platform.logs()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const logs = platform.logs();
    expect(logs).toMatch(new RegExp(`"service":"gateway","pid":${pid},"code":null,"signal":"SIGKILL",.*"msg":"service gateway was killed by SIGKILL after [\\d.]+ s; restarting it in 1\\.0 s \\(restart 1; the platform gives up at 5 failures in a row within 60 s of starting\\)"`));
    const newPid = Number(restarted.exec(logs)?.[1]);
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(pid);
    // Serving again: the API answers through the new process.
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = await listPlugins().then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    expect(() => process.kill(newPid, 0)).not.toThrow();
  });
});
