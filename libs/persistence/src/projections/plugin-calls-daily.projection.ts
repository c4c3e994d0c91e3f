import { INVOCATION_EVENT_TYPES, type InvocationRecorded, type InvocationsRecorded } from '@forgeone/contracts';
import { day, num, type TableProjection } from './table-projection.types.js';

/** Calls and failed calls of one plugin in one environment on one UTC day, from window summaries and per-call records. */
export interface PluginCallsDailyRow extends Record<string, unknown> {
  readonly tenant: string;
  readonly plugin: string;
  readonly environment: string;
  readonly day: string;
  readonly calls: number;
  readonly failed: number;
  readonly last_sequence: number;
}

// A window is counted on the day it opened; a single call on the day it was recorded.
function counted(type: string, data: unknown, time: string): { day: string; calls: number; failed: number } | null {
  if (type === INVOCATION_EVENT_TYPES.invocationsRecorded) {
    const d = data as InvocationsRecorded['data'];
    return { day: d.window.start.slice(0, 10), calls: d.count, failed: Object.values(d.failures).reduce((a, b) => a + b, 0) };
  }
  if (type === INVOCATION_EVENT_TYPES.invocationRecorded) {
    const d = data as InvocationRecorded['data'];
    return { day: new Date(time).toISOString().slice(0, 10), calls: 1, failed: d.ok ? 0 : 1 };
  }
  return null;
}

export const pluginCallsDailyProjection: TableProjection<PluginCallsDailyRow> = {
  name: 'plugin-calls-daily',
  table: 'plugin_calls_daily',

  keyOf({ event }) {
    const c = counted(event.type, event.data, event.time);
    if (c === null) return null;
    const d = event.data as { tenant: string; plugin: string; environment: string };
    return { tenant: d.tenant, plugin: d.plugin, environment: d.environment, day: c.day };
  },

  evolve(row, { sequence, event }) {
    const c = counted(event.type, event.data, event.time);
    if (c === null) return row;
    // Idempotent on the stream sequence: a redelivered event counts once.
    if (row && sequence <= row.last_sequence) return row;
    const d = event.data as { tenant: string; plugin: string; environment: string };
    return {
      tenant: d.tenant,
      plugin: d.plugin,
      environment: d.environment,
      day: c.day,
      calls: (row?.calls ?? 0) + c.calls,
      failed: (row?.failed ?? 0) + c.failed,
      last_sequence: sequence,
    };
  },

  fromDb(raw) {
    return { ...(raw as unknown as PluginCallsDailyRow), day: day(raw.day), calls: num(raw.calls), failed: num(raw.failed), last_sequence: num(raw.last_sequence) };
  },
};
