import type { CloudEvent, PluginEvent } from '@forgeone/contracts';

/** A plugin event as it travels in its CloudEvents envelope, discriminated on `type`. */
export type PluginCloudEvent = {
  [T in PluginEvent['type']]: CloudEvent<T, Extract<PluginEvent, { type: T }>['data']>;
}[PluginEvent['type']];

/** Every event family the read model projects; grows as the contracts add families. */
export type ProjectableEvent = PluginCloudEvent;

/** An event with the stream sequence it was stored at: the unit a projection folds. */
export interface RecordedEvent {
  readonly sequence: number;
  readonly event: ProjectableEvent;
}

/**
 * One read-model table written as a fold: `keyOf` names the row an event touches (or null when the
 * projection ignores the event), `evolve(row | null, event)` returns the new row, or null to delete it.
 * Both are pure: no clock, no I/O.
 */
export interface Projection<Row, Key extends Partial<Row>> {
  readonly name: string;
  keyOf(event: ProjectableEvent): Key | null;
  evolve(row: Row | null, recorded: RecordedEvent): Row | null;
}

/** Event times are stored as UTC ISO strings so rows compare equal to what a query reads back. */
export function isoTime(time: string): string {
  return new Date(time).toISOString();
}
