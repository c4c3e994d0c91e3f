import { INVOCATION_EVENT_TYPES, type InvocationsRecorded } from '@forgeone/contracts';
import { iso, num, type TableProjection } from './table-projection.types.js';

/** One part of one runner's call window: what `invocations_recorded` said, once. */
export interface CallWindowRow extends Record<string, unknown> {
  readonly runner: string;
  readonly window_sequence: number;
  readonly part: number;
  readonly parts: number;
  readonly tenant: string;
  readonly plugin: string;
  readonly version: string | null;
  readonly environment: string;
  readonly principal: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly calls: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly duration_p50_ms: number | null;
  readonly duration_p95_ms: number | null;
  readonly duration_p99_ms: number | null;
  readonly duration_max_ms: number | null;
  readonly fuel_total: number;
  readonly bytes_in: number;
  readonly bytes_out: number;
  readonly sequence: number;
}

export const callWindowsProjection: TableProjection<CallWindowRow> = {
  name: 'call-windows',
  table: 'call_windows',

  keyOf({ event }) {
    if (event.type !== INVOCATION_EVENT_TYPES.invocationsRecorded) return null;
    const { window } = (event.data as InvocationsRecorded['data']);
    return { runner: window.runner, window_sequence: window.sequence, part: window.part };
  },

  // A part is written once: a second event claiming the same runner, number and part changes nothing.
  evolve(row, { sequence, event }) {
    if (row) return row;
    const d = event.data as InvocationsRecorded['data'];
    return {
      runner: d.window.runner,
      window_sequence: d.window.sequence,
      part: d.window.part,
      parts: d.window.parts,
      tenant: d.tenant,
      plugin: d.plugin,
      version: d.version ?? null,
      environment: d.environment,
      principal: d.principal,
      window_start: iso(d.window.start),
      window_end: iso(d.window.end),
      calls: d.count,
      failed: Object.values(d.failures).reduce((a, b) => a + b, 0),
      failures: d.failures,
      duration_p50_ms: d.durationMs?.p50 ?? null,
      duration_p95_ms: d.durationMs?.p95 ?? null,
      duration_p99_ms: d.durationMs?.p99 ?? null,
      duration_max_ms: d.durationMs?.max ?? null,
      fuel_total: d.fuelTotal,
      bytes_in: d.bytesIn,
      bytes_out: d.bytesOut,
      sequence,
    };
  },

  fromDb(raw) {
    const n = (v: unknown) => (v === null ? null : num(v));
    return {
      ...(raw as unknown as CallWindowRow),
      window_sequence: num(raw.window_sequence),
      window_start: iso(raw.window_start),
      window_end: iso(raw.window_end),
      duration_p50_ms: n(raw.duration_p50_ms),
      duration_p95_ms: n(raw.duration_p95_ms),
      duration_p99_ms: n(raw.duration_p99_ms),
      duration_max_ms: n(raw.duration_max_ms),
      fuel_total: num(raw.fuel_total),
      bytes_in: num(raw.bytes_in),
      bytes_out: num(raw.bytes_out),
      sequence: num(raw.sequence),
    };
  },
};
