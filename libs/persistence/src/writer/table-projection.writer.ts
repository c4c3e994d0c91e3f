import type { EntityManager } from 'typeorm';
import type { StreamRecord, TableProjection } from '../projections/table-projection.types.js';
import type { ProjectionStaging } from './projection-staging.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Folds one event into one table inside the projector's transaction: reads the row the projection
 * names (locked), evolves it, and writes the result back (upsert) or deletes it. Column names come
 * from the projection's own row type, never from event data. With `staged`, the row is folded in
 * the batch's staging instead, written when the batch ends.
 */
export async function projectTable<Row extends Record<string, unknown>>(manager: EntityManager, projection: TableProjection<Row>, record: StreamRecord, staged?: ProjectionStaging): Promise<void> {
  const key = projection.keyOf(record);
  if (key === null) return;
  if (staged) {
    await staged.foldTable(manager, projection, key as Record<string, unknown>, (row) => projection.evolve(row, record));
    return;
  }
  const keyColumns = Object.keys(key);
  for (const c of [projection.table, ...keyColumns]) if (!IDENTIFIER.test(c)) throw new Error(`projection ${projection.name}: "${c}" is not a plain identifier`);
  const where = keyColumns.map((c, i) => `${c} = $${i + 1}`).join(' AND ');
  const keyValues = keyColumns.map((c) => (key as Record<string, unknown>)[c]);
  const [raw]: Record<string, unknown>[] = await manager.query(`SELECT * FROM ${projection.table} WHERE ${where} FOR UPDATE`, keyValues);
  const current = raw === undefined ? null : projection.fromDb(raw);
  const next = projection.evolve(current, record);
  if (next === current) return;
  if (next === null) {
    await manager.query(`DELETE FROM ${projection.table} WHERE ${where}`, keyValues);
    return;
  }
  const columns = Object.keys(next);
  for (const c of columns) if (!IDENTIFIER.test(c)) throw new Error(`projection ${projection.name}: "${c}" is not a plain identifier`);
  // jsonb columns take objects as JSON text (pg would send an array as a Postgres array).
  const values = columns.map((c) => {
    const v = next[c];
    return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
  });
  const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  await manager.query(
    `INSERT INTO ${projection.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (${keyColumns.join(', ')}) ${updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'}`,
    values,
  );
}
