import type { DataSource, QueryRunner } from 'typeorm';
import { createDataSource, runMigrations, type PersistenceOptions } from '../postgres.data-source.js';

/** Anything that runs SQL: an EntityManager, a QueryRunner or a DataSource. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The session setting a rebuild's connections carry, so a migration can tell it runs in a rebuild. */
export const PROJECTION_REBUILD_SETTING = 'forgeone.projection_rebuild';

/** Quotes a schema or relation name after checking it is one ForgeOne makes (lowercase, digits, `_`). */
export function quoteName(name: string): string {
  if (!SCHEMA_NAME.test(name)) throw new RangeError(`"${name}" is not a schema or table name this tool handles: lowercase letters, digits and '_', at most 63`);
  return `"${name}"`;
}

/**
 * A DataSource whose connections see `schema` alone (search_path), marked as a rebuild's: running
 * the migrations through it creates every table there, and {@link applyEvent} writes there.
 */
export function rebuildDataSource(url: string, schema: string, options: PersistenceOptions): DataSource {
  quoteName(schema);
  return createDataSource(url, { ...options, connectionOptions: `-c search_path=${schema} -c ${PROJECTION_REBUILD_SETTING}=on` });
}

/**
 * Whether this migration runs in a projection rebuild's fresh schema. A migration that creates
 * objects outside the projection schema (another schema's views, roles, grants) skips them then:
 * they exist already, and the swap re-points views that read the live tables at the rebuilt ones.
 */
export async function isProjectionRebuild(db: QueryRunner | SqlRunner): Promise<boolean> {
  const [row] = (await db.query(`SELECT current_setting($1, true) AS value`, [PROJECTION_REBUILD_SETTING])) as { value: string | null }[];
  return row?.value === 'on';
}

/** The schema unqualified names resolve to on this connection: where the live projections are. */
export async function currentProjectionSchema(db: SqlRunner): Promise<string> {
  const [row] = (await db.query(`SELECT current_schema() AS schema`)) as { schema: string | null }[];
  if (!row?.schema) throw new Error('the connection has no current schema (search_path names no existing schema)');
  return row.schema;
}

/** Creates `schema` (refused if it exists) and runs every migration in it; answers the migrations run. */
export async function createProjectionSchema(live: SqlRunner, url: string, schema: string, options: PersistenceOptions): Promise<string[]> {
  await live.query(`CREATE SCHEMA ${quoteName(schema)}`);
  // Two connections: runMigrations holds its advisory lock on one and migrates on the other.
  const ds = rebuildDataSource(url, schema, { ...options, poolSize: 2 });
  await ds.initialize();
  try {
    return await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

/** Drops a schema made by a rebuild that was abandoned (never the live one). */
export async function dropProjectionSchema(live: SqlRunner, schema: string): Promise<void> {
  const current = await currentProjectionSchema(live);
  if (schema === current) throw new Error(`refusing to drop ${schema}: it is the live projection schema`);
  await live.query(`DROP SCHEMA IF EXISTS ${quoteName(schema)} CASCADE`);
}
