// Makes a rebuilt projection schema the live one, in one transaction, once it compares equal.
import type { DataSource, EntityManager } from 'typeorm';
import { lockCheckpoint } from '../writer/projection.writer.js';
import { quoteName, type SqlRunner } from './projection-schema.js';
import { compareProjectionSchemas, inequalityReason, tablesOf, type ProjectionComparison } from './projection-schema.comparison.js';

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

// View schemas and names belong to other parts of the product: quote whatever they are.
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
