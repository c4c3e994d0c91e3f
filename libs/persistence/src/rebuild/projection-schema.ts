import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { createDataSource, runMigrations, type PersistenceOptions } from '../postgres.data-source.js';
import { lockCheckpoint } from '../writer/projection.writer.js';

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

// ---------------------------------------------------------------------------------------------
// Comparison

/** Where a rebuilt schema and the live one differ in one table, or that they do not. */
export interface TableComparison {
  readonly table: string;
  readonly equal: boolean;
  /** Columns left out of the digest because a rebuild writes them anew (see {@link compareProjectionSchemas}). */
  readonly excludedColumns: readonly string[];
  readonly live: TableDigest | null;
  readonly rebuilt: TableDigest | null;
  /** What differs, in words: a missing table, other columns, rows only on one side (their keys, at most 10). */
  readonly differences: readonly string[];
}

export interface TableDigest {
  readonly rows: number;
  /** md5 over the sorted md5s of the rows as JSON, excluded columns removed: independent of row order. */
  readonly digest: string;
}

export interface AuditTip {
  readonly sequence: number;
  readonly hash: string;
}

export interface ProjectionComparison {
  readonly equal: boolean;
  readonly liveSchema: string;
  readonly rebuiltSchema: string;
  /** The stream sequence both sides had projected when they were compared. */
  readonly sequence: { readonly live: number; readonly rebuilt: number };
  readonly auditTip: { readonly live: AuditTip | null; readonly rebuilt: AuditTip | null };
  readonly tables: readonly TableComparison[];
}

/**
 * Tables not compared row by row: the checkpoint table holds one row per projector (the live
 * schema may hold other projectors' rows), and what matters of it is compared as `sequence`.
 */
const NOT_COMPARED_TABLES = new Set(['projection_checkpoint']);

// A column comment starting with this marks a value computed from the clock at projection time.
const PROJECTION_TIME_MARK = 'forgeone:projection-time';

const MAX_REPORTED_ROWS = 10;

interface ColumnInfo {
  readonly name: string;
  readonly excluded: boolean;
}

async function tablesOf(db: SqlRunner, schema: string): Promise<string[]> {
  const rows = (await db.query(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    [schema],
  )) as { name: string }[];
  return rows.map((row) => row.name);
}

/**
 * The columns of a table, each marked excluded when a rebuild cannot reproduce its value: filled
 * by the database when the row is written (a default calling now(), clock_timestamp() or
 * nextval(), or an identity column: recording times, serial ids whose sequence also counts
 * rolled-back inserts) or marked
 * by a migration with a comment starting `forgeone:projection-time`.
 */
async function columnsOf(db: SqlRunner, schema: string, table: string): Promise<ColumnInfo[]> {
  const rows = (await db.query(
    `SELECT a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS default_expr, col_description(c.oid, a.attnum) AS comment, a.attidentity <> '' AS identity
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attname`,
    [schema, table],
  )) as { name: string; default_expr: string | null; comment: string | null; identity: boolean }[];
  return rows.map((row) => ({
    name: row.name,
    excluded:
      row.identity ||
      /\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|nextval)\s*\(|current_timestamp/i.test(row.default_expr ?? '') ||
      (row.comment ?? '').startsWith(PROJECTION_TIME_MARK),
  }));
}

