import { createNoopMeter, type Gauge, type Meter, type UpDownCounter } from '@opentelemetry/api';
import { InProcessSeries, type BoundCounter, type BoundHistogram, type SeriesCounter, type SeriesHistogram } from './in-process.series.js';

// Seconds, from 100 µs (a cached authorisation) to 30 s (a call at its deadline).
const SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Fuel units, up to the default budget's order of magnitude and beyond.
const FUEL = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
const PLUGIN_LABELS = ['tenant', 'plugin', 'version', 'environment'] as const;
// Wasm memory grows in 64 KiB pages: 1 page to the 256 MiB cap.
const BYTES = [65_536, 131_072, 262_144, 524_288, 1_048_576, 2_097_152, 4_194_304, 8_388_608, 16_777_216, 33_554_432, 67_108_864, 134_217_728, 268_435_456];

/** What one plugin call is counted under: the installed version, never the caller or the input. */
export interface PluginCallLabels {
  readonly tenant: string;
  readonly plugin: string;
  readonly version: string;
  readonly environment: string;
}

/** How a plugin call ended, for its series. */
export interface PluginCallSample extends PluginCallLabels {
  /** `ok`, or the error code (`SANDBOX.FUEL_EXHAUSTED`, `AUTHZ.DENIED`, ...). */
  readonly outcome: string;
  readonly seconds?: number;
  readonly fuelUsed?: number;
  readonly memoryBytes?: number;
}

// Bound series kept per plugin label set (or command verb), and per outcome of one; past these a record looks its series up.
const MAX_BOUND_PLUGIN_SERIES = 2000;
const MAX_BOUND_OUTCOMES = 64;

/** The series of one installed version, bound once (each at its first record) so a call's records do no look-up. */
interface PluginSeries {
  readonly labels: readonly string[];
  readonly calls: Map<string, BoundCounter>;
  seconds?: BoundHistogram;
  fuel?: BoundHistogram;
  memory?: BoundHistogram;
}

/** Totals of the sandbox's worker pools at a scrape. */
export interface WorkerPoolTotals {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
}

/**
 * The platform's instruments, one set per process. Labels are bounded by design: command verbs and
 * routes are defined in code, outcomes are error codes, plugin labels name installed versions; no
 * label carries a token, a principal or input data.
 */
export class PlatformMetrics {
  private readonly commands: SeriesCounter;
  private readonly commandSeconds: SeriesHistogram;
  private readonly queries: SeriesCounter;
  private readonly querySeconds: SeriesHistogram;
  private readonly pluginCalls: SeriesCounter;
  private readonly pluginCallSeconds: SeriesHistogram;
  private readonly fuel: SeriesHistogram;
  private readonly memory: SeriesHistogram;
  private readonly violations: SeriesCounter;
  private readonly rejections: SeriesCounter;
  private readonly decisions: SeriesCounter;
  private readonly authzSeconds: SeriesHistogram;
  private readonly cacheLookups: SeriesCounter;
  private readonly lagEvents: Gauge;
  private readonly lagSeconds: Gauge;
  private readonly inFlight: UpDownCounter;
  private readonly redeliveries: SeriesCounter;
  private readonly signatures: SeriesCounter;
  private readonly appends: SeriesCounter;
  private readonly conflicts: SeriesCounter;
  private cacheHits = 0;
  private cacheMisses = 0;
  // tenant -> plugin -> version -> environment -> bound series (labels are bounded, see the class comment).
  private readonly pluginSeries = new Map<string, Map<string, Map<string, Map<string, PluginSeries>>>>();
  private boundPluginSeries = 0;
  private readonly commandSeries = new Map<string, { readonly seconds: BoundHistogram; readonly outcomes: Map<string, BoundCounter> }>();
  private cacheLookupHit: BoundCounter | undefined;
  private cacheLookupMiss: BoundCounter | undefined;
  /** False for the no-op set: its methods return at once, before building any label list. */
  readonly recording: boolean;

