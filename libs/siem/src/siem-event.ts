import type { CloudEvent } from '@forgeone/contracts';

/** One verified event of the stream as the forwarder hands it to a sink's format. */
export interface SiemEvent {
  /** Its stream sequence: the position a sink's checkpoint records. */
  readonly sequence: number;
  readonly event: CloudEvent;
}

/** The fields of an event's data that are worth a field of their own in a SIEM (plugin, reason, notes...). */
export function dataField(event: CloudEvent, ...keys: string[]): string | undefined {
  const data = event.data;
  if (!data || typeof data !== 'object') return undefined;
  for (const key of keys) {
    const value = (data as Record<string, unknown>)[key];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}
