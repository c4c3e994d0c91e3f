// A backup taken while the platform is under load (commands and plugin calls), restored into a fresh NATS,
// PostgreSQL and data folder: the restored platform starts, its audit log verifies, every command acknowledged
// before the backup began is there, and the event stream keeps its sequence numbers. Then the inputs a restore
// must refuse, each without writing anything.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY_EVENT_TYPES, names as namesFor, PLUGIN_CONFIG_EVENT_TYPES } from '@forgeone/contracts';
import { runCli, startPrivateNats, startPrivatePostgres, startTestPlatform, type CliRun, type PrivateNats, type PrivatePostgres, type TestPlatform } from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultPlatform, startLoad, summary, type FaultPlatform } from '../faults/fault-platform.js';

async function query<T = Record<string, unknown>>(url: string, text: string, params?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function streamNames(natsUrl: string): Promise<string[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const found: string[] = [];
    for await (const name of jsm.streams.names()) found.push(name);
    return found.sort();
  } finally {
    await nc.close();
  }
}

async function messageAt(natsUrl: string, stream: string, seq: number): Promise<{ subject: string; data: string } | null> {
  const nc = await connect({ servers: natsUrl });
  try {
    const msg = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq });
    return msg ? { subject: msg.subject, data: msg.string() } : null;
  } finally {
    await nc.close();
  }
}