  /**
   * Counters and histograms live in `series` (aggregated in-process, read at each scrape: the per-call
   * path pays no attribute hashing); gauges and up-down counters stay on `meter`.
   */
  constructor(
    readonly meter: Meter,
    series: InProcessSeries = new InProcessSeries('forgeone', false),
  ) {
    this.recording = series.enabled;
    const seconds = (description: string) => ({ unit: 's', description, boundaries: SECONDS });
    this.commands = series.counter('forgeone_commands', 'Bus commands answered, by verb and outcome code', ['verb', 'outcome']);
    this.commandSeconds = series.histogram('forgeone_command_duration_seconds', seconds('Time to answer a bus command'), ['verb']);
    this.queries = series.counter('forgeone_queries', 'HTTP queries answered by the gateway, by route and outcome code', ['route', 'outcome']);
    this.querySeconds = series.histogram('forgeone_query_duration_seconds', seconds('Time to answer an HTTP query'), ['route']);
    this.pluginCalls = series.counter('forgeone_plugin_calls', 'Plugin invocations by plugin, version, environment and outcome', [...PLUGIN_LABELS, 'outcome']);
    this.pluginCallSeconds = series.histogram('forgeone_plugin_call_duration_seconds', seconds('Time of a plugin invocation in the sandbox'), PLUGIN_LABELS);
    this.fuel = series.histogram('forgeone_plugin_fuel_used', { description: 'Fuel used per plugin call', boundaries: FUEL }, PLUGIN_LABELS);
    this.memory = series.histogram(
      'forgeone_plugin_memory_high_water_bytes',
      { unit: 'By', description: 'Linear memory size at the end of a plugin call (memory never shrinks, so this is its high-water mark)', boundaries: BYTES },
      PLUGIN_LABELS,
    );
    this.violations = series.counter('forgeone_sandbox_violations', 'Sandbox limit and capability violations by kind', ['kind']);
    this.rejections = series.counter('forgeone_worker_rejections', 'Plugin calls refused because the worker pool and its queue were full');
    this.decisions = series.counter('forgeone_authz_decisions', 'Authorisation decisions by effect', ['effect']);
    this.authzSeconds = series.histogram('forgeone_authz_check_duration_seconds', seconds('Time of an authorisation check'));
    this.cacheLookups = series.counter('forgeone_authz_cache_lookups', 'Decision cache look-ups by result (hit, miss)', ['result']);
    meter
      .createObservableGauge('forgeone_authz_cache_hit_ratio', { description: 'Decision cache hits over look-ups since start' })
      .addCallback((r) => {
        const total = this.cacheHits + this.cacheMisses;
        if (total > 0) r.observe(this.cacheHits / total);
      });
    this.lagEvents = meter.createGauge('forgeone_consumer_lag_events', { description: 'Events pending for the consumer (stored, not yet delivered to it) when it last handled one' });
    this.lagSeconds = meter.createGauge('forgeone_consumer_lag_seconds', { unit: 's', description: 'Age of the last event handled while more were waiting (0 when caught up)' });
    this.inFlight = meter.createUpDownCounter('forgeone_consumer_in_flight', { description: 'Events delivered to the consumer and not yet handled' });
    this.redeliveries = series.counter('forgeone_consumer_redeliveries', 'Events delivered to a consumer more than once', ['consumer']);
    this.signatures = series.counter('forgeone_signature_verifications', 'Signature verifications by result and reason', ['stage', 'result', 'reason']);
    this.appends = series.counter('forgeone_event_appends', 'Events appended to the stream, by outcome (appended, duplicate, conflict)', ['aggregate', 'outcome']);
    this.conflicts = series.counter('forgeone_event_append_conflicts', 'Appends refused because the aggregate moved on (optimistic concurrency)', ['aggregate']);
  }

  /** A bus command answered: `outcome` is `ok` or its error code. */
  command(verb: string, outcome: string, seconds: number): void {
    if (!this.recording) return;
    // Verbs are the responders' patterns and outcomes error codes: both bounded, so bound once each.
    let series = this.commandSeries.get(verb);
    if (series === undefined) {
      if (this.commandSeries.size >= MAX_BOUND_PLUGIN_SERIES) {
        this.commands.add(1, [verb, outcome]);
        this.commandSeconds.record(seconds, [verb]);
        return;
      }
      series = { seconds: this.commandSeconds.bind([verb]), outcomes: new Map() };
      this.commandSeries.set(verb, series);
    }
    let count = series.outcomes.get(outcome);
    if (count === undefined) {
      if (series.outcomes.size < MAX_BOUND_OUTCOMES) series.outcomes.set(outcome, (count = this.commands.bind([verb, outcome])));
      else this.commands.add(1, [verb, outcome]);
    }
    count?.add(1);
    series.seconds.record(seconds);
  }

  /** An HTTP query answered: `route` is the contract's operation id. */
  query(route: string, outcome: string, seconds: number): void {
    if (!this.recording) return;
    this.queries.add(1, [route, outcome]);
    this.querySeconds.record(seconds, [route]);
  }

  pluginCall(sample: PluginCallSample): void {
    if (!this.recording) return;
    const series = this.seriesOf(sample);
    if (series === undefined) {
      const labels = [sample.tenant, sample.plugin, sample.version, sample.environment];
      this.pluginCalls.add(1, [sample.tenant, sample.plugin, sample.version, sample.environment, sample.outcome]);
      if (sample.seconds !== undefined) this.pluginCallSeconds.record(sample.seconds, labels);
      if (sample.fuelUsed !== undefined) this.fuel.record(sample.fuelUsed, labels);
      if (sample.memoryBytes !== undefined) this.memory.record(sample.memoryBytes, labels);
      return;
    }
    let calls = series.calls.get(sample.outcome);
    if (calls === undefined) {
      if (series.calls.size < MAX_BOUND_OUTCOMES) {
        calls = this.pluginCalls.bind([...series.labels, sample.outcome]);
        series.calls.set(sample.outcome, calls);
      } else {
        this.pluginCalls.add(1, [...series.labels, sample.outcome]);
      }
    }
    calls?.add(1);
    if (sample.seconds !== undefined) (series.seconds ??= this.pluginCallSeconds.bind(series.labels)).record(sample.seconds);
    if (sample.fuelUsed !== undefined) (series.fuel ??= this.fuel.bind(series.labels)).record(sample.fuelUsed);
    if (sample.memoryBytes !== undefined) (series.memory ??= this.memory.bind(series.labels)).record(sample.memoryBytes);
  }

