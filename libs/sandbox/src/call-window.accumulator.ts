import hdr from 'hdr-histogram-js';

/** One finished call as the window counts it. */
export interface CallSample {
  readonly tenant: string;
  readonly plugin: string;
  /** Absent when the call was refused before a version was chosen. */
  readonly version?: string;
  readonly environment: string;
  readonly principal: string;
  /** The error code the caller received; absent for a success. */
  readonly code?: string;
  /** Absent when the call never ran in the sandbox. */
  readonly durationMs?: number;
  readonly fuelUsed?: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** The summary of one group of one window: the data of an `invocations_recorded` event but its window. */
export interface CallGroupSummary {
  readonly tenant: string;
  readonly plugin: string;
  readonly version?: string;
  readonly environment: string;
  readonly principal: string;
  readonly count: number;
  readonly failures: Record<string, number>;
  readonly durationMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | null;
  readonly fuelTotal: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

// Durations are recorded in microseconds from 1 µs to one hour with 3 significant digits (0.1 %);
// `packed` buckets keep a sparse histogram at a few KiB instead of ~70 KiB per group.
const MICROS_PER_MS = 1000;
const HIGHEST_MICROS = 3600 * 1_000_000;

class Group {
  count = 0;
  readonly failures: Record<string, number> = {};
  fuelTotal = 0;
  bytesIn = 0;
  bytesOut = 0;
  private histogram?: hdr.Histogram;

  constructor(readonly sample: CallSample) {}

  add(s: CallSample): void {
    this.count++;
    if (s.code !== undefined) this.failures[s.code] = (this.failures[s.code] ?? 0) + 1;
    if (s.fuelUsed !== undefined) this.fuelTotal += s.fuelUsed;
    this.bytesIn += s.bytesIn;
    this.bytesOut += s.bytesOut;
    if (s.durationMs !== undefined) {
      this.histogram ??= hdr.build({ bitBucketSize: 'packed', lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROS, numberOfSignificantValueDigits: 3, useWebAssembly: false });
      this.histogram.recordValue(Math.min(HIGHEST_MICROS, Math.max(1, Math.round(s.durationMs * MICROS_PER_MS))));
    }
  }

  summary(): CallGroupSummary {
    const { tenant, plugin, version, environment, principal } = this.sample;
    const h = this.histogram;
    return {
      tenant,
      plugin,
      ...(version !== undefined ? { version } : {}),
      environment,
      principal,
      count: this.count,
      failures: { ...this.failures },
      durationMs: h === undefined ? null : percentiles(h),
      fuelTotal: this.fuelTotal,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

function sameGroup(a: CallSample, b: CallSample): boolean {
  return a.tenant === b.tenant && a.plugin === b.plugin && a.version === b.version && a.environment === b.environment && a.principal === b.principal;
}

// A percentile is the highest value of its bucket, which can lie above the largest value recorded: capped there.
function percentiles(h: hdr.Histogram): { p50: number; p95: number; p99: number; max: number } {
  const max = h.maxValue;
  const at = (p: number) => Math.min(h.getValueAtPercentile(p), max) / MICROS_PER_MS;
  return { p50: at(50), p95: at(95), p99: at(99), max: max / MICROS_PER_MS };
}

/**
 * The calls of one window, grouped by (tenant, plugin, version, environment, caller): counts,
 * failures by code, duration percentiles (HdrHistogram, 0.1 % precision), fuel and bytes. No clock
 * and no I/O: the runner opens, fills and closes it.
 */
export class CallWindowAccumulator {
  private readonly groups = new Map<string, Group>();
  private last?: Group;

  add(sample: CallSample): void {
    // Calls come in runs of the same caller and plugin: the group of the previous call is checked first.
    const last = this.last;
    if (last !== undefined && sameGroup(last.sample, sample)) {
      last.add(sample);
      return;
    }
    const key = `${sample.tenant}\u0000${sample.plugin}\u0000${sample.version ?? ''}\u0000${sample.environment}\u0000${sample.principal}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new Group(sample);
      this.groups.set(key, group);
    }
    this.last = group;
    group.add(sample);
  }

  get size(): number {
    return this.groups.size;
  }

  /** Every group's summary, in a stable order (so a window's parts are numbered the same on a retry). */
  summaries(): CallGroupSummary[] {
    return [...this.groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g.summary());
  }
}
