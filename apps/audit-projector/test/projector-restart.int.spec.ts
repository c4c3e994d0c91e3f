import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusClient, connectNats } from '@forgeone/bus';
import { names as namesFor, type ServiceName } from '@forgeone/contracts';
import {
  createTestDatabase,
  createTestEventWriters,
  eventually,
  provisionTestStorage,
  removeNamespace,
  repoRoot,
  spawnService,
  testNamespace,
  TEST_NATS_URL,
  type ServiceProcess,
  type TestDatabase,
} from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const hello = join(repoRoot(), 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');

// Every projected table, ordered by its key; only the wall-clock time of recording may differ.
const SNAPSHOT_QUERIES = {
  plugins: 'select * from plugins order by tenant, name',
  plugin_versions: 'select * from plugin_versions order by tenant, name, version',
  installations: 'select * from installations order by tenant, name, environment',
  audit_log: 'select * from audit_log order by sequence',
  audit_merkle_nodes: 'select * from audit_merkle_nodes order by level, index',
};

async function snapshot(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result: Record<string, unknown[]> = {};
    for (const [table, sql] of Object.entries(SNAPSHOT_QUERIES)) {
      result[table] = (await client.query(sql)).rows.map(({ recorded_at: _r, ...row }) => row);
    }
    return result;
  } finally {
    await client.end();
  }
}

async function checkpointOf(url: string, projector: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (await client.query('select last_sequence from projection_checkpoint where projector = $1', [projector])).rows;
    return rows.length ? Number(rows[0].last_sequence) : 0;
  } catch {
    return 0;
  } finally {
    await client.end();
  }
}

// Services start in seconds on an idle machine and in tens of seconds on a loaded one.
const STARTUP_MS = 90_000;

describe('audit projector - crash and rebuild', () => {
  const namespace = testNamespace('proj');
  const names = namesFor(namespace);
  let primary: TestDatabase;
  let rebuilt: TestDatabase;
  let nc: NatsConnection;
  const processes: ServiceProcess[] = [];
  const serviceKey = randomBytes(32).toString('hex');
  const adminToken = `admin-${randomBytes(24).toString('hex')}`;
  const writers = createTestEventWriters();
  const env = (name: ServiceName, extra: Record<string, string>) => ({
    NATS_URL: TEST_NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    FORGEONE_SERVICE_KEY: serviceKey,
    FORGEONE_BOOTSTRAP_TOKEN: adminToken,
    ...writers.env(name),
    ...extra,
  });
  const start = (name: ServiceName, extra: Record<string, string>) => {
    const p = spawnService(name, env(name, extra));
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    [primary, rebuilt] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    nc = await connectNats(TEST_NATS_URL, 'projector-test');
    await provisionTestStorage(namespace);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await nc?.close();
    await removeNamespace(namespace);
    await Promise.all([primary?.drop(), rebuilt?.drop()]);
  });

  it('after a kill -9 mid-stream and a restart, the projections equal a rebuild from sequence 1', { timeout: 360_000 }, async () => {
    const bus = new BusClient(nc, names);
    const client = {
      checkHealth: (service: 'registry' | 'audit-projector' | 'policy') => bus.checkHealth(service),
      request: (service: 'registry', verb: string, body: unknown) => bus.request(service, verb, body, { credential: `Bearer ${adminToken}` }),
    };
    // Allows are not recorded here, so the stream holds exactly what is counted below.
    start('policy', { FORGEONE_AUTHZ_RECORD_ALLOWS: 'none' });
    await eventually(() => client.checkHealth('policy').then((h) => h.ready), 'policy ready', STARTUP_MS);
    // live (ungated) in audit mode: the plugin is unsigned, and the verifications are recorded (flagged) all the same.
    start('registry', { FORGEONE_SIGNATURE_POLICY: '{"live":{"mode":"audit"}}' });
    await eventually(() => client.checkHealth('registry').then((h) => h.ready), 'registry ready', STARTUP_MS);
    let projector = start('audit-projector', { DATABASE_URL: primary.url });
    await eventually(() => client.checkHealth('audit-projector').then((h) => h.ready), 'projector ready', STARTUP_MS);

    const commands: Array<() => Promise<unknown>> = [];
    for (let minor = 0; minor < 6; minor++) {
      const version = `1.${minor}.0`;
      commands.push(() => client.request('registry', 'publish', { manifest: { ...manifest, version }, wasm }));
    }
    commands.push(() => client.request('registry', 'install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }));
    commands.push(() => client.request('registry', 'install', { name: 'forgeone/hello', version: '1.0.0', environment: 'live' }));
    for (let minor = 1; minor < 6; minor++) {
      commands.push(() => client.request('registry', 'upgrade', { name: 'forgeone/hello', version: `1.${minor}.0`, environment: 'staging' }));
    }
    commands.push(() => client.request('registry', 'remove', { name: 'forgeone/hello', environment: 'live' }));

    // Kill the projector without warning once it has projected part of the stream.
    for (const [i, command] of commands.entries()) {
      await command();
      if (i === 4) {
        await eventually(async () => (await checkpointOf(primary.url, 'audit-projector')) >= 3, 'some events projected');
        await projector.stop('SIGKILL');
      }
    }
    const last = (await (await jetstreamManager(nc)).streams.info(names.stream)).state.last_seq;
    // Besides the policy set and one event per command, each install and upgrade records its signature verification,
    // and the policy service records its start on the shared NATS, which anyone may write to (insecure mode).
    const verifications = 2 + 5;
    expect(last).toBe(commands.length + verifications + 1 + 1);
    expect(await checkpointOf(primary.url, 'audit-projector')).toBeLessThan(last);

    projector = start('audit-projector', { DATABASE_URL: primary.url });
    await eventually(async () => (await checkpointOf(primary.url, 'audit-projector')) === last, 'restarted projector caught up', STARTUP_MS);

    start('audit-projector', { DATABASE_URL: rebuilt.url, FORGEONE_PROJECTOR_ID: 'rebuild' });
    await eventually(async () => (await checkpointOf(rebuilt.url, 'audit-projector-rebuild')) === last, 'rebuild caught up', STARTUP_MS);

    const [afterCrash, fromScratch] = await Promise.all([snapshot(primary.url), snapshot(rebuilt.url)]);
    expect(afterCrash.audit_log).toHaveLength(last);
    expect(afterCrash.audit_log.filter((row) => String((row as { type: string }).type).startsWith('io.forgeone.plugin.'))).toHaveLength(commands.length);
    expect(afterCrash.audit_log.filter((row) => String((row as { type: string }).type).startsWith('io.forgeone.signature.'))).toHaveLength(verifications);
    expect(afterCrash.installations).toHaveLength(2);
    expect(afterCrash).toEqual(fromScratch);
  });
});