async function primaryKeyOf(db: SqlRunner, schema: string, table: string): Promise<string[]> {
  const rows = (await db.query(
    `SELECT a.attname AS name FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [schema, table],
  )) as { name: string }[];
  return rows.map((row) => row.name);
}

async function digestOf(db: SqlRunner, schema: string, table: string, excluded: readonly string[]): Promise<TableDigest> {
  const [row] = (await db.query(
    `SELECT count(*)::bigint AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS digest
       FROM (SELECT md5((to_jsonb(t) - $1::text[])::text) AS h FROM ${quoteName(schema)}.${quoteName(table)} t) s`,
    [excluded],
  )) as { rows: string; digest: string }[];
  return { rows: Number(row.rows), digest: row.digest };
}

async function rowsOnlyIn(db: SqlRunner, from: string, other: string, table: string, excluded: readonly string[]): Promise<Record<string, unknown>[]> {
  const rows = (await db.query(
    `SELECT r FROM (
       SELECT to_jsonb(t) - $1::text[] AS r FROM ${quoteName(from)}.${quoteName(table)} t
       EXCEPT ALL
       SELECT to_jsonb(t) - $1::text[] AS r FROM ${quoteName(other)}.${quoteName(table)} t
     ) d LIMIT ${MAX_REPORTED_ROWS + 1}`,
    [excluded],
  )) as { r: Record<string, unknown> }[];
  return rows.map((row) => row.r);
}

function describeRow(row: Record<string, unknown>, key: readonly string[]): string {
  const shown = key.length > 0 ? key : Object.keys(row).slice(0, 4);
  return shown.map((column) => `${column}=${JSON.stringify(row[column])}`).join(', ');
}

async function compareTable(db: SqlRunner, live: string, rebuilt: string, table: string, present: { live: boolean; rebuilt: boolean }): Promise<TableComparison> {
  if (!present.live || !present.rebuilt) {
    const side = present.live ? 'rebuilt' : 'live';
    const digest = present.live ? await digestOf(db, live, table, []) : await digestOf(db, rebuilt, table, []);
    return {
      table,
      equal: false,
      excludedColumns: [],
      live: present.live ? digest : null,
      rebuilt: present.rebuilt ? digest : null,
      differences: [`the table is missing from the ${side} schema`],
    };
  }
  const [liveColumns, rebuiltColumns] = await Promise.all([columnsOf(db, live, table), columnsOf(db, rebuilt, table)]);
  const names = (columns: ColumnInfo[]) => columns.map((c) => c.name);
  const excluded = [...new Set([...liveColumns, ...rebuiltColumns].filter((c) => c.excluded).map((c) => c.name))].sort();
  const differences: string[] = [];
  const onlyLive = names(liveColumns).filter((c) => !names(rebuiltColumns).includes(c));
  const onlyRebuilt = names(rebuiltColumns).filter((c) => !names(liveColumns).includes(c));
  if (onlyLive.length) differences.push(`columns only in the live schema: ${onlyLive.join(', ')}`);
  if (onlyRebuilt.length) differences.push(`columns only in the rebuilt schema: ${onlyRebuilt.join(', ')}`);
  const [liveDigest, rebuiltDigest] = [await digestOf(db, live, table, excluded), await digestOf(db, rebuilt, table, excluded)];
  if (liveDigest.rows !== rebuiltDigest.rows) differences.push(`${liveDigest.rows} rows live, ${rebuiltDigest.rows} rebuilt`);
  // Rows are only listed when both sides have the same columns: otherwise every row differs.
  if (liveDigest.digest !== rebuiltDigest.digest && !onlyLive.length && !onlyRebuilt.length) {
    const key = await primaryKeyOf(db, live, table);
    const report = (rows: Record<string, unknown>[], where: string) => {
      for (const row of rows.slice(0, MAX_REPORTED_ROWS)) differences.push(`row only ${where}: ${describeRow(row, key)}`);
      if (rows.length > MAX_REPORTED_ROWS) differences.push(`more rows only ${where}`);
    };
    report(await rowsOnlyIn(db, live, rebuilt, table, excluded), 'live');
    report(await rowsOnlyIn(db, rebuilt, live, table, excluded), 'rebuilt');
  }
  return { table, equal: differences.length === 0 && liveDigest.digest === rebuiltDigest.digest, excludedColumns: excluded, live: liveDigest, rebuilt: rebuiltDigest, differences };
}

async function auditTipOf(db: SqlRunner, schema: string): Promise<AuditTip | null> {
  const exists = (await tablesOf(db, schema)).includes('audit_log');
  if (!exists) return null;
  const [row] = (await db.query(`SELECT sequence, hash FROM ${quoteName(schema)}.audit_log ORDER BY sequence DESC LIMIT 1`)) as { sequence: string; hash: string }[];
  return row ? { sequence: Number(row.sequence), hash: row.hash } : null;
}

async function checkpointIn(db: SqlRunner, schema: string, projector: string): Promise<number> {
  const [row] = (await db.query(`SELECT last_sequence FROM ${quoteName(schema)}.projection_checkpoint WHERE projector = $1`, [projector])) as { last_sequence: string }[];
  return row ? Number(row.last_sequence) : 0;
}

/**
 * Compares every table of the live and the rebuilt schema (the set comes from the catalog, so a
 * table a later migration adds is compared without being named here): rows, an order-independent
 * digest of the rows and, where they differ, the rows only on one side by primary key; and the
 * audit chain's tip. Call it where both sides stand at the same stream sequence (it reports both).
 */
export async function compareProjectionSchemas(db: SqlRunner, live: string, rebuilt: string, projector: string): Promise<ProjectionComparison> {
  const [liveTables, rebuiltTables] = [await tablesOf(db, live), await tablesOf(db, rebuilt)];
  const all = [...new Set([...liveTables, ...rebuiltTables])].filter((t) => !NOT_COMPARED_TABLES.has(t)).sort();
  const tables: TableComparison[] = [];
  for (const table of all) {
    tables.push(await compareTable(db, live, rebuilt, table, { live: liveTables.includes(table), rebuilt: rebuiltTables.includes(table) }));
  }
  const sequence = { live: await checkpointIn(db, live, projector), rebuilt: await checkpointIn(db, rebuilt, projector) };
  const auditTip = { live: await auditTipOf(db, live), rebuilt: await auditTipOf(db, rebuilt) };
  const tipsEqual = auditTip.live?.sequence === auditTip.rebuilt?.sequence && auditTip.live?.hash === auditTip.rebuilt?.hash;
  return {
    equal: tables.every((t) => t.equal) && tipsEqual && sequence.live === sequence.rebuilt,
    liveSchema: live,
    rebuiltSchema: rebuilt,
    sequence,
    auditTip,
    tables,
  };
}

// ---------------------------------------------------------------------------------------------
// Swap

/** Catches the rebuilt schema up from its checkpoint to `to`, through `manager` (its search_path is the rebuilt schema). */
export type CatchUp = (manager: EntityManager, from: number, to: number) => Promise<void>;

export interface SwapOptions {
  readonly live: string;
  readonly rebuilt: string;
  /** The name the live schema is kept under. */
  readonly previous: string;
  readonly projector: string;
  readonly catchUp: CatchUp;
}

export type SwapOutcome =
  | { readonly swapped: true; readonly comparison: ProjectionComparison; readonly previousSchema: string; readonly recreatedViews: readonly string[]; readonly sequence: number }
  | { readonly swapped: false; readonly comparison: ProjectionComparison; readonly reason: string };

interface DependentView {
  readonly schema: string;
  readonly name: string;
  readonly kind: string;
  readonly definition: string;
}

/** Views outside both schemas that read live tables: they hold the tables' OIDs, so they follow a rename. */
async function dependentViews(db: SqlRunner, live: string, rebuilt: string): Promise<DependentView[]> {
  // Definitions printed with an empty search_path name every table with its schema (`public.plugins`),
  // so after the rename the same text reads the rebuilt tables, which then carry the live name.
  await db.query(`SET LOCAL search_path TO ''`);
  const rows = (await db.query(
    `SELECT DISTINCT vn.nspname AS schema, v.relname AS name, v.relkind AS kind, pg_get_viewdef(v.oid) AS definition, v.oid::bigint AS oid
       FROM pg_depend d
       JOIN pg_rewrite r ON r.oid = d.objid
       JOIN pg_class v ON v.oid = r.ev_class
       JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
        AND tn.nspname = $1 AND vn.nspname NOT IN ($1, $2) AND v.oid <> t.oid
      ORDER BY oid`,
    [live, rebuilt],
  )) as (DependentView & { oid: string })[];
  return rows.map(({ schema, name, kind, definition }) => ({ schema, name, kind, definition }));
}

/** Grants on the live schema and its tables and sequences, given again on the rebuilt ones (roles a deployment added). */
async function copyGrants(db: SqlRunner, live: string, rebuilt: string): Promise<void> {
  const relations = (await db.query(
    `SELECT c.relname AS name, c.relkind AS kind, a.privilege_type AS privilege, a.is_grantable AS grantable,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
      WHERE n.nspname = $1 AND c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'S', 'v')
        AND a.grantee <> c.relowner
        AND EXISTS (SELECT 1 FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace WHERE n2.nspname = $2 AND c2.relname = c.relname)`,
    [live, rebuilt],
  )) as { name: string; kind: string; privilege: string; grantable: boolean; grantee: string }[];
  for (const g of relations) {
    const object = `${g.kind === 'S' ? 'SEQUENCE' : 'TABLE'} ${quoteName(rebuilt)}.${quoteName(g.name)}`;
    await db.query(`GRANT ${g.privilege} ON ${object} TO ${g.grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
  const schemaGrants = (await db.query(
    `SELECT a.privilege_type AS privilege, a.is_grantable AS grantable,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
       FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = $1 AND n.nspacl IS NOT NULL AND a.grantee <> n.nspowner`,
    [live],
  )) as { privilege: string; grantable: boolean; grantee: string }[];
  for (const g of schemaGrants) {
    await db.query(`GRANT ${g.privilege} ON SCHEMA ${quoteName(rebuilt)} TO ${g.grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
}

/**
 * Makes the rebuilt schema the live one, in one transaction on `ds`:
 * 1. lock the live projector's checkpoint row (an event being projected finishes first; the next one
 *    waits), then every other live table in ACCESS EXCLUSIVE mode, so readers wait for the swap and then,
 *    since PostgreSQL looks a name up again after waiting for a lock, read the renamed tables;
 * 2. catch the rebuilt schema up to the live checkpoint (`catchUp`, in this transaction);
 * 3. compare again; unequal → roll back and answer why;
 * 4. give the rebuilt tables the live tables' grants, remove the projector's row from the live checkpoint
 *    table (a projector waiting for that row then finds none, and takes the rebuilt one's), rename
 *    live → `previous` and rebuilt → the live name, and recreate each view of another schema that read
 *    the live tables from its definition.
 * Triggers, indexes and owned sequences belong to their tables and move with them.
 */
export async function swapProjectionSchemas(ds: DataSource, options: SwapOptions): Promise<SwapOutcome> {
  const { live, rebuilt, previous, projector } = options;
  for (const name of [live, rebuilt, previous]) quoteName(name);
  return ds.transaction(async (manager) => {
    await manager.query(`SET LOCAL search_path TO ${quoteName(live)}`);
    // The row first: a projector waiting for it holds a share lock on its table, so that table is never locked whole.
    const liveSequence = await lockCheckpoint(manager, projector);
    for (const table of await tablesOf(manager, live)) {
      if (table === 'projection_checkpoint') continue;
      await manager.query(`LOCK TABLE ${quoteName(live)}.${quoteName(table)} IN ACCESS EXCLUSIVE MODE`);
    }

    await manager.query(`SET LOCAL search_path TO ${quoteName(rebuilt)}`);
    const rebuiltSequence = await lockCheckpoint(manager, projector);
    if (rebuiltSequence > liveSequence) {
      const comparison = await compareProjectionSchemas(manager, live, rebuilt, projector);
      return { swapped: false, comparison, reason: `the rebuilt schema is at stream sequence ${rebuiltSequence}, past the live projector's ${liveSequence}` };
    }
    if (rebuiltSequence < liveSequence) await options.catchUp(manager, rebuiltSequence, liveSequence);

    const comparison = await compareProjectionSchemas(manager, live, rebuilt, projector);
    if (!comparison.equal) return { swapped: false, comparison, reason: inequalityReason(comparison) };

    const views = await dependentViews(manager, live, rebuilt);
    const materialized = views.filter((v) => v.kind !== 'v');
    if (materialized.length) {
      return {
        swapped: false,
        comparison,
        reason: `materialized views read the live tables and cannot be re-pointed in place: ${materialized.map((v) => `${v.schema}.${v.name}`).join(', ')}`,
      };
    }
    await copyGrants(manager, live, rebuilt);
    await manager.query(`DELETE FROM ${quoteName(live)}.projection_checkpoint WHERE projector = $1`, [projector]);
    await manager.query(`ALTER SCHEMA ${quoteName(live)} RENAME TO ${quoteName(previous)}`);
    await manager.query(`ALTER SCHEMA ${quoteName(rebuilt)} RENAME TO ${quoteName(live)}`);
    // CREATE OR REPLACE keeps each view's identity, owner and grants, and the views built on it.
    for (const view of views) {
      await manager.query(`CREATE OR REPLACE VIEW ${quoteIdent(view.schema)}.${quoteIdent(view.name)} AS ${view.definition}`);
    }
    return { swapped: true, comparison, previousSchema: previous, recreatedViews: views.map((v) => `${v.schema}.${v.name}`), sequence: liveSequence };
  });
}

/** Why a comparison is not equal, in one sentence. */
export function inequalityReason(comparison: ProjectionComparison): string {
  const tables = comparison.tables.filter((t) => !t.equal).map((t) => t.table);
  if (tables.length) return `the rebuilt projections differ from the live ones in ${tables.join(', ')}`;
  if (comparison.sequence.live !== comparison.sequence.rebuilt) {
    return `the live projector is at stream sequence ${comparison.sequence.live}, the rebuilt schema at ${comparison.sequence.rebuilt}`;
  }
  return 'the audit chain tips differ';
}

// View schemas and names belong to other parts of the product: quote whatever they are.
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