async function getJson<T>(platform: TestPlatform, path: string): Promise<T> {
  const response = await fetch(`${platform.apiUrl}${path}`, { headers: { authorization: `Bearer ${platform.bootstrapToken}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

// The key is named by the latest signed checkpoint, which the audit-projector signs a while after its first events.
async function auditKey(platform: TestPlatform): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return (await getJson<{ publicKeyPem: string }>(platform, '/v1/audit-log/key')).publicKeyPem;
    } catch (error) {
      if (Date.now() > deadline || !/answered 404/.test((error as Error).message)) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

interface BackupJson {
  readonly dir: string;
  readonly manifest: { readonly streams: { readonly file: string; readonly meta: { readonly config: { readonly name: string }; readonly state: { readonly last_seq: number } } }[]; readonly secrets: string[] };
}

describe('backup - a backup taken under load restores into a fresh platform', () => {
  let f: FaultPlatform;
  let target: { nats: PrivateNats; postgres: PrivatePostgres; databaseUrl: string } | undefined;
  let restored: TestPlatform | undefined;
  const work = mkdtempSync(join(tmpdir(), 'forgeone-backup-e2e-'));
  const backupDir = join(work, 'backup');
  const restoredDataDir = join(work, 'restored-data');
  let backup: BackupJson;
  // The operator's tool runs with the platform's own variables.
  const admin = (args: readonly string[], env: { natsUrl: string; databaseUrl: string }): Promise<CliRun> =>
    runCli(f.platform.apiUrl, ['admin', ...args], { cwd: work, env: { NATS_URL: env.natsUrl, DATABASE_URL: env.databaseUrl, FORGEONE_NAMESPACE: f.namespace, XDG_CONFIG_HOME: join(work, 'config') } });
  // An empty database on the target's own PostgreSQL server.
  const freshDatabase = async (name: string) => {
    await query(target!.postgres.url, `create database ${name}`);
    return target!.postgres.url.replace(/\/postgres$/, `/${name}`);
  };

  beforeAll(async () => {
    f = await startFaultPlatform('backup');
  }, 300_000);

  afterAll(async () => {
    await restored?.stop();
    await target?.nats.remove();
    await target?.postgres.remove();
    await f?.remove();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('backup - restored platform verifies its audit log and holds every command acknowledged before the backup began', async () => {
    const load = startLoad(f, 100);
    let began = 0;
    let took = 0;
    let run: CliRun;
    try {
      await new Promise((r) => setTimeout(r, 4_000));
      began = Date.now();
      run = await admin(['backup', '--out', backupDir, '--data-dir', f.platform.dataDir, '--json'], { natsUrl: f.nats.url, databaseUrl: f.databaseUrl });
      took = Date.now() - began;
      // Load goes on after the backup: the restored platform must not need it.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      await load.stop();
    }
    expect(run.code, run.stderr).toBe(0);
    backup = JSON.parse(run.stdout) as BackupJson;
    const outcomes = load.outcomes();
    const ackedBefore = (client: string) => outcomes.filter((o) => o.client === client && o.ok && o.at < began).map((o) => o.subject!);
    console.log(`backup - taken in ${took} ms (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}), load while backing up:\n${summary(outcomes)}\nacknowledged before the backup began: ${ackedBefore('tokens').length} tokens, ${ackedBefore('config').length} config values`);
    expect(ackedBefore('tokens').length).toBeGreaterThan(3);
    expect(ackedBefore('config').length).toBeGreaterThan(3);
    expect(outcomes.filter((o) => o.client.startsWith('caller-') && o.ok && o.at < began).length).toBeGreaterThan(3);
    expect(backup.manifest.secrets).toEqual(expect.arrayContaining(['secrets/audit-key.pem', 'secrets/event-writers.json']));

    // A fresh NATS and PostgreSQL, and a new data folder.
    const [nats, postgres] = await Promise.all([startPrivateNats(), startPrivatePostgres()]);
    target = { nats, postgres, databaseUrl: '' };
    target.databaseUrl = await freshDatabase('restored');
    const restore = await admin(['restore', backupDir, '--data-dir', restoredDataDir, '--json'], { natsUrl: target.nats.url, databaseUrl: target.databaseUrl });
    expect(restore.code, restore.stderr).toBe(0);

    // Same sequence numbers: the events the backup holds sit at the same sequences on both servers.
    const events = backup.manifest.streams.find((s) => s.meta.config.name === namesFor(f.namespace).stream)!;
    const last = events.meta.state.last_seq;
    for (const seq of [1, Math.ceil(last / 2), last]) {
      expect(await messageAt(target.nats.url, events.meta.config.name, seq), `event ${seq}`).toEqual(await messageAt(f.nats.url, events.meta.config.name, seq));
    }

    restored = await startTestPlatform({ namespace: f.namespace, databaseUrl: target.databaseUrl, natsUrl: target.nats.url, dataDir: restoredDataDir, bootstrapToken: f.platform.bootstrapToken, timeoutMs: 180_000 });
    const platform = restored;
    // The projector resumes from the restored checkpoint up to the end of the restored stream.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [row] = await query<{ max: string | null }>(target.databaseUrl, 'select max(sequence)::text as max from audit_log');
      if (Number(row?.max ?? 0) >= last) break;
      if (Date.now() > deadline) throw new Error(`restored audit-projector at ${row?.max} of ${last} after 120 s\n${platform.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const tokens = new Set((await getJson<{ tokens: { principal: string }[] }>(platform, '/v1/tokens')).tokens.map((t) => t.principal));
    expect(ackedBefore('tokens').filter((p) => !tokens.has(p))).toEqual([]);
    const keys = new Set((await getJson<{ entries: { key: string }[] }>(platform, '/v1/environments/staging/plugins/forgeone/hello/config')).entries.map((e) => e.key));
    expect(ackedBefore('config').filter((k) => !keys.has(k))).toEqual([]);
    // Projected exactly once: the checkpoint and the rows restored together.
    const duplicates = await query(
      target.databaseUrl,
      `select type, coalesce(data->>'principal', data->>'key') as subject, count(*) from audit_log where type = any($1) group by 1, 2 having count(*) > 1`,
      [[IDENTITY_EVENT_TYPES.tokenIssued, PLUGIN_CONFIG_EVENT_TYPES.valueSet]],
    );
    expect(duplicates).toEqual([]);

    // The restored platform signs with the restored audit key, and its audit log verifies.
    const key = await auditKey(platform);
    expect(key).toBe(await auditKey(f.platform));
    writeFileSync(join(work, 'audit-key.pem'), key);
    const verify = await runCli(platform.apiUrl, ['audit', 'verify', '--key', 'audit-key.pem'], { token: platform.bootstrapToken, cwd: work, env: { XDG_CONFIG_HOME: join(work, 'config') } });
    expect(verify.code, `${verify.stdout}${verify.stderr}`).toBe(0);

    // And it serves: a plugin call and a new command on the restored platform.
    const call = await fetch(`${platform.apiUrl}/v1/environments/staging/plugins/forgeone/hello/calls/greet`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.bootstrapToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'restored' }),
    });
    expect(await call.json()).toMatchObject({ output: 'hello, restored' });
  }, 600_000);

  it('backup - refuses a target that is not empty, and writes nothing', async () => {
    expect(backup, 'the backup of the first case').toBeDefined();
    const nats = await startPrivateNats();
    try {
      // NATS fresh, but the database holds the restored platform.
      const run = await admin(['restore', backupDir, '--data-dir', join(work, 'unused-1')], { natsUrl: nats.url, databaseUrl: target!.databaseUrl });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the target is not a fresh platform, nothing restored.*\(BACKUP\.TARGET_NOT_EMPTY\)/);
      expect(run.stderr).toMatch(/database postgres:\/\/.*already has tables \(/);
      expect(await streamNames(nats.url)).toEqual([]);

      // The stream exists on NATS: named, and nothing written to the empty database.
      const empty = await freshDatabase('still_empty');
      const again = await admin(['restore', backupDir, '--data-dir', join(work, 'unused-2')], { natsUrl: target!.nats.url, databaseUrl: empty });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`NATS already has the event stream ${namesFor(f.namespace).stream}`);
      expect(await query(empty, `select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`)).toEqual([{ n: 0 }]);

      // A folder that already holds a backup is not written over.
      const over = await admin(['backup', '--out', backupDir], { natsUrl: f.nats.url, databaseUrl: f.databaseUrl });
      expect(over.code).toBe(1);
      expect(over.stderr).toContain(`${backupDir} is not empty: give a new folder for the backup (BACKUP.TARGET_NOT_EMPTY)`);
    } finally {
      await nats.remove();
    }
  }, 120_000);

  it('backup - refuses a backup whose files do not match its manifest, and writes nothing', async () => {
    expect(backup, 'the backup of the first case').toBeDefined();
    const nats = await startPrivateNats();
    try {
      const empty = await freshDatabase('for_damaged');
      const restoreFrom = (dir: string) => admin(['restore', dir, '--data-dir', join(work, 'unused-3')], { natsUrl: nats.url, databaseUrl: empty });

      const damaged = join(work, 'damaged');
      cpSync(backupDir, damaged, { recursive: true });
      const eventsFile = backup.manifest.streams[0]!.file;
      const bytes = readFileSync(join(damaged, eventsFile));
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(join(damaged, eventsFile), bytes);
      writeFileSync(join(damaged, 'postgres', 'extra.sql'), 'drop table audit_log;');
      const run = await restoreFrom(damaged);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`backup ${damaged} is damaged or was changed, nothing restored (BACKUP.INVALID)`);
      expect(run.stderr).toContain(`${eventsFile} does not match the manifest`);
      expect(run.stderr).toContain('postgres/extra.sql is not in the manifest');

      const incomplete = join(work, 'incomplete');
      mkdirSync(incomplete);
      const missing = await restoreFrom(incomplete);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('manifest.json cannot be read: it is missing (an incomplete or foreign folder) (BACKUP.INVALID)');

      expect(await streamNames(nats.url)).toEqual([]);
      expect(await query(empty, `select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`)).toEqual([{ n: 0 }]);
    } finally {
      await nats.remove();
    }
  }, 120_000);
});
