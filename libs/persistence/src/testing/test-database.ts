import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';

// The integration tier's shared server; every test file works in its own throw-away database.
const ADMIN_URL = process.env.FORGEONE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs SQL on its own connection (as the admin user, a superuser on the test server). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `fo_${randomBytes(6).toString('hex')}`;
  await withClient(ADMIN_URL, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    sql: (text, params) => withClient(url.toString(), async (client) => (await client.query(text, params)).rows),
    drop: () => withClient(ADMIN_URL, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withClient<T>(connectionString: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Every table of the read model, ordered, to compare "nothing was written". */
export async function snapshot(ds: DataSource): Promise<Record<string, unknown[]>> {
  return {
    projection_checkpoint: await ds.query(`SELECT * FROM projection_checkpoint ORDER BY projector`),
    plugins: await ds.query(`SELECT * FROM plugins ORDER BY tenant, name`),
    plugin_versions: await ds.query(`SELECT * FROM plugin_versions ORDER BY tenant, name, version`),
    installations: await ds.query(`SELECT * FROM installations ORDER BY tenant, name, environment`),
    audit_log: await ds.query(`SELECT * FROM audit_log ORDER BY sequence`),
    audit_merkle_nodes: await ds.query(`SELECT * FROM audit_merkle_nodes ORDER BY level, index`),
    audit_checkpoints: await ds.query(`SELECT tree_size, root_hash, origin, key_id, public_key, note, signed_at, sequence FROM audit_checkpoints ORDER BY tree_size`),
  };
}
