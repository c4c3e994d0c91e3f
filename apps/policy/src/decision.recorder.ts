import type { CountedFailures } from '@forgeone/authz';
import { AuthenticationFailuresCountedSchema, DECISION_AGGREGATE, DecisionRecordedSchema, POLICY_EVENT_TYPES } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { Logger } from '@forgeone/telemetry';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { RecordAllows } from './policy.options.js';

export type DecisionRecord = z.input<typeof DecisionRecordedSchema>;

// Allow records are written in the background; past this many in flight the caller waits.
const MAX_IN_FLIGHT = 1024;
// Allows wait this long to be written together: one signature, one socket write and one read of
// acknowledgements for the lot instead of one each. It is also the most a crash can lose.
export const ALLOW_BATCH_WINDOW_MS = 5;
// ...or until this many are waiting, so one batch never holds the event loop for long.
const MAX_ALLOW_BATCH = 64;

/** Allows gathered to be written together. */
interface AllowWindow {
  readonly closed: Promise<void>;
  readonly close: () => void;
  readonly timer: NodeJS.Timeout;
  allows: number;
}

/**
 * Writes `decision_recorded` events (aggregate `decision`, id = the resource's tenant), and
 * `authentication_failures_counted` for failures that were counted, not recorded one by one, through
 * the event store, signed like every other event. Decisions are an append-only log with no invariant
 * to protect, so unlike aggregate appends they carry no expected sequence: concurrent decisions never
 * conflict. The event id is the decision id, so a retried write is stored once.
 */
export class DecisionRecorder {
  private readonly inFlight = new Set<Promise<void>>();
  private window?: AllowWindow;

  constructor(
    private readonly store: EventStore,
    private readonly recordAllows: RecordAllows,
    private readonly logger: Logger,
  ) {}

  /** Whether this allow decision is to be recorded (by FORGEONE_AUTHZ_RECORD_ALLOWS). */
  sampleAllow(): boolean {
    switch (this.recordAllows.mode) {
      case 'all':
        return true;
      case 'none':
        return false;
      case 'sample':
        return Math.random() < this.recordAllows.fraction;
    }
  }

  /** Records a decision and resolves once JetStream stored it (denials: the caller waits for this). */
  async record(decision: DecisionRecord, actor: string): Promise<void> {
    const data = DecisionRecordedSchema.parse(decision);
    await this.append(POLICY_EVENT_TYPES.decisionRecorded, data.decisionId, data.resource.tenant, data, actor);
  }

  /** Records the failed authentications of one source and window that were only counted. */
  async recordFailureCount(counted: CountedFailures, actor: string): Promise<void> {
    const data = AuthenticationFailuresCountedSchema.parse({
      source: counted.source,
      via: counted.via,
      windowStart: counted.windowStart.toISOString(),
      windowEnd: counted.windowEnd.toISOString(),
      count: counted.count,
      recorded: counted.recorded,
      reasons: counted.reasons,
    });
    await this.append(POLICY_EVENT_TYPES.authenticationFailuresCounted, randomUUID(), counted.tenant, data, actor);
  }

  private async append(type: string, id: string, tenant: string, data: unknown, actor: string): Promise<void> {
    await this.store.append(DECISION_AGGREGATE, tenant, [{ id, type, data, time: new Date().toISOString(), actor, tenant, subject: tenant }], {
      expectedSequence: 'any',
    });
  }

  /**
   * Records an allow without making the caller wait, unless too many are still in flight; a
   * failure is logged (the decision itself stands). The write starts once the caller's reply has
   * gone out: the allows of a {@link ALLOW_BATCH_WINDOW_MS} window are appended in one turn of the
   * event loop, so they share a signature and a socket write.
   */
  async recordInBackground(decision: DecisionRecord, actor: string): Promise<void> {
    const work = this.windowClosed()
      .then(() => this.record(decision, actor))
      .catch((error: unknown) => {
        this.logger.error({ err: error, decisionId: decision.decisionId }, 'could not record an allow decision');
      });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    if (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  // The open window, resolved when its timer fires; a full one closes on the next turn (never on
  // the caller's, whose reply has not gone out yet).
  private windowClosed(): Promise<void> {
    let window = this.window;
    if (!window) {
      let close!: () => void;
      const closed = new Promise<void>((resolve) => (close = resolve));
      const opened: AllowWindow = { closed, close, timer: setTimeout(() => this.closeWindow(opened), ALLOW_BATCH_WINDOW_MS), allows: 0 };
      window = this.window = opened;
    }
    if (++window.allows >= MAX_ALLOW_BATCH) {
      const full = window;
      clearTimeout(full.timer);
      this.window = undefined;
      setImmediate(() => this.closeWindow(full));
    }
    return window.closed;
  }

  private closeWindow(window: AllowWindow): void {
    clearTimeout(window.timer);
    if (this.window === window) this.window = undefined;
    window.close();
  }

  /** Waits for every background record (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.window) this.closeWindow(this.window);
    await Promise.allSettled([...this.inFlight]);
  }
}
