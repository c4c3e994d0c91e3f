import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP_PRINCIPAL } from '@forgeone/authz';
import { connectNats } from '@forgeone/bus';
import { names as namesFor, type RebuildStatus } from '@forgeone/contracts';
import {
  createTestDatabase,
  createTokenWithCli,
  repoRoot,
  runCli,
  startTestPlatform,
  removeNamespace,
  testNamespace,
  TEST_NATS_URL,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Show {
  latestVersion: string;
  installations: Array<{ environment: string; version: string; status: string }>;
}

describe('platform - forgeone admin rebuild: projections rebuilt into a fresh schema, compared, swapped', () => {
  const namespace = testNamespace('e2e-rebuild');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-rebuild-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  // The rebuild command talks to the audit-projector on the bus; everything else goes through the gateway.
  const busEnv = () => ({ NATS_URL: TEST_NATS_URL, FORGEONE_NAMESPACE: namespace });
  const cli = (args: string[], token = platform.bootstrapToken) => runCli(platform.apiUrl, args, { token, env: busEnv() });
  const rebuild = async (...flags: string[]) => {
    const run = await cli(['admin', 'rebuild', '--poll-ms', '100', '--json', ...flags]);
    return { ...run, status: run.stdout ? (JSON.parse(run.stdout) as RebuildStatus) : undefined };
  };
  const show = async () => JSON.parse((await cli(['plugin', 'show', 'forgeone/hello', '--json'])).stdout) as Show;
  const lastStreamSequence = async () => {
    const nc = await connectNats(TEST_NATS_URL, 'rebuild-e2e');
    try {
      return (await (await jetstreamManager(nc)).streams.info(namesFor(namespace).stream)).state.last_seq;
    } finally {
      await nc.close();
    }
  };
  // As the test server's superuser, behind the platform's back.
  const sql = async <T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const schemas = async () => (await sql<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ~ '^(rebuild|previous)_' ORDER BY 1`)).map((r) => r.nspname);
  // The rebuild events of the audit log (the projector records them; they are projected like any event).
  const rebuildRecords = async (rebuildId?: string) =>
    sql<{ type: string; actor: string; tenant: string; data: Record<string, unknown> }>(
      `SELECT type, actor, tenant, data FROM audit_log WHERE type LIKE 'io.forgeone.projection.%' ${rebuildId ? `AND data->>'rebuildId' = '${rebuildId}'` : ''} ORDER BY sequence`,
    );
  const recordsOf = async (rebuildId: string) => {
    const deadline = Date.now() + 10_000;
    let rows = await rebuildRecords(rebuildId);
    while (rows.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await rebuildRecords(rebuildId);
    }
    return rows;
  };
  const publishVersion = async (version: string) => {
    const dir = join(work, `hello-${version}`);
    cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, version }, null, 2));
    const published = await cli(['plugin', 'publish', dir]);
    expect(published.code, published.stderr).toBe(0);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    await publishVersion('1.0.0');
    const install = await cli(['plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging']);
    expect(install.code, install.stderr).toBe(0);
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('bad input - an unknown flag is a usage error naming it, and nothing is started', async () => {
    const run = await cli(['admin', 'rebuild', '--swapp']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--swapp'");
    const status = await cli(['admin', 'rebuild', '--status', 'yesterday']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('--status "yesterday" is not a rebuild id');
    expect(await schemas()).toEqual([]);
  });

  it('authorisation - a developer and a tenant administrator are refused; only the platform administrator may rebuild', async () => {
    const developer = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-rb', role: 'developer' });
    const tenantAdmin = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-rb', role: 'admin', tenant: 'acme' });
    for (const token of [developer.token, tenantAdmin.token]) {
      const run = await cli(['admin', 'rebuild', '--swap', '--json'], token);
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stderr) as { error: { code: string } }).error.code).toBe('AUTHZ.DENIED');
    }
    const anonymous = await runCli(platform.apiUrl, ['admin', 'rebuild', '--json'], { env: { ...busEnv(), XDG_CONFIG_HOME: work } });
    expect(anonymous.code).toBe(1);
    expect((JSON.parse(anonymous.stderr) as { error: { code: string } }).error.code).toBe('AUTH.UNAUTHENTICATED');
    expect(await schemas()).toEqual([]);
    expect(await rebuildRecords()).toEqual([]);
  });

  it('compare - a rebuild equal to the live projections reports every table equal at one stream sequence, and is dropped', async () => {
    const { code, status, stderr } = await rebuild();
    expect(code, stderr).toBe(0);
    expect(status?.phase).toBe('done');
    const comparison = status!.comparison!;
    expect(comparison.equal).toBe(true);
    expect(comparison.liveSchema).toBe('public');
    expect(comparison.sequence.live).toBe(comparison.sequence.rebuilt);
    expect(comparison.sequence.live).toBeGreaterThanOrEqual(2);
    expect(comparison.auditTip.rebuilt).toEqual(comparison.auditTip.live);
    expect(comparison.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['audit_log', 'plugins', 'plugin_versions', 'installations', 'security_findings']));
    expect(comparison.tables.every((t) => t.equal && t.differences.length === 0)).toBe(true);
    expect(comparison.tables.find((t) => t.table === 'audit_log')?.excludedColumns).toEqual(['recorded_at']);
    expect(status!.schemaKept).toBe(false);
    expect(await schemas()).toEqual([]);
    // Who rebuilt and what came of it is in the audit log.
    expect(await recordsOf(status!.rebuildId)).toEqual([
      { type: 'io.forgeone.projection.rebuild_started.v1', actor: BOOTSTRAP_PRINCIPAL, tenant: 'default', data: { rebuildId: status!.rebuildId, schema: status!.schema, swapRequested: false } },
      {
        type: 'io.forgeone.projection.rebuild_completed.v1',
        actor: BOOTSTRAP_PRINCIPAL,
        tenant: 'default',
        data: { rebuildId: status!.rebuildId, schema: status!.schema, outcome: 'equal', comparedAt: comparison.sequence.live, differingTables: [], previousSchema: null, reason: null },
      },
    ]);

    const text = await cli(['admin', 'rebuild', '--poll-ms', '100']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^audit_log\s+\d+\s+\d+\s+equal\s+recorded_at/m);
    expect(text.stdout).toContain('the rebuilt projections equal the live ones');
  });

  it('compare - an audit row changed behind the projector is reported in audit_log and the swap is refused', async () => {
    const [{ sequence }] = await sql<{ sequence: string }>(`SELECT max(sequence) AS sequence FROM audit_log`);
    const [{ actor }] = await sql<{ actor: string }>(`SELECT actor FROM audit_log WHERE sequence = $1`, [sequence]);
    await sql(`ALTER TABLE audit_log DISABLE TRIGGER USER`);
    await sql(`UPDATE audit_log SET actor = 'mallory' WHERE sequence = $1`, [sequence]);
    await sql(`ALTER TABLE audit_log ENABLE TRIGGER USER`);
    const [before] = await sql<{ oid: string }>(`SELECT 'public.plugins'::regclass::oid::text AS oid`);
    try {
      const { code, status } = await rebuild('--swap');
      expect(code).toBe(1);
      const audit = status!.comparison!.tables.find((t) => t.table === 'audit_log');
      expect(audit?.equal).toBe(false);
      expect(audit?.differences).toEqual([`row only live: sequence=${sequence}`, `row only rebuilt: sequence=${sequence}`]);
      expect(status!.comparison!.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(['audit_log']);
      expect(status!.swap).toMatchObject({ swapped: false, reason: 'swap refused: the rebuilt projections differ from the live ones in audit_log' });
      expect(status!.schemaKept).toBe(true);
      expect(await schemas()).toEqual([status!.schema]);
      expect((await recordsOf(status!.rebuildId))[1]?.data).toMatchObject({ outcome: 'swap_refused', differingTables: ['audit_log'] });
      // Nothing moved: the live tables are the same ones.
      expect(await sql(`SELECT 'public.plugins'::regclass::oid::text AS oid`)).toEqual([before]);
      await sql(`DROP SCHEMA ${status!.schema} CASCADE`);
    } finally {
      await sql(`ALTER TABLE audit_log DISABLE TRIGGER USER`);
      await sql(`UPDATE audit_log SET actor = $2 WHERE sequence = $1`, [sequence, actor]);
      await sql(`ALTER TABLE audit_log ENABLE TRIGGER USER`);
    }
  });

  it('swap - equal schemas are swapped: the gateway reads the rebuilt tables and the live projector goes on without gap or duplicate', async () => {
    const [before] = await sql<{ oid: string }>(`SELECT 'public.plugins'::regclass::oid::text AS oid`);
    const { code, status, stderr } = await rebuild('--swap');
    expect(code, stderr).toBe(0);
    expect(status!.comparison!.equal).toBe(true);
    expect(status!.swap).toMatchObject({ swapped: true, previousSchema: expect.stringMatching(/^previous_/) });
    const previous = status!.swap!.previousSchema!;
    expect(await schemas()).toEqual([previous]);
    expect((await recordsOf(status!.rebuildId))[1]?.data).toMatchObject({ outcome: 'swapped', previousSchema: previous });
    const [after] = await sql<{ oid: string }>(`SELECT 'public.plugins'::regclass::oid::text AS oid`);
    expect(after.oid).not.toBe(before.oid);
    // The old tables are kept under the previous name; a change there is not what the gateway serves.
    await sql(`UPDATE ${previous}.plugins SET latest_version = '9.9.9'`);
    expect((await show()).latestVersion).toBe('1.0.0');

    // New events after the swap are projected into the new live schema, each once.
    await publishVersion('1.1.0');
    const upgrade = await cli(['plugin', 'upgrade', 'forgeone/hello@1.1.0', '--env', 'staging']);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const shown = await show();
    expect(shown.latestVersion).toBe('1.1.0');
    expect(shown.installations).toContainEqual(expect.objectContaining({ environment: 'staging', version: '1.1.0', status: 'installed' }));

    const last = await lastStreamSequence();
    const deadline = Date.now() + 10_000;
    let checkpoint = 0;
    while (Date.now() < deadline && checkpoint < last) {
      checkpoint = Number((await sql<{ s: string }>(`SELECT last_sequence AS s FROM public.projection_checkpoint WHERE projector = 'audit-projector'`))[0]?.s ?? 0);
      if (checkpoint < last) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(checkpoint).toBe(last);
    const [audit] = await sql<{ rows: string; first: string; last: string; distinct: string }>(
      `SELECT count(*) AS rows, min(sequence) AS first, max(sequence) AS last, count(DISTINCT sequence) AS distinct FROM public.audit_log`,
    );
    expect(audit).toEqual({ rows: String(last), first: '1', last: String(last), distinct: String(last) });
    const [{ kept }] = await sql<{ kept: string }>(`SELECT max(sequence) AS kept FROM ${previous}.audit_log`);
    expect(Number(kept)).toBeLessThan(last);

    // And a rebuild now still equals the live projections, audit chain included.
    const again = await rebuild();
    expect(again.code, again.stderr).toBe(0);
    expect(again.status!.comparison!.equal).toBe(true);
  });
});
