import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';

/** A counter whose series are looked up by label values in the order the counter was declared with. */
export interface SeriesCounter {
  add(value: number, labelValues?: readonly string[]): void;
  /** The series of one label set, found once: its `add` does no look-up. */
  bind(labelValues: readonly string[]): BoundCounter;
}

/** A histogram with explicit buckets, looked up like {@link SeriesCounter}. */
export interface SeriesHistogram {
  record(value: number, labelValues?: readonly string[]): void;
  /** The series of one label set, found once: its `record` does no look-up. */
  bind(labelValues: readonly string[]): BoundHistogram;
}

export interface BoundCounter {
  add(value: number): void;
}

export interface BoundHistogram {
  record(value: number): void;
}

interface HistogramOptions {
  readonly description: string;
  readonly unit?: string;
  /** Inclusive upper bounds, ascending; values above the last fall in `+Inf`. */
  readonly boundaries: readonly number[];
}

// The SDK's own default: 2000 series per instrument, the last of them the overflow series new label sets share.
const REGULAR_SERIES = 2000 - 1;
const OVERFLOW: Attributes = Object.freeze({ 'otel.metric.overflow': true });
const NO_LABELS: readonly string[] = [];

function nowHrTime(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

/**
 * A series per label set, found by walking one Map level per label value. The SDK's sync
 * instruments hash each record's attribute object (sorted keys, JSON.stringify) per instrument;
 * walking Maps keyed by the label strings themselves costs a fraction of that on the hot path.
 */
class SeriesTable<T> {
  private readonly root = new Map<string, unknown>();
  readonly cells: { readonly attributes: Attributes; readonly startTime: HrTime; readonly state: T }[] = [];
  private overflow: T | undefined;

  constructor(
    private readonly labelNames: readonly string[],
    private readonly create: () => T,
  ) {}

  find(labelValues: readonly string[]): T {
    if (labelValues.length !== this.labelNames.length) {
      throw new Error(`expected ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${labelValues.length}`);
    }
    if (labelValues.length === 0) return (this.cells[0] ?? this.add(labelValues)).state;
    let node = this.root;
    const last = labelValues.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(labelValues[i]) as Map<string, unknown> | undefined;
      if (next === undefined) {
        if (this.cells.length >= REGULAR_SERIES) return this.overflowState();
        next = new Map();
        node.set(labelValues[i], next);
      }
      node = next;
    }
    const found = node.get(labelValues[last]) as T | undefined;
    if (found !== undefined) return found;
    if (this.cells.length >= REGULAR_SERIES) return this.overflowState();
    const state = this.add(labelValues).state;
    node.set(labelValues[last], state);
    return state;
  }

  private add(labelValues: readonly string[]) {
    const attributes: Attributes = {};
    for (let i = 0; i < labelValues.length; i++) attributes[this.labelNames[i]] = labelValues[i];
    const cell = { attributes: Object.freeze(attributes), startTime: nowHrTime(), state: this.create() };
    this.cells.push(cell);
    return cell;
  }

  private overflowState(): T {
    if (this.overflow === undefined) {
      this.overflow = this.create();
      this.cells.push({ attributes: OVERFLOW, startTime: nowHrTime(), state: this.overflow });
    }
    return this.overflow;
  }
}

class Counter implements SeriesCounter {
  readonly table: SeriesTable<{ value: number }>;

  constructor(
    readonly name: string,
    readonly description: string,
    labelNames: readonly string[],
  ) {
    this.table = new SeriesTable(labelNames, () => ({ value: 0 }));
  }

  add(value: number, labelValues: readonly string[] = NO_LABELS): void {
    // As the SDK's counter: a negative or non-numeric increment is not a count.
    if (!(value >= 0)) return;
    this.table.find(labelValues).value += value;
  }

  bind(labelValues: readonly string[]): BoundCounter {
    const state = this.table.find(labelValues);
    return {
      add: (value: number) => {
        if (value >= 0) state.value += value;
      },
    };
  }

  data(endTime: HrTime): MetricData {
    return {
      descriptor: { name: this.name, description: this.description, unit: '', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: this.table.cells.map((c): DataPoint<number> => ({ startTime: c.startTime, endTime, attributes: c.attributes, value: c.state.value })),
    };
  }
}

interface HistogramState {
  readonly counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

class HistogramSeries implements SeriesHistogram {
  readonly table: SeriesTable<HistogramState>;
  private readonly boundaries: readonly number[];

