import type { Projection, ProjectableEvent, RecordedEvent } from '../projections/projection.types.js';

/** Folds events, numbered from sequence 1, through a projection the way the writer does, without a database. */
export function replay<Row, Key extends Partial<Row>>(projection: Projection<Row, Key>, events: readonly ProjectableEvent[]): Row[] {
  const rows = new Map<string, Row>();
  events.forEach((event, i) => applyTo(rows, projection, { sequence: i + 1, event }));
  return [...rows.values()];
}

export function applyTo<Row, Key extends Partial<Row>>(rows: Map<string, Row>, projection: Projection<Row, Key>, recorded: RecordedEvent): void {
  const key = projection.keyOf(recorded.event);
  if (!key) return;
  const id = JSON.stringify(key);
  const next = projection.evolve(rows.get(id) ?? null, recorded);
  if (next === null) rows.delete(id);
  else rows.set(id, next);
}
