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

/**
 * Writes `decision_recorded` events (aggregate `decision`, id = the resource's tenant), and
 * `authentication_failures_counted` for failures that were counted, not recorded one by one, through
 * the event store, signed like every other event. Decisions are an append-only log with no invariant
 * to protect, so unlike aggregate appends they carry no expected sequence: concurrent decisions never
 * conflict. The event id is the decision id, so a retried write is stored once.
 */
export class DecisionRecorder {
  private readonly inFlight = new Set<Promise<void>>();
  private turn?: Promise<void>;

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
   * failure is logged (the decision itself stands). The write starts on the next turn of the event
   * loop, once the caller's reply has gone out, and the allows of one turn are signed together.
   */
  async recordInBackground(decision: DecisionRecord, actor: string): Promise<void> {
    const work = this.nextTurn()
      .then(() => this.record(decision, actor))
      .catch((error: unknown) => {
        this.logger.error({ err: error, decisionId: decision.decisionId }, 'could not record an allow decision');
      });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    if (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  // One promise per turn, resolved by setImmediate: after the I/O callbacks and microtasks of this
  // turn (the replies' socket writes among them), and with every allow of the turn at once.
  private nextTurn(): Promise<void> {
    this.turn ??= new Promise((resolve) =>
      setImmediate(() => {
        this.turn = undefined;
        resolve();
      }),
    );
    return this.turn;
  }

  /** Waits for every background record (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
