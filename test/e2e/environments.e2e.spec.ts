import { cpSync, mkdtempSync, rmSync } from 'node:fs';
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
  helloPluginCopy,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  TEST_NATS_URL,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
  wholeAuditLog,
} from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Environments and plugin configuration on the running platform, driven through the CLI and the HTTP API
// with two administrators of tenant acme, a developer, and the platform's own defaults.

interface EnvironmentJson {
  environment: string;
  configured: boolean;
  settings: { mode: string; threshold: number; gated: boolean; promotedFrom: string | null; approvals: number; soakSeconds: number };
  pending: { proposedBy: string; weakened: string[] } | null;
  changedBy: string | null;
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-envs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('environments - settings changed through the platform, plugin configuration and secrets', () => {
  const namespace = testNamespace('e2e-envs');
  // Long and random, so finding it anywhere cannot be a coincidence.
  const SECRET = `tok-${randomBytes(18).toString('hex')}`;
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin1: string;
  let admin2: string;
  let developer: string;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const http = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    db = await createTestDatabase('fo_envs');
    // Info-level logs from every service, so the search for the secret below covers what they say.
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_LOG_LEVEL: 'info' } });
    admin1 = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
    admin2 = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-2', role: 'admin', tenant: 'acme' })).token;
    developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer', tenant: 'acme' })).token;
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('env list and show - a fresh platform: staging audit and not gated, production strict and gated from staging', async () => {
    const { environments } = cliSucceeded<{ environments: EnvironmentJson[] }>(await as(admin1, 'env', 'list'));
    expect(environments.map((e) => e.environment)).toEqual(['production', 'staging']);
    const production = cliSucceeded<EnvironmentJson>(await as(admin1, 'env', 'show', 'production'));
    expect(production).toMatchObject({
      configured: false,
      settings: { mode: 'strict', threshold: 1, gated: true, promotedFrom: 'staging', approvals: 1, soakSeconds: 0 },
      pending: null,
    });
    expect(environments.find((e) => e.environment === 'staging')?.settings).toMatchObject({ mode: 'audit', gated: false });
  });

  it('env set - strengthening applies at once and is recorded with who, before and after', async () => {
    const reply = cliSucceeded<{ outcome: string; environment: EnvironmentJson }>(await as(admin1, 'env', 'set', 'qa', '--threshold', '2', '--soak', '1h', '--gated-from', 'staging'));
    expect(reply.outcome).toBe('applied');
    expect(reply.environment).toMatchObject({ configured: true, changedBy: 'adm-1', settings: { threshold: 2, soakSeconds: 3600, gated: true, promotedFrom: 'staging' } });
    const { environments } = cliSucceeded<{ environments: EnvironmentJson[] }>(await as(admin2, 'env', 'list'));
    expect(environments.map((e) => e.environment)).toEqual(['production', 'qa', 'staging']);
    const entries = await eventually(async () => {
      const entries = await wholeAuditLog<{ sequence: number; type: string; actor: string; data: { before: unknown; after: unknown } }>((...args) => as(admin1, ...args));
      const changes = entries.filter((e) => e.type === 'io.forgeone.environment.settings_changed.v1');
      return changes.length > 0 ? changes : undefined;
    }, 'the settings change in the audit log');
    expect(entries[0]).toMatchObject({ actor: 'adm-1', data: { before: { threshold: 1, gated: false }, after: { threshold: 2, gated: true } } });
  });

  it('env set - audit mode in gated production waits for a second administrator, then an unsigned version installs flagged', async () => {
    // Production is gated: these installs are emergency changes, which check signatures like any other.
    const EMERGENCY = ['--emergency', '--reason', 'checking the signature mode'];
    const dir = helloPluginCopy(work, 'acme/plain');
    cliSucceeded(await as(admin1, 'plugin', 'publish', dir));
    expect(cliRefusal(await as(admin1, 'plugin', 'install', 'acme/plain@1.0.0', '--env', 'production', ...EMERGENCY)).code).toBe('SIGNATURE.MISSING');

    const proposed = cliSucceeded<{ outcome: string; environment: EnvironmentJson }>(await as(admin1, 'env', 'set', 'production', '--mode', 'audit'));
    expect(proposed.outcome).toBe('proposed');
    expect(proposed.environment).toMatchObject({ settings: { mode: 'strict' }, pending: { proposedBy: 'adm-1', weakened: ['mode'] } });
    // Still strict until confirmed.
    expect(cliRefusal(await as(admin1, 'plugin', 'install', 'acme/plain@1.0.0', '--env', 'production', ...EMERGENCY)).code).toBe('SIGNATURE.MISSING');

    const own = cliRefusal(await as(admin1, 'env', 'confirm', 'production'));
    expect(own.code).toBe('ENVIRONMENT.SAME_ADMIN');
    expect(own.message).toContain('second, different administrator');
    expect(cliRefusal(await as(developer, 'env', 'confirm', 'production')).code).toBe('AUTHZ.DENIED');

    const confirmed = cliSucceeded<{ outcome: string; environment: EnvironmentJson }>(await as(admin2, 'env', 'confirm', 'production'));
    expect(confirmed).toMatchObject({ outcome: 'confirmed', environment: { settings: { mode: 'audit' }, pending: null, changedBy: 'adm-2' } });

    cliSucceeded(await as(admin1, 'plugin', 'install', 'acme/plain@1.0.0', '--env', 'production', ...EMERGENCY));
    const flagged = await eventually(async () => {
      const { entries } = cliSucceeded<{ entries: Array<{ type: string; data: { environment: string | null; mode: string; flagged: boolean; reason: string | null } }> }>(
        await as(admin1, 'audit', 'log', '--plugin', 'acme/plain', '--limit', '1000'),
      );
      return entries.find((e) => e.type === 'io.forgeone.signature.rejected.v1' && e.data.environment === 'production' && e.data.mode === 'audit');
    }, 'the flagged signature result of the install');
    expect(flagged.data).toMatchObject({ flagged: true, reason: 'SIGNATURE.MISSING' });

    // Both steps are on record.
    const entries = await wholeAuditLog<{ sequence: number; type: string; actor: string }>((...args) => as(admin1, ...args));
    expect(entries.filter((e) => e.type.startsWith('io.forgeone.environment.weakening_')).map((e) => [e.type, e.actor])).toEqual([
      ['io.forgeone.environment.weakening_proposed.v1', 'adm-1'],
      ['io.forgeone.environment.weakening_confirmed.v1', 'adm-2'],
    ]);
  });

  it('env - a non-administrator may neither read nor change environments', async () => {
    expect(cliRefusal(await as(developer, 'env', 'set', 'staging', '--mode', 'strict')).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(developer, 'env', 'show', 'production')).code).toBe('AUTHZ.DENIED');
    const response = await http(developer, 'PUT', '/v1/environments/staging', { mode: 'strict' });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('AUTHZ.DENIED');
  });

  it('env - bad input is refused naming what is wrong', async () => {
    const usage = async (args: string[], text: RegExp) => {
      const run = await as(admin1, ...args);
      expect(run.code, run.stderr).toBe(2);
      expect((JSON.parse(run.stderr) as { error: { message: string } }).error.message).toMatch(text);
    };
    await usage(['env', 'set', 'staging', '--mode', 'lax'], /--mode "lax" is not a signature mode/);
    await usage(['env', 'set', 'staging', '--threshold', '0'], /--threshold "0" must be a whole number from 1 to 16/);
    await usage(['env', 'set', 'staging', '--soak', 'soon'], /--soak "soon" is not a duration/);
    await usage(['env', 'set', 'staging', '--gated-from', 'staging'], /cannot be promoted from itself/);
    await usage(['env', 'set', 'staging'], /changes nothing/);

    const zero = await http(admin1, 'PUT', '/v1/environments/staging', { threshold: 0 });
    expect(zero.status).toBe(400);
    expect(((await zero.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'COMMAND.INVALID', message: expect.stringContaining('threshold') });
    const itself = await http(admin1, 'PUT', '/v1/environments/staging', { promotedFrom: 'staging' });
    expect(itself.status).toBe(400);
    expect(((await itself.json()) as { error: { code: string } }).error.code).toBe('ENVIRONMENT.INVALID');
    expect(cliRefusal(await as(admin2, 'env', 'confirm', 'staging')).code).toBe('ENVIRONMENT.NO_PROPOSAL');
  });

  it('plugin config - a value and a secret reach config_get in a real call; the secret is listed as set and appears nowhere in clear', async () => {
    const dir = join(work, 'greeter-config');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'greeter-config'), dir, { recursive: true });
    cliSucceeded(await as(admin1, 'plugin', 'publish', dir));
    // Staging is in audit mode by default: the unsigned example installs there, flagged.
    cliSucceeded(await as(admin1, 'plugin', 'install', 'forgeone/greeter-config@1.0.0', '--env', 'staging'));
    const name = 'forgeone/greeter-config';

    cliSucceeded(await as(admin1, 'plugin', 'config', 'set', name, '--env', 'staging', 'greeting=Bonjour'));
    cliSucceeded(await as(admin1, 'plugin', 'config', 'set', name, '--env', 'staging', `api_token=${SECRET}`, '--secret'));
    const call = async (handler: string, input: string) => cliSucceeded<{ output: string }>(await as(admin1, 'plugin', 'call', name, handler, '--env', 'staging', '--input', input)).output;
    expect(await call('greet', 'ada')).toBe('Bonjour, ada');
    expect(await call('token_matches', SECRET)).toBe('match');
    expect(await call('token_matches', 'guess')).toBe('no match');

    // A change reaches the next call.
    cliSucceeded(await as(admin2, 'plugin', 'config', 'set', name, '--env', 'staging', 'greeting=Hej'));
    expect(await call('greet', 'ada')).toBe('Hej, ada');

    const list = cliSucceeded<{ entries: Array<{ key: string; secret: boolean; value: string | null; setBy: string | null; setAt: string | null }> }>(
      await as(admin1, 'plugin', 'config', 'list', name, '--env', 'staging'),
    );
    expect(list.entries).toEqual([
      { key: 'api_token', secret: true, value: null, setBy: 'adm-1', setAt: expect.any(String) },
      { key: 'greeting', secret: false, value: 'Hej', setBy: 'adm-2', setAt: expect.any(String) },
    ]);
    const table = await runCli(platform.apiUrl, ['plugin', 'config', 'list', name, '--env', 'staging'], { token: admin1 });
    expect(table.stdout).toContain('(secret, set)');
    expect(table.stdout).not.toContain(SECRET);

    cliSucceeded(await as(admin1, 'plugin', 'config', 'unset', name, '--env', 'staging', 'api_token'));
    expect(await call('token_matches', SECRET)).toBe('unset');
    expect(cliRefusal(await as(admin1, 'plugin', 'config', 'unset', name, '--env', 'staging', 'api_token')).code).toBe('PLUGIN_CONFIG.KEY_NOT_FOUND');
    expect(cliRefusal(await as(developer, 'plugin', 'config', 'set', name, '--env', 'staging', 'greeting=hi')).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(admin1, 'plugin', 'config', 'set', 'acme/nothing', '--env', 'staging', 'greeting=hi')).code).toBe('REGISTRY.PLUGIN_NOT_FOUND');
    const badKey = await as(admin1, 'plugin', 'config', 'set', name, '--env', 'staging', '1x=hi');
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('is not a configuration key');

    // Nowhere in clear: every message of the event stream, the audit log table, the services' logs.
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
      expect(sealedSeen).toBe(1);
    } finally {
      await nc.close();
    }
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await eventually(async () => {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE type = 'io.forgeone.plugin_config.value_unset.v1'`);
        return Number(rows[0].n) > 0;
      }, 'the configuration events in the audit log');
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_log WHERE audit_log::text LIKE $1', [`%${SECRET}%`]);
      expect(Number(rows[0].n)).toBe(0);
    } finally {
      await client.end();
    }
    expect(platform.logs()).not.toContain(SECRET);
    expect(platform.logs().length).toBeGreaterThan(0);
  });
});
