import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { names as namesFor, HEADERS, IDENTITY_EVENT_TYPES, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, TOKEN_AGGREGATE, aggregateOfEventType, cloudEvent } from '@forgeone/contracts';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  eventually,
  proofHeadersOf,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  TEST_NATS_URL,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Entry {
  sequence: number;
  eventId: string;
  type: string;
  forged: string | null;
  data: { environment?: string; version?: string };
}
interface PluginList {
  plugins: Array<{ name: string; installations: Array<{ environment: string; version: string }> }>;
}

const encoder = new TextEncoder();

// An envelope as a service would write it; published straight onto NATS, it carries no writer's signature.
function envelope(type: string, subject: string, tenant: string, data: unknown, actor = 'bootstrap-admin') {
  return encoder.encode(JSON.stringify(cloudEvent(aggregateOfEventType(type)!, subject, { id: randomUUID(), type, time: new Date().toISOString(), data, actor, tenant })));
}

describe('platform - an event its owner did not write never changes state', () => {
  const namespace = testNamespace('e2e-forged');
  const names = namesFor(namespace);
  const pluginSubject = names.eventSubject(PLUGIN_AGGREGATE, 'default:forgeone/hello');
  let db: TestDatabase;
  let platform: TestPlatform;
  let nc: NatsConnection;
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });
  const publish = async (subject: string, payload: Uint8Array, headers: Record<string, string> = {}) => {
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(headers)) hdrs.set(key, value);
    return (await jetstream(nc).publish(subject, payload, { headers: hdrs })).seq;
  };
  const auditEntries = async () => cliSucceeded<{ entries: Entry[] }>(await cli('audit', 'log', '--plugin', 'forgeone/hello', '--json')).entries;
  const installedIn = async (environment: string) => cliSucceeded<PluginList>(await cli('plugin', 'list', '--env', environment, '--json')).plugins.map((p) => p.name);

  beforeAll(async () => {
    db = await createTestDatabase();
    // The plugin stays unsigned: the environments used here verify in audit mode.
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_SIGNATURE_POLICY: '{"qa":{"mode":"audit"},"perf":{"mode":"audit"}}' } });
    nc = await connect({ servers: TEST_NATS_URL });
    cliSucceeded(await cli('plugin', 'publish', 'examples/plugins/hello', '--json'));
    cliSucceeded(await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging', '--json'));
  });

  afterAll(async () => {
    await nc?.close();
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('forged plugin.installed - not in the plugin list, not run by the runner, in the audit log marked forged; the projector goes on', async () => {
    const published = (await auditEntries()).find((e) => e.type === PLUGIN_EVENT_TYPES.versionPublished)!;
    const digest = (published.data as { digest?: string }).digest;
    const forged = await publish(pluginSubject, envelope(PLUGIN_EVENT_TYPES.installed, 'forgeone/hello', 'default', { name: 'forgeone/hello', version: '1.0.0', digest, environment: 'production' }));
    // The next genuine command is projected: nothing halted on the forgery.
    cliSucceeded(await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'qa', '--json'));
    expect(await installedIn('qa')).toEqual(['forgeone/hello']);
    expect(await installedIn('production')).toEqual([]);

    const entries = await eventually(async () => {
      const all = await auditEntries();
      return all.some((e) => e.sequence === forged) ? all : undefined;
    }, 'the forged event in the audit log');
    expect(entries.find((e) => e.sequence === forged)).toMatchObject({ type: PLUGIN_EVENT_TYPES.installed, forged: 'unsigned', data: { environment: 'production' } });
    expect(entries.filter((e) => e.forged === null).map((e) => e.type)).toContain(PLUGIN_EVENT_TYPES.installed);
    const table = (await cli('audit', 'log', '--plugin', 'forgeone/hello')).stdout;
    expect(table).toMatch(/FORGED \(unsigned\) plugin\.installed\s+forgeone\/hello\s+1\.0\.0\s+production/);

    const call = cliRefusal(await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'production', '--input', 'x', '--json'));
    expect(call.code).toBe('SANDBOX.NOT_FOUND');
    expect(cliSucceeded<{ output: string }>(await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'qa', '--input', 'x', '--json')).output).toBe('hello, x');
  });

  it('replayed plugin.installed - the genuine install published again after a removal does not bring the plugin back', async () => {
    const jsm = await jetstreamManager(nc);
    const install = (await auditEntries()).find((e) => e.type === PLUGIN_EVENT_TYPES.installed && e.data.environment === 'staging' && e.forged === null)!;
    const original = (await jsm.streams.getMessage(names.stream, { seq: install.sequence }))!;
    cliSucceeded(await cli('plugin', 'remove', 'forgeone/hello', '--env', 'staging', '--json'));
    const replay = await publish(pluginSubject, original.data, proofHeadersOf(original.header));
    cliSucceeded(await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'perf', '--json'));
    const entries = await eventually(async () => {
      const all = await auditEntries();
      return all.some((e) => e.sequence === replay) ? all : undefined;
    }, 'the replay in the audit log');
    expect(entries.find((e) => e.sequence === replay)).toMatchObject({ eventId: install.eventId, forged: 'replayed' });
    expect(await installedIn('staging')).toEqual([]);
    expect(await installedIn('perf')).toEqual(['forgeone/hello']);
  });

  it('forged token_issued - an admin token published on the bootstrap subject authenticates nobody and issues nothing', async () => {
    const secret = randomBytes(32).toString('base64url');
    const tokenId = randomBytes(8).toString('hex');
    const token = `fo_${tokenId}_${secret}`;
    const data = { tokenId, principal: 'mallory', principalType: 'user', role: 'admin', tenant: 'globex', secretHash: createHash('sha256').update(secret).digest('hex'), issuedBy: 'service.policy' };
    const subject = names.eventSubject(TOKEN_AGGREGATE, 'bootstrap-admin');
    await publish(subject, envelope(IDENTITY_EVENT_TYPES.tokenIssued, tokenId, 'globex', data, 'service.policy'));
    await publish(subject, envelope(IDENTITY_EVENT_TYPES.tokenIssued, tokenId, 'globex', data, 'service.policy'), {
      [HEADERS.eventWriter]: 'policy',
      [HEADERS.eventSignature]: randomBytes(64).toString('base64'),
    });
    await publish(names.eventSubject(TOKEN_AGGREGATE, tokenId), envelope(IDENTITY_EVENT_TYPES.tokenIssued, tokenId, 'globex', data, 'service.policy'));

    const refused = cliRefusal(await runCli(platform.apiUrl, ['token', 'create', '--principal', 'mallory-2', '--role', 'admin', '--tenant', 'globex', '--json'], { token }));
    expect(refused.code).toBe('AUTH.UNAUTHENTICATED');
    expect(cliRefusal(await runCli(platform.apiUrl, ['plugin', 'list', '--json'], { token })).code).toBe('AUTH.UNAUTHENTICATED');
    const tokens = cliSucceeded<{ tokens: Array<{ principal: string }> }>(await cli('token', 'list', '--json')).tokens;
    expect(tokens.map((t) => t.principal)).not.toContain('mallory');
    // The platform administrator's own token still works.
    expect(cliSucceeded<PluginList>(await cli('plugin', 'list', '--json')).plugins.map((p) => p.name)).toEqual(['forgeone/hello']);
  });
});