  constructor(
    readonly name: string,
    private readonly options: HistogramOptions,
    labelNames: readonly string[],
  ) {
    this.boundaries = [...options.boundaries];
    const buckets = this.boundaries.length + 1;
    this.table = new SeriesTable(labelNames, () => ({ counts: new Array<number>(buckets).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity }));
  }

  record(value: number, labelValues: readonly string[] = NO_LABELS): void {
    // As the SDK's histogram: negative values and NaN are not recorded.
    if (!(value >= 0)) return;
    recordInto(this.table.find(labelValues), this.boundaries, value);
  }

  bind(labelValues: readonly string[]): BoundHistogram {
    const state = this.table.find(labelValues);
    const boundaries = this.boundaries;
    return {
      record: (value: number) => {
        if (value >= 0) recordInto(state, boundaries, value);
      },
    };
  }

  data(endTime: HrTime): MetricData {
    const boundaries = [...this.boundaries];
    return {
      descriptor: { name: this.name, description: this.options.description, unit: this.options.unit ?? '', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: this.table.cells.map(
        (c): DataPoint<Histogram> => ({
          startTime: c.startTime,
          endTime,
          attributes: c.attributes,
          // A copy: the exporter serialises after this returns, while calls may go on being recorded.
          value: { buckets: { boundaries, counts: [...c.state.counts] }, count: c.state.count, sum: c.state.sum, min: c.state.min, max: c.state.max },
        }),
      ),
    };
  }
}

function recordInto(state: HistogramState, b: readonly number[], value: number): void {
  // Upper bounds are inclusive: the first boundary >= value (a handful of buckets: a scan is as fast as a search).
  let i = 0;
  while (i < b.length && b[i] < value) i++;
  state.counts[i]++;
  state.count++;
  state.sum += value;
  if (value < state.min) state.min = value;
  if (value > state.max) state.max = value;
}

const NOOP_BOUND_COUNTER: BoundCounter = { add: () => undefined };
const NOOP_BOUND_HISTOGRAM: BoundHistogram = { record: () => undefined };
const NOOP_COUNTER: SeriesCounter = { add: () => undefined, bind: () => NOOP_BOUND_COUNTER };
const NOOP_HISTOGRAM: SeriesHistogram = { record: () => undefined, bind: () => NOOP_BOUND_HISTOGRAM };

/**
 * Counters and histograms aggregated in this process and handed to the metrics reader at each
 * collection, as a `MetricProducer` (the exporter serialises them with the SDK's own series).
 * Built for the per-call path: a record walks Maps keyed by its label values and adds to numbers,
 * with no attribute object, hash string or clock read per record. A disabled set hands out no-ops.
 */
export class InProcessSeries implements MetricProducer {
  private readonly instruments: (Counter | HistogramSeries)[] = [];
  private readonly names = new Set<string>();

  constructor(
    private readonly scope = 'forgeone',
    readonly enabled = true,
  ) {}

  counter(name: string, description: string, labelNames: readonly string[] = NO_LABELS): SeriesCounter {
    if (!this.enabled) return NOOP_COUNTER;
    return this.register(new Counter(name, description, labelNames));
  }

  histogram(name: string, options: HistogramOptions, labelNames: readonly string[] = NO_LABELS): SeriesHistogram {
    if (!this.enabled) return NOOP_HISTOGRAM;
    const sorted = options.boundaries.every((b, i) => i === 0 || options.boundaries[i - 1] < b);
    if (!sorted) throw new Error(`histogram ${name}: bucket boundaries must ascend strictly, got ${options.boundaries.join(', ')}`);
    return this.register(new HistogramSeries(name, options, labelNames));
  }

  private register<T extends Counter | HistogramSeries>(instrument: T): T {
    if (this.names.has(instrument.name)) throw new Error(`metric ${instrument.name} is declared twice`);
    this.names.add(instrument.name);
    this.instruments.push(instrument);
    return instrument;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = nowHrTime();
    const metrics = this.instruments.filter((i) => i.table.cells.length > 0).map((i) => i.data(endTime));
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: this.scope }, metrics }] }, errors: [] };
  }
}
