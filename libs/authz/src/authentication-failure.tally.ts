/** Who a failed authentication came from: the client as reported, and the service that asked. */
export interface FailureOrigin {
  /** The client as the asking service reported it (`http 203.0.113.7`), or `bus`. */
  readonly source: string;
  /** The ForgeOne service that asked (`service.gateway`). */
  readonly via: string;
}

/** The failures of one source, tenant and window that were counted instead of recorded one by one. */
export interface CountedFailures extends FailureOrigin {
  readonly tenant: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly count: number;
  /** How many failures of this source (any tenant) were recorded one by one in the window. */
  readonly recorded: number;
  readonly reasons: Readonly<Record<string, number>>;
}

export interface AuthenticationFailureTallyOptions {
  readonly windowMs: number;
  /** Failures of one source recorded one by one per window; the rest are counted. */
  readonly recordedPerSource: number;
  /** Failures recorded one by one per window over all sources (default 20 × recordedPerSource). */
  readonly recordedPerWindow?: number;
  /** Distinct sources (and tenants) tracked per window; the rest share one `other sources` count (default 1000). */
  readonly maxSources?: number;
  /** The tenant the `other sources` count is recorded under. */
  readonly overflowTenant: string;
  /** Milliseconds clock, for tests. */
  readonly now?: () => number;
}

/** Source name of the count that gathers every source past the tracking bound. */
export const OTHER_SOURCES = 'other sources';

interface Count {
  readonly origin: FailureOrigin;
  readonly tenant: string;
  count: number;
  readonly reasons: Map<string, number>;
}

/**
 * Decides which failed authentications are recorded one by one and counts the others, per source
 * and fixed window, so that a flood of bad credentials writes a bounded number of events: per
 * window at most `recordedPerWindow` single records plus one count per source and tenant tracked
 * (`maxSources`, then one more for all the rest), however many requests and however many sources
 * a caller claims. Hand-written rather than a rate-limiter library because the count of what was
 * not recorded must itself be reported when the window closes, which limiters do not keep.
 */
export class AuthenticationFailureTally {
  private readonly now: () => number;
  private readonly recordedPerWindow: number;
  private readonly maxSources: number;
  private windowStart: number;
  private recordedTotal = 0;
  private readonly recordedBySource = new Map<string, number>();
  private readonly counts = new Map<string, Count>();
  private readonly closed: CountedFailures[] = [];

  constructor(private readonly options: AuthenticationFailureTallyOptions) {
    if (!Number.isInteger(options.windowMs) || options.windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${options.windowMs}`);
    this.now = options.now ?? Date.now;
    this.recordedPerWindow = options.recordedPerWindow ?? 20 * options.recordedPerSource;
    this.maxSources = options.maxSources ?? 1000;
    this.windowStart = this.startOf(this.now());
  }

  /** The length of one window, in ms. */
  get windowMs(): number {
    return this.options.windowMs;
  }

  /** Whether this failure is to be recorded one by one (`record`) or only counted (`count`). */
  admit(origin: FailureOrigin, tenant: string, reason: string): 'record' | 'count' {
    this.roll();
    const sourceKey = `${origin.via}\u0000${origin.source}`;
    const recorded = this.recordedBySource.get(sourceKey) ?? 0;
    if (recorded < this.options.recordedPerSource && this.recordedTotal < this.recordedPerWindow && (recorded > 0 || this.recordedBySource.size < this.maxSources)) {
      this.recordedBySource.set(sourceKey, recorded + 1);
      this.recordedTotal++;
      return 'record';
    }
    let key = `${tenant}\u0000${sourceKey}`;
    let count = this.counts.get(key);
    if (count === undefined && this.counts.size >= this.maxSources) {
      key = OTHER_SOURCES;
      count = this.counts.get(key);
      origin = { source: OTHER_SOURCES, via: 'any' };
      tenant = this.options.overflowTenant;
    }
    if (count === undefined) {
      count = { origin: { source: origin.source, via: origin.via }, tenant, count: 0, reasons: new Map() };
      this.counts.set(key, count);
    }
    count.count++;
    count.reasons.set(reason, (count.reasons.get(reason) ?? 0) + 1);
    return 'count';
  }

  /** Takes the counts of the windows that have ended (and of the current one too with `all`, at shutdown). */
  drain(all = false): CountedFailures[] {
    this.roll();
    if (all) this.close(Math.min(this.now(), this.windowStart + this.options.windowMs));
    return this.closed.splice(0);
  }

  private roll(): void {
    const current = this.startOf(this.now());
    if (current === this.windowStart) return;
    this.close(this.windowStart + this.options.windowMs);
    this.windowStart = current;
  }

  private close(end: number): void {
    for (const count of this.counts.values()) {
      const sourceKey = `${count.origin.via}\u0000${count.origin.source}`;
      this.closed.push({
        ...count.origin,
        tenant: count.tenant,
        windowStart: new Date(this.windowStart),
        windowEnd: new Date(end),
        count: count.count,
        recorded: this.recordedBySource.get(sourceKey) ?? 0,
        reasons: Object.fromEntries(count.reasons),
      });
    }
    this.counts.clear();
    this.recordedBySource.clear();
    this.recordedTotal = 0;
  }

  private startOf(time: number): number {
    return Math.floor(time / this.options.windowMs) * this.options.windowMs;
  }
}
