import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names as namesFor } from '@forgeone/contracts';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  TEST_NATS_URL,
  testNamespace,
  wholeAuditLog,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Plugin configuration in a gated environment changes by approval, on the running platform through the CLI and the
// HTTP API: a change is proposed, config_get keeps serving the old value, another approver applies or rejects it;
// a secret travels sealed all the way; an ungated environment still changes at once; promotion shows what waits.

const NAME = 'forgeone/greeter-config';
const PROPOSED = 'io.forgeone.plugin_config.change_proposed.v1';
const VALUE_SET = 'io.forgeone.plugin_config.value_set.v1';
const REJECTED = 'io.forgeone.plugin_config.change_rejected.v1';

interface ChangeReply {
  key: string;
  secret: boolean;
  outcome: string;
  changeId?: string;
  sequence: number;
}
interface PendingView {
  changeId: string;
  key: string;
  change: string;
  secret: boolean;
  value: string | null;
  proposedBy: string;
  proposedAt: string | null;
}
interface ConfigList {
  entries: Array<{ key: string; secret: boolean; value: string | null; setBy: string | null }>;
  pending: PendingView[];
}
interface AuditEntry {
  sequence: number;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

describe('plugin config approval - a gated environment changes its configuration only by another principal’s approval', () => {
  const namespace = testNamespace('e2e-config-approval');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-config-approval-'));
  // Long and random, so finding it anywhere cannot be a coincidence.
  const SECRET = `tok-${randomBytes(18).toString('hex')}`;
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin1: string;
  let admin2: string;
  let approver: string;
  let colleague: string;
  const replies: string[] = [];
  const as = async (token: string, ...args: string[]) => {
    const run = await runCli(platform.apiUrl, [...args, '--json'], { token });
    replies.push(run.stdout, run.stderr);
    return run;
  };
  const http = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    replies.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const call = async (environment: string, handler: string, input: string) =>
    cliSucceeded<{ output: string }>(await as(admin1, 'plugin', 'call', NAME, handler, '--env', environment, '--input', input)).output;
  const list = async (environment: string) => cliSucceeded<ConfigList>(await as(admin1, 'plugin', 'config', 'list', NAME, '--env', environment));
  const audit = () => wholeAuditLog<AuditEntry>((...args) => as(admin1, ...args));
  const changePath = (environment: string, changeId: string, what: 'approvals' | 'rejections') =>
    `/v1/environments/${environment}/plugins/forgeone/greeter-config/config-changes/${changeId}/${what}`;

  /** A copy of the example at `version`, with `tests` as its vectors. */
  function example(version: string, tests: unknown[] = []): string {
    const dir = join(work, `greeter-config-${version}`);
    cpSync(join(repoRoot(), 'examples', 'plugins', 'greeter-config'), dir, { recursive: true });
    const manifestPath = join(dir, 'forgeone.plugin.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, version, tests }, null, 2));
    return dir;
  }

  beforeAll(async () => {
    db = await createTestDatabase('fo_config_approval');
    // Info-level logs from every service, so the search for the secret below covers what they say.
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_LOG_LEVEL: 'info' }, timeoutMs: 300_000 });
    const token = (principal: string, role: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant: 'acme' }).then((t) => t.token);
    admin1 = await token('adm-1', 'admin');
    admin2 = await token('adm-2', 'admin');
    approver = await token('app-1', 'approver');
    // adm-1 issues this approver's token: not a second pair of eyes for adm-1's own changes.
    colleague = (await createTokenWithCli(platform.apiUrl, admin1, { principal: 'app-2', role: 'approver' })).token;

    // Production takes the unsigned example only in audit mode, and a plain install only while ungated: two
    // administrators weaken it, the example goes in with a greeting, and production is gated again (at once).
    cliSucceeded(await as(admin1, 'env', 'set', 'production', '--ungated', '--mode', 'audit'));
    cliSucceeded(await as(admin2, 'env', 'confirm', 'production'));
    cliSucceeded(await as(admin1, 'plugin', 'publish', example('1.0.0')));
    cliSucceeded(await as(admin1, 'plugin', 'install', `${NAME}@1.0.0`, '--env', 'staging'));
    cliSucceeded(await as(admin1, 'plugin', 'install', `${NAME}@1.0.0`, '--env', 'production'));
    expect(cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'production', 'greeting=Hello')).outcome).toBe('set');
    cliSucceeded(await as(admin1, 'env', 'set', 'production', '--gated-from', 'staging'));
    // A platform start, five tokens and the setup take minutes on a loaded machine.
  }, 480_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('ungated staging: a change applies at once, as before', async () => {
    const reply = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'staging', 'greeting=Bonjour'));
    expect(reply).toMatchObject({ outcome: 'set', key: 'greeting' });
    expect(reply.changeId).toBeUndefined();
    expect(await call('staging', 'greet', 'ada')).toBe('Bonjour, ada');
    expect((await list('staging')).pending).toEqual([]);
  });

  it('gated production: a set is only proposed and config_get serves the old value; the proposer and a holder of their token may not approve; another approver applies it', async () => {
    const show = cliSucceeded<{ settings: { gated: boolean } }>(await as(admin1, 'env', 'show', 'production'));
    expect(show.settings.gated).toBe(true);
    expect(await call('production', 'greet', 'ada')).toBe('Hello, ada');

    const proposed = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'production', 'greeting=Hallo'));
    expect(proposed).toMatchObject({ outcome: 'proposed', key: 'greeting', secret: false, changeId: expect.any(String) });
    const changeId = proposed.changeId!;
    // The human output says it waits and names the change.
    const human = await runCli(platform.apiUrl, ['plugin', 'config', 'set', NAME, '--env', 'production', 'greeting=Hallo'], { token: admin1 });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('awaits approval (change ');
    expect(human.stdout).toContain('forgeone plugin config approve forgeone/greeter-config --env production --change ');
    // That second proposal of the same value replaced the first: its id is the one that waits now.
    const secondId = /\(change ([A-Za-z0-9_-]+)\)/.exec(human.stdout)![1];
    expect(secondId).not.toBe(changeId);
    expect(await call('production', 'greet', 'ada')).toBe('Hello, ada');

    const listed = await list('production');
    expect(listed.entries).toEqual([expect.objectContaining({ key: 'greeting', value: 'Hello', setBy: 'adm-1' })]);
    expect(listed.pending).toEqual([{ changeId: secondId, key: 'greeting', change: 'set', secret: false, value: 'Hallo', proposedBy: 'adm-1', proposedAt: expect.any(String) }]);
    const table = await runCli(platform.apiUrl, ['plugin', 'config', 'list', NAME, '--env', 'production'], { token: admin1 });
    expect(table.stdout).toContain('waiting for approval');
    expect(table.stdout).toContain(secondId);

    expect(cliRefusal(await as(admin1, 'plugin', 'config', 'approve', NAME, '--env', 'production', '--change', changeId)).code).toBe('PLUGIN_CONFIG.NO_CHANGE');
    const own = cliRefusal(await as(admin1, 'plugin', 'config', 'approve', NAME, '--env', 'production', '--change', secondId));
    expect(own.code).toBe('PLUGIN_CONFIG.OWN_CHANGE');
    expect(own.message).toContain('nobody approves their own change');
    const issued = await http(colleague, 'POST', changePath('production', secondId, 'approvals'), {});
    expect(issued.status).toBe(403);
    expect(issued.body.error).toMatchObject({ code: 'PLUGIN_CONFIG.OWN_CHANGE', message: expect.stringContaining('issued a token you hold') });
    expect(await call('production', 'greet', 'ada')).toBe('Hello, ada');

    const approved = await http(approver, 'POST', changePath('production', secondId, 'approvals'), { notes: 'agreed with the German team' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ outcome: 'set', key: 'greeting', changeId: secondId });
    expect(await call('production', 'greet', 'ada')).toBe('Hallo, ada');
    expect((await list('production')).pending).toEqual([]);
    expect(cliRefusal(await as(approver, 'plugin', 'config', 'approve', NAME, '--env', 'production', '--change', secondId)).code).toBe('PLUGIN_CONFIG.NO_CHANGE');

    await eventually(async () => (await audit()).some((e) => e.type === VALUE_SET && e.actor === 'app-1'), 'the approved change in the audit log');
    const entries = await audit();
    expect(entries.filter((e) => e.type === PROPOSED && e.data.key === 'greeting').map((e) => e.actor)).toEqual(['adm-1', 'adm-1']);
    expect(entries.find((e) => e.type === VALUE_SET && e.actor === 'app-1')).toMatchObject({
      data: { environment: 'production', key: 'greeting', value: 'Hallo', approval: { changeId: secondId, proposedBy: 'adm-1', notes: 'agreed with the German team' } },
    });
  });

  it('a secret proposed and approved reaches config_get sealed all the way: never in clear in the stream, projections, audit log, replies or logs', async () => {
    expect(await call('production', 'token_matches', SECRET)).toBe('unset');
    const proposed = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'production', `api_token=${SECRET}`, '--secret'));
    expect(proposed).toMatchObject({ outcome: 'proposed', secret: true });
    expect(await call('production', 'token_matches', SECRET)).toBe('unset');
    expect((await list('production')).pending).toEqual([
      { changeId: proposed.changeId, key: 'api_token', change: 'set', secret: true, value: null, proposedBy: 'adm-1', proposedAt: expect.any(String) },
    ]);
    const approved = cliSucceeded<ChangeReply>(await as(approver, 'plugin', 'config', 'approve', NAME, '--env', 'production', '--change', proposed.changeId!));
    expect(approved).toMatchObject({ outcome: 'set', secret: true, key: 'api_token' });
    expect(await call('production', 'token_matches', SECRET)).toBe('match');
    expect(await call('production', 'token_matches', 'guess')).toBe('no match');

    // The stream: the proposal and the approved value carry it sealed, no message in clear.
    const nc = await connect({ servers: TEST_NATS_URL });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = namesFor(namespace).stream;
      const last = (await jsm.streams.info(stream)).state.last_seq;
      let sealedSeen = 0;
      for (let seq = 1; seq <= last; seq++) {
        const message = await jsm.streams.getMessage(stream, { seq });
        if (!message) continue;
        const bytes = Buffer.from(message.data).toString('latin1');
        expect(bytes.includes(SECRET), `stream message ${seq}`).toBe(false);
        if (bytes.includes('"api_token"') && bytes.includes('A256GCM')) sealedSeen++;
      }
      expect(sealedSeen).toBe(2);
    } finally {
      await nc.close();
    }
    // Every table of the projections and the audit log.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await eventually(async () => {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE type = $1 AND data->>'key' = 'api_token'`, [VALUE_SET]);
        return Number(rows[0].n) > 0;
      }, 'the approved secret in the audit log');
      const { rows: tables } = await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
      expect(tables.map((t) => t.table_name)).toContain('audit_log');
      for (const { table_name } of tables) {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table_name}" t WHERE t::text LIKE $1`, [`%${SECRET}%`]);
        expect(Number(rows[0].n), `table ${table_name}`).toBe(0);
      }
    } finally {
      await client.end();
    }
    // The replies: the approval, the lists, the set itself (the secret went in as an argument, never came back).
    expect(replies.join('\n')).not.toContain(SECRET);
    expect(platform.logs()).not.toContain(SECRET);
    expect(platform.logs().length).toBeGreaterThan(0);
  });

  it('a rejection discards a proposed change: it never applies, and the rejection is recorded with its notes', async () => {
    const proposed = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'production', 'greeting=Yo'));
    const removal = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'unset', NAME, '--env', 'production', 'api_token'));
    expect(removal).toMatchObject({ outcome: 'proposed', secret: true, key: 'api_token' });
    expect((await list('production')).pending.map((p) => [p.key, p.change])).toEqual([
      ['api_token', 'unset'],
      ['greeting', 'set'],
    ]);

    const rejected = cliSucceeded<ChangeReply>(
      await as(approver, 'plugin', 'config', 'reject', NAME, '--env', 'production', '--change', proposed.changeId!, '--notes', 'too casual for production'),
    );
    expect(rejected).toMatchObject({ outcome: 'rejected', key: 'greeting', changeId: proposed.changeId });
    const byHttp = await http(approver, 'POST', changePath('production', removal.changeId!, 'rejections'), { notes: 'the token is still needed' });
    expect(byHttp.status).toBe(200);
    expect(byHttp.body).toMatchObject({ outcome: 'rejected', key: 'api_token', secret: true });
    const noNotes = await http(approver, 'POST', changePath('production', removal.changeId!, 'rejections'), {});
    expect(noNotes.status).toBe(400);

    expect(await call('production', 'greet', 'ada')).toBe('Hallo, ada');
    expect(await call('production', 'token_matches', SECRET)).toBe('match');
    expect((await list('production')).pending).toEqual([]);
    expect(cliRefusal(await as(approver, 'plugin', 'config', 'approve', NAME, '--env', 'production', '--change', proposed.changeId!)).code).toBe('PLUGIN_CONFIG.NO_CHANGE');

    await eventually(async () => (await audit()).filter((e) => e.type === REJECTED).length === 2, 'the rejections in the audit log');
    expect((await audit()).find((e) => e.type === REJECTED && e.data.key === 'greeting')).toMatchObject({
      actor: 'app-1',
      data: { changeId: proposed.changeId, proposedBy: 'adm-1', notes: 'too casual for production' },
    });
  });

  it('promote shows the configuration changes waiting in the target, and does not apply them', async () => {
    // 1.1.0: the same module with a test vector, tested in staging (greeting Bonjour there) and approved.
    cliSucceeded(await as(admin1, 'plugin', 'publish', example('1.1.0', [{ handler: 'greet', input: 'ada', expect: 'Bonjour, ada' }])));
    cliSucceeded(await as(admin1, 'plugin', 'upgrade', `${NAME}@1.1.0`, '--env', 'staging'));
    expect(cliSucceeded<{ passed: boolean }>(await as(admin1, 'plugin', 'test', `${NAME}@1.1.0`, '--env', 'staging')).passed).toBe(true);
    cliSucceeded(await as(approver, 'plugin', 'approve', `${NAME}@1.1.0`, '--env', 'production'));
    const proposed = cliSucceeded<ChangeReply>(await as(admin1, 'plugin', 'config', 'set', NAME, '--env', 'production', 'greeting=Servus'));

    const promote = (...more: string[]) => ['plugin', 'promote', `${NAME}@1.1.0`, '--from', 'staging', '--to', 'production', ...more];
    const dry = cliSucceeded<{ dryRun: boolean; pendingConfigChanges: PendingView[] }>(await as(admin2, ...promote('--dry-run')));
    expect(dry.dryRun).toBe(true);
    expect(dry.pendingConfigChanges).toEqual([
      { changeId: proposed.changeId, key: 'greeting', change: 'set', secret: false, value: 'Servus', proposedBy: 'adm-1', proposedAt: expect.any(String) },
    ]);
    const human = await runCli(platform.apiUrl, promote('--dry-run'), { token: admin2 });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('waiting for approval in production (not applied by this promotion)');
    expect(human.stdout).toContain(`${proposed.changeId}: set greeting=Servus (proposed by adm-1)`);

    const promoted = cliSucceeded<{ pendingConfigChanges: PendingView[] }>(await as(admin2, ...promote()));
    expect(promoted.pendingConfigChanges.map((c) => c.changeId)).toEqual([proposed.changeId]);
    const show = cliSucceeded<{ installations: { environment: string; version: string }[] }>(await as(admin1, 'plugin', 'show', NAME));
    expect(show.installations).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'production', version: '1.1.0' })]));
    expect(await call('production', 'greet', 'ada')).toBe('Hallo, ada');
    expect((await list('production')).pending.map((p) => p.changeId)).toEqual([proposed.changeId]);
  });
}, 900_000);