  // One Map per label, walked with the label strings themselves (no key built per call); undefined past the cap.
  private seriesOf(sample: PluginCallLabels): PluginSeries | undefined {
    let byPlugin = this.pluginSeries.get(sample.tenant);
    let byVersion = byPlugin?.get(sample.plugin);
    let byEnvironment = byVersion?.get(sample.version);
    const found = byEnvironment?.get(sample.environment);
    if (found !== undefined || this.boundPluginSeries >= MAX_BOUND_PLUGIN_SERIES) return found;
    if (byPlugin === undefined) this.pluginSeries.set(sample.tenant, (byPlugin = new Map()));
    if (byVersion === undefined) byPlugin.set(sample.plugin, (byVersion = new Map()));
    if (byEnvironment === undefined) byVersion.set(sample.version, (byEnvironment = new Map()));
    const series: PluginSeries = { labels: [sample.tenant, sample.plugin, sample.version, sample.environment], calls: new Map() };
    byEnvironment.set(sample.environment, series);
    this.boundPluginSeries++;
    return series;
  }

  /** A limit that ended a call (`fuel`, `memory`, `timeout`, ...) or a refused capability. */
  violation(kind: string): void {
    if (!this.recording) return;
    this.violations.add(1, [kind]);
  }

  workerRejection(): void {
    if (!this.recording) return;
    this.rejections.add(1);
  }

  /** Reports the pools' size, busy workers and queue depth at each scrape. */
  observeWorkerPools(read: () => WorkerPoolTotals): void {
    const size = this.meter.createObservableGauge('forgeone_worker_pool_size', { description: 'Worker threads running plugin code' });
    const busy = this.meter.createObservableGauge('forgeone_worker_pool_busy', { description: 'Worker threads running a call' });
    const queued = this.meter.createObservableGauge('forgeone_worker_queue_depth', { description: 'Calls waiting for a worker' });
    this.meter.addBatchObservableCallback(
      (r) => {
        const totals = read();
        r.observe(size, totals.workers);
        r.observe(busy, totals.busy);
        r.observe(queued, totals.queued);
      },
      [size, busy, queued],
    );
  }

  /** A decision policy made (not served from a cache); a credential it did not accept is `unauthenticated`. */
  authzDecision(effect: 'allow' | 'deny' | 'unauthenticated', seconds: number): void {
    if (!this.recording) return;
    this.decisions.add(1, [effect]);
    this.authzSeconds.record(seconds);
  }

  authzCacheLookup(hit: boolean): void {
    if (!this.recording) return;
    if (hit) {
      this.cacheHits++;
      (this.cacheLookupHit ??= this.cacheLookups.bind(['hit'])).add(1);
    } else {
      this.cacheMisses++;
      (this.cacheLookupMiss ??= this.cacheLookups.bind(['miss'])).add(1);
    }
  }

  /** A consumer handled an event; `pending` more are in the stream for it. */
  consumerProgress(consumer: string, pending: number, storedAtMs: number, nowMs: number): void {
    if (!this.recording) return;
    this.lagEvents.record(pending, { consumer });
    this.lagSeconds.record(pending === 0 ? 0 : Math.max(0, (nowMs - storedAtMs) / 1000), { consumer });
  }

  consumerDelivered(consumer: string, deliveryCount: number): void {
    if (!this.recording) return;
    this.inFlight.add(1, { consumer });
    if (deliveryCount > 1) this.redeliveries.add(1, [consumer]);
  }

  consumerSettled(consumer: string): void {
    if (!this.recording) return;
    this.inFlight.add(-1, { consumer });
  }

  /** A signature check at `stage` (publish, install, runner, ...): `reason` is `ok` or its SIGNATURE.* code. */
  signature(stage: string, valid: boolean, reason: string): void {
    if (!this.recording) return;
    this.signatures.add(1, [stage, valid ? 'valid' : 'invalid', reason]);
  }

  /** Events of one aggregate type appended (new or recognised duplicates), or an append refused on a conflict. */
  eventAppend(aggregate: string, outcome: 'appended' | 'duplicate' | 'conflict', count = 1): void {
    if (!this.recording || count <= 0) return;
    this.appends.add(count, [aggregate, outcome]);
    if (outcome === 'conflict') this.conflicts.add(count, [aggregate]);
  }
}

// What a process without a metrics port records with, and what a paused endpoint switches to.
const NOT_RECORDING = new PlatformMetrics(createNoopMeter());
let current = NOT_RECORDING;

/**
 * The process's instruments: no-ops until {@link startMetrics} runs, so code can record
 * unconditionally and a process without a metrics port pays next to nothing.
 */
export function platformMetrics(): PlatformMetrics {
  return current;
}

/** @internal Swaps the instrument set (startMetrics, its pause and its shutdown); undefined means no-ops. */
export function usePlatformMetrics(instruments: PlatformMetrics | undefined): void {
  current = instruments ?? NOT_RECORDING;
}
