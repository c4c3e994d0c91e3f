import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  freePort,
  makeTestCa,
  runCli,
  startRsyslog,
  startTestPlatform,
  type Rsyslog,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface SiemStatusJson {
  sinks: { sink: string; kind: string; tenant: string | null; lastDeliveredSequence: number; lagEvents: number; lastError: string | null }[];
}

// `npm start` with a platform syslog sink over TLS: its own nats-server (the permission table enforced), the siem-forwarder among the services, a real rsyslog receiving, and `forgeone siem status`.
describe('siem - the platform forwards its events to rsyslog, and siem status shows where the sink stands', () => {
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-siem-'));
  let platform: TestPlatform;
  let rsyslog: Rsyslog;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('fo_siem');
    const ca = makeTestCa(join(work, 'pki'));
    const port = await freePort();
    rsyslog = await startRsyslog({ dir: join(work, 'rsyslog'), port, tls: ca });
    platform = await startTestPlatform({
      namespace: '',
      databaseUrl: db.url,
      natsUrl: null,
      dataDir: join(work, 'data'),
      timeoutMs: 150_000,
      env: { FORGEONE_SIEM_SYSLOG_URL: `tls://127.0.0.1:${port}`, FORGEONE_SIEM_SYSLOG_CA_FILE: ca.caFile },
    });
  }, 200_000);

  afterAll(async () => {
    await platform?.stop();
    await rsyslog?.stop();
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('siem e2e - platform events reach rsyslog as CEF; an admin sees the sink caught up, another tenant sees none of the platform sinks, a developer is refused', async () => {
    // The platform's first events (the default policy set, the bootstrap token) are forwarded.
    const lines = await eventually(async () => {
      const got = rsyslog.lines();
      return got.some((line) => line.includes('io.forgeone.policy.policy_set_applied.v1')) ? got : undefined;
    }, 'the policy set event at rsyslog', 60_000);
    expect(lines.every((line) => /^<1\d\d>1 \S+ \S+ forgeone - \S+ \[forgeone@32473 eventId="[^"]+" sequence="\d+" tenant="[^"]+"\] CEF:0\|ForgeOne\|/.test(line))).toBe(true);

    const status = await eventually(async () => {
      const reply = cliSucceeded<SiemStatusJson>(await runCli(platform.apiUrl, ['siem', 'status', '--json'], { token: platform.bootstrapToken }));
      const sink = reply.sinks.find((s) => s.sink === 'platform-syslog');
      return sink && sink.lagEvents === 0 && sink.lastDeliveredSequence > 0 ? reply : undefined;
    }, 'the sink caught up in siem status', 60_000);
    expect(status.sinks).toEqual([expect.objectContaining({ sink: 'platform-syslog', kind: 'syslog', tenant: null, lastError: null })]);

    const auditor = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'aud-1', role: 'auditor', tenant: 'acme' })).token;
    expect(cliSucceeded<SiemStatusJson>(await runCli(platform.apiUrl, ['siem', 'status', '--json'], { token: auditor })).sinks).toEqual([]);
    const developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer', tenant: 'acme' })).token;
    expect(cliRefusal(await runCli(platform.apiUrl, ['siem', 'status', '--json'], { token: developer })).code).toBe('AUTHZ.DENIED');
  });
});
