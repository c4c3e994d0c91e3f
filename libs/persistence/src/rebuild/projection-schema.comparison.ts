// Compares a rebuilt projection schema with the live one, table by table, and says why they differ.
import { quoteName, type SqlRunner } from './projection-schema.js';

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

// Ordinary and partitioned tables of a schema, by name: the swap locks the same set the comparison reads.
export async function tablesOf(db: SqlRunner, schema: string): Promise<string[]> {
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

/** Why a comparison is not equal, in one sentence. */
export function inequalityReason(comparison: ProjectionComparison): string {
  const tables = comparison.tables.filter((t) => !t.equal).map((t) => t.table);
  if (tables.length) return `the rebuilt projections differ from the live ones in ${tables.join(', ')}`;
  if (comparison.sequence.live !== comparison.sequence.rebuilt) {
    return `the live projector is at stream sequence ${comparison.sequence.live}, the rebuilt schema at ${comparison.sequence.rebuilt}`;
  }
  return 'the audit chain tips differ';
}
