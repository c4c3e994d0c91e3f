import type { CloudEvent } from '@forgeone/contracts';

/** Any catalogued event with the stream sequence it was stored at, its data parsed by its schema. */
export interface StreamRecord {
  readonly sequence: number;
  readonly event: CloudEvent;
}

/**
 * A read-model table written as a fold over any event family, rows named by their columns:
 * `keyOf` names the row an event touches (null: not this table's event), `evolve(row | null,
 * record)` returns the new row (the same row: nothing to write; null: delete), and `fromDb` reads a
 * row as pg answers it (bigints as strings, dates as Date). All three are pure.
 */
export interface TableProjection<Row extends Record<string, unknown>> {
  readonly name: string;
  readonly table: string;
  keyOf(record: StreamRecord): Partial<Row> | null;
  evolve(row: Row | null, record: StreamRecord): Row | null;
  fromDb(raw: Record<string, unknown>): Row;
}

/** A bigint or numeric column as a number (pg answers them as strings). */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A `date` column as `YYYY-MM-DD` (pg answers it as a local-midnight Date). */
export function day(value: unknown): string {
  if (!(value instanceof Date)) return String(value);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
}

/** A timestamptz column as a UTC ISO string. */
export function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}
