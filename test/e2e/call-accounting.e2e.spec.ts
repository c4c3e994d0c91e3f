import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusClient, connectNats } from '@forgeone/bus';
import { names as namesFor, REPORT_NAMES, type InvokeReply, type ServiceName } from '@forgeone/contracts';
import {
  createTestDatabase,
  createTestEventWriters,
  createTokenWithCli,
  eventually,
  freePort,
  provisionTestStorage,
  removeNamespace,
  repoRoot,
  runCli,
  spawnService,
  testNamespace,
  TEST_NATS_URL,
  type CreatedTestToken,
  type ServiceProcess,
  type TestDatabase,
} from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const hello = join(repoRoot(), 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');
const RUNNER_ID = 'crash-test';

async function sql<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

interface Report {
  report: string;
  tenant: string;
  columns: string[];
  rows: Array<Record<string, string | number | boolean | null>>;
}

// Each service is its own process, as the platform runs them, so the runner can be killed with SIGKILL and started again.
describe('call accounting - a runner killed under load leaves a numbered gap the reports show', () => {
  const namespace = testNamespace('calls');
  const names = namesFor(namespace);
  let db: TestDatabase;
  let nc: NatsConnection;
  let bus: BusClient;
  let apiUrl: string;
  const processes: ServiceProcess[] = [];
  const serviceKey = randomBytes(32).toString('hex');
  const adminToken = `admin-${randomBytes(24).toString('hex')}`;
  const writers = createTestEventWriters();
  const tokens: Record<string, CreatedTestToken> = {};
  const start = (name: ServiceName, extra: Record<string, string> = {}) => {
    const p = spawnService(name, {
      NATS_URL: TEST_NATS_URL,
      FORGEONE_NAMESPACE: namespace,
      FORGEONE_SERVICE_KEY: serviceKey,
      FORGEONE_BOOTSTRAP_TOKEN: adminToken,
      FORGEONE_AUTHZ_RECORD_ALLOWS: 'none',
      ...writers.env(name),
      ...extra,
    });
    processes.push(p);
    return p;
  };
  const ready = (service: ServiceName) => eventually(() => bus.checkHealth(service).then((h) => h.ready), `${service} ready`, 60_000);
  const startRunner = async () => {
    const runner = start('sandbox-runner', { FORGEONE_RUNNER_ID: RUNNER_ID, FORGEONE_CALL_WINDOW_MS: '500', FORGEONE_CALL_RECORDING_REFRESH_MS: '200' });
    await ready('sandbox-runner');
    return runner;
  };
  const call = (tenantToken: string, plugin: string) =>
    bus.requestSubject<InvokeReply>(names.invoke('staging', plugin), { handler: 'greet', input: 'x' }, { credential: `Bearer ${tenantToken}`, timeoutMs: 5_000 });
  const http = async (path: string, token?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${apiUrl}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: res.status, body: (await res.json()) as Report & { error?: { code: string; message: string } } };
  };
  const cli = (token: string, ...args: string[]) => runCli(apiUrl, args, { token });

  beforeAll(async () => {
    db = await createTestDatabase();
    nc = await connectNats(TEST_NATS_URL, 'call-accounting-test');
    bus = new BusClient(nc, names);
    await provisionTestStorage(namespace);
    start('policy');
    await ready('policy');
    start('registry');
    start('audit-projector', { DATABASE_URL: db.url });
    const port = await freePort();
    start('gateway', { DATABASE_URL: db.url, FORGEONE_HTTP_PORT: String(port) });
    apiUrl = `http://127.0.0.1:${port}`;
    await Promise.all([ready('registry'), ready('audit-projector'), eventually(() => fetch(`${apiUrl}/healthz`).then((r) => r.ok), 'gateway up', 60_000)]);

    for (const [key, principal, role, tenant] of [
      ['acmeDev', 'alice', 'developer', 'acme'],
      ['acmeAuditor', 'audrey', 'auditor', 'acme'],
      ['initechDev', 'ian', 'developer', 'initech'],
      ['initechAuditor', 'ivan', 'auditor', 'initech'],
      ['acmeAdmin', 'root-acme', 'admin', 'acme'],
    ] as const) {
      tokens[key] = await createTokenWithCli(apiUrl, adminToken, { principal, role, tenant });
    }
    for (const [tenant, dev] of [['acme', tokens.acmeDev], ['initech', tokens.initechDev]] as const) {
      const plugin = `${tenant}/hello`;
      await bus.request('registry', 'publish', { manifest: { ...manifest, name: plugin }, wasm }, { credential: `Bearer ${dev.token}` });
      await bus.request('registry', 'install', { name: plugin, version: '1.0.0', environment: 'staging' }, { credential: `Bearer ${dev.token}` });
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await nc?.close();
    await removeNamespace(namespace);
    await db?.drop();
  }, 60_000);

  it('SIGKILL under load, then a restart with the same identity: the window that was open is a gap in call-windows', async () => {
    let runner = await startRunner();
    // initech calls too: its windows must never show in acme's reports.
    for (let i = 0; i < 3; i++) await call(tokens.initechDev.token, 'initech/hello');

    let loading = true;
    let succeeded = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (loading) {
          await call(tokens.acmeDev.token, 'acme/hello').then(
            () => succeeded++,
            // The runner is gone for a moment: a failed request is expected, the loop goes on.
            () => new Promise((r) => setTimeout(r, 50)),
          );
        }
      }),
    );
    // Some windows are written before the kill, so the gap has numbers on both sides.
    await eventually(async () => (await sql(db.url, `SELECT 1 FROM call_windows WHERE runner = $1 AND tenant = 'acme'`, [RUNNER_ID])).length >= 2, 'windows recorded before the kill', 30_000);
    const before = succeeded;
    await eventually(async () => succeeded > before + 5, 'calls answered in the open window');
    await runner.stop('SIGKILL');
    runner = await startRunner();
    const restarted = succeeded;
    await eventually(async () => succeeded > restarted + 20, 'calls answered by the restarted runner', 30_000);
    loading = false;
    await load;
    await runner.stop('SIGTERM');

    // Over HTTP, as an auditor of acme: every runner number up to the last recorded is accounted for, but the one that was open.
    const gaps = await eventually(async () => {
      const { status, body } = await http('/v1/reports/call-windows', tokens.acmeAuditor.token);
      expect(status).toBe(200);
      return body.rows.length > 0 ? body : undefined;
    }, 'a gap in the call-windows report', 30_000);
    expect(gaps.columns).toEqual(['runner', 'missing_from', 'missing_to', 'missing_count']);
    expect(gaps.rows.length).toBeGreaterThanOrEqual(1);
    for (const row of gaps.rows) {
      expect(row.runner).toBe(RUNNER_ID);
      expect(row.missing_count).toBeGreaterThanOrEqual(1);
    }
    // Windows after the gap exist: numbering went on from the predecessor's.
    const [{ highest }] = await sql<{ highest: string }>(db.url, `SELECT max(window_sequence) AS highest FROM call_windows WHERE runner = $1`, [RUNNER_ID]);
    expect(Number(highest)).toBeGreaterThan(Number(gaps.rows.at(-1)!.missing_to));

    // The same through the CLI, as JSON and as CSV.
    const json = await cli(tokens.acmeAuditor.token, 'report', 'call-windows', '--json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as Report).rows).toEqual(gaps.rows);
    const csv = await cli(tokens.acmeAuditor.token, 'report', 'call-windows', '--csv');
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe('runner,missing_from,missing_to,missing_count');
    expect(csv.stdout).toContain(`${RUNNER_ID},${gaps.rows[0].missing_from},`);

    // Calls per day: acme's auditor sees acme's plugin only, with every answered call counted (and the killed window's not).
    const acme = await eventually(async () => {
      const { body } = await http('/v1/reports/plugin-calls', tokens.acmeAuditor.token);
      const total = body.rows.reduce((n, r) => n + Number(r.calls), 0);
      return total > 0 ? body : undefined;
    }, 'acme calls projected');
    expect(acme.rows.every((r) => r.plugin === 'acme/hello')).toBe(true);
    const initech = await http('/v1/reports/plugin-calls', tokens.initechAuditor.token);
    expect(initech.body.rows).toEqual([expect.objectContaining({ plugin: 'initech/hello', environment: 'staging', calls: 3, failed: 0 })]);
    const table = await cli(tokens.initechAuditor.token, 'report', 'plugin-calls');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^day\s+plugin\s+environment\s+calls\s+failed\n/);
    expect(table.stdout).toContain('initech/hello');
    expect(table.stdout).not.toContain('acme/hello');
  }, 180_000);

  it('every report answers over HTTP and the CLI for an auditor, one tenant only; refused without a token, for another tenant, and without read-audit', async () => {
    for (const name of REPORT_NAMES) {
      const { status, body } = await http(`/v1/reports/${name}`, tokens.initechAuditor.token);
      expect(status, name).toBe(200);
      expect(body.report).toBe(name);
      expect(body.tenant).toBe('initech');
      if (name !== 'call-windows') expect(JSON.stringify(body.rows), name).not.toContain('acme');
      const run = await cli(tokens.initechAuditor.token, 'report', name, '--json', '--from', '2020-01-01');
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      expect((JSON.parse(run.stdout) as Report).report).toBe(name);
    }
    // acme's token issue is in acme's token report, never in initech's.
    const acmeTokens = await http('/v1/reports/token-events', tokens.acmeAuditor.token);
    expect(acmeTokens.body.rows.map((r) => r.principal).sort()).toEqual(['alice', 'audrey', 'root-acme']);

    expect((await http('/v1/reports/plugin-calls')).status).toBe(401);
    const foreign = await http('/v1/reports/plugin-calls', tokens.acmeAuditor.token, { 'forgeone-tenant': 'initech' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error?.code).toBe('AUTHZ.DENIED');
    const developer = await http('/v1/reports/plugin-calls', tokens.acmeDev.token);
    expect(developer.status).toBe(403);
    expect(developer.body.error?.code).toBe('AUTHZ.DENIED');

    const reversed = await http('/v1/reports/plugin-calls?from=2026-12-08&to=2026-12-01', tokens.acmeAuditor.token);
    expect(reversed.status).toBe(400);
    expect(reversed.body.error?.message).toMatch(/from 2026-12-08 is after to 2026-12-01/);
    const cliReversed = await cli(tokens.acmeAuditor.token, 'report', 'plugin-calls', '--from', '2026-12-08', '--to', '2026-12-01');
    expect(cliReversed.code).not.toBe(0);
    expect(cliReversed.stderr).toMatch(/--from 2026-12-08 is after --to 2026-12-01/);
    const unknown = await cli(tokens.acmeAuditor.token, 'report', 'everything');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(REPORT_NAMES.join(', '));
  }, 120_000);

  it('per-call recording is a setting an admin of the tenant changes (recorded with who, before and after), refused to a developer', async () => {
    const setting = (token: string, body: unknown) => bus.request<{ before: string; mode: string; changed: boolean }>('policy', 'call_recording_set', body, { credential: `Bearer ${token}` });
    // A developer is refused, through the CLI as on the bus.
    const refused = await cli(tokens.acmeDev.token, 'call-recording', 'per-call', '--env', 'staging', '--json');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('AUTHZ.DENIED');
    await expect(setting(tokens.acmeDev.token, { mode: 'per-call', environment: 'staging' })).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    // An admin of acme cannot set initech's.
    await expect(setting(tokens.acmeAdmin.token, { mode: 'per-call', tenant: 'initech' })).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    const set = await cli(tokens.acmeAdmin.token, 'call-recording', 'per-call', '--env', 'staging');
    expect(set).toMatchObject({ code: 0, stdout: 'calls of staging of tenant acme: windows → per-call\n' });
    // The same again over HTTP: nothing to record.
    const again = await fetch(`${apiUrl}/v1/settings/call-recording`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tokens.acmeAdmin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'per-call', environment: 'staging' }),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ tenant: 'acme', environment: 'staging', before: 'per-call', mode: 'per-call', changed: false });

    const changes = await eventually(async () => {
      const rows = await sql<{ actor: string; data: Record<string, unknown> }>(db.url, `SELECT actor, data FROM audit_log WHERE type = 'io.forgeone.policy.call_recording_set.v1'`);
      return rows.length > 0 ? rows : undefined;
    }, 'the setting in the audit log');
    expect(changes).toEqual([{ actor: 'root-acme', data: { tenant: 'acme', environment: 'staging', before: 'windows', mode: 'per-call', setBy: 'root-acme' } }]);

    const runner = await startRunner();
    for (let i = 0; i < 5; i++) await call(tokens.acmeDev.token, 'acme/hello');
    // initech keeps window summaries.
    await call(tokens.initechDev.token, 'initech/hello');
    await runner.stop('SIGTERM');
    const perCall = await eventually(async () => {
      const rows = await sql<{ tenant: string; data: { ok: boolean; runner: string; principal: string } }>(db.url, `SELECT tenant, data FROM audit_log WHERE type = 'io.forgeone.plugin.invocation_recorded.v1'`);
      return rows.length >= 5 ? rows : undefined;
    }, 'five per-call records projected');
    expect(perCall).toHaveLength(5);
    expect(perCall.every((r) => r.tenant === 'acme' && r.data.ok && r.data.runner === RUNNER_ID && r.data.principal === 'alice')).toBe(true);
    const initechWindows = await eventually(async () => {
      const rows = await sql<{ calls: number }>(db.url, `SELECT calls FROM call_windows WHERE tenant = 'initech'`);
      return rows.length >= 2 ? rows : undefined;
    }, 'initech still in windows');
    expect(initechWindows.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
