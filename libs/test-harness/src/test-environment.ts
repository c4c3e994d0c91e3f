import { randomBytes } from 'node:crypto';
import { names as namesFor, SERVICES } from '@forgeone/contracts';
import { provisionPlatformStorage, type PlatformStorageSettings } from '@forgeone/event-store';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

/** NATS the tests use (FORGEONE_TEST_NATS_URL, default the local server). */
export const TEST_NATS_URL = process.env.FORGEONE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** A database the tests may create and drop databases from (FORGEONE_TEST_DATABASE_URL). */
export const TEST_DATABASE_URL = process.env.FORGEONE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const MiB = 1024 * 1024;

/** Storage of a test namespace: small, since JetStream reserves every stream's byte limit on the shared server. */
export const TEST_STORAGE_SETTINGS: PlatformStorageSettings = { replicas: 1, eventsMaxBytes: 64 * MiB, artifactsMaxBytes: 64 * MiB, pluginKvMaxBytes: 8 * MiB };

/**
 * Environment for services started by tests: the byte limits of {@link TEST_STORAGE_SETTINGS}, and
 * FORGEONE_NATS_INSECURE=1 because the shared test NATS lets clients without credentials do anything.
 */
export const TEST_NATS_ENV: Readonly<Record<string, string>> = {
  FORGEONE_EVENTS_MAX_BYTES: String(TEST_STORAGE_SETTINGS.eventsMaxBytes),
  FORGEONE_ARTIFACTS_MAX_BYTES: String(TEST_STORAGE_SETTINGS.artifactsMaxBytes),
  FORGEONE_PLUGIN_KV_MAX_BYTES: String(TEST_STORAGE_SETTINGS.pluginKvMaxBytes),
  FORGEONE_NATS_INSECURE: '1',
};

/**
 * Creates a namespace's event stream and buckets as the operator step does (services only check
 * them): call it before starting services of the namespace, and removeNamespace afterwards.
 */
export async function provisionTestStorage(namespace: string, natsUrl = TEST_NATS_URL, settings = TEST_STORAGE_SETTINGS): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    await provisionPlatformStorage(nc, namesFor(namespace), settings);
  } finally {
    await nc.close();
  }
}

/** A namespace no other run uses: `<prefix>-<random>`. */
export function testNamespace(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates a fresh, empty database; `drop()` removes it (ending its connections first). */
export async function createTestDatabase(prefix = 'fo'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await adminQuery(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`);
      await adminQuery(`drop database if exists ${name}`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Deletes everything a namespace has on NATS: the event stream (with its consumers) and its buckets. */
export async function removeNamespace(namespace: string, natsUrl = TEST_NATS_URL): Promise<void> {
  if (!namespace) throw new Error('refusing to remove the default namespace from tests');
  const n = namesFor(namespace);
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(n.stream).catch(() => undefined);
    await new Objm(nc).open(n.artifactBucket).then((os) => os.destroy()).catch(() => undefined);
    // Buckets under the namespace (plugin storage, ...) are streams named KV_<ns>-* / OBJ_<ns>-*.
    const owned: string[] = [];
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(`KV_${namespace}-`) || info.config.name.startsWith(`OBJ_${namespace}-`)) owned.push(info.config.name);
    }
    for (const name of owned) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Every service the platform runs, for readiness checks. */
export const PLATFORM_SERVICES = SERVICES;
