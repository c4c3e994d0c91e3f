import type { CloudEvent } from '@forgeone/contracts';
import { foldEvents, type Decider, type DomainEvent } from './decider.js';
import type { AppendResult, EventStore } from './event-store.port.js';
import { DEFAULT_RETRY_POLICY, retryOnConflict, type RetryPolicy } from './retry.policy.js';

/** Who acts, when, and the ids: everything an event needs that a decider may not invent. */
export interface EventOrigin {
  /** Pseudonymous principal id. */
  readonly actor: string;
  readonly tenant: string;
  readonly now: Date;
  readonly newId: () => string;
}

/** The aggregate instance a command is for. */
export interface CommandTarget {
  readonly aggregate: string;
  readonly id: string;
  /** CloudEvents `subject` of the events; defaults to `id`. */
  readonly subject?: string;
}

export interface HandleCommandOptions<E extends DomainEvent, S> {
  /**
   * Runs after each decision that produced events and before its append, with the state it was
   * decided on (to store an artifact the events reference, or verify a signature); throwing appends nothing.
   */
  readonly beforeAppend?: (events: readonly E[], state: S) => Promise<void>;
  /** Decide and run `beforeAppend`, append nothing: the outcome holds the events that would be appended. */
  readonly dryRun?: boolean;
  readonly retry?: RetryPolicy;
}

export interface CommandOutcome<E extends DomainEvent, S> {
  /** What the decider decided; empty when the command changes nothing. */
  readonly events: readonly E[];
  /** The stored envelopes; empty when nothing was decided, and for a dry run. */
  readonly appended: readonly AppendResult[];
  /** The state the command was decided on. */
  readonly state: S;
  /** The state after the decided events. */
  readonly next: S;
  /** Stream sequence the decision was made at (what the append expected). */
  readonly version: number;
}

/**
 * The command handler every aggregate uses: load (fold the instance's events), decide, append
 * with the loaded version as the expected sequence; when another writer came first
 * (EVENTSTORE.CONFLICT) the command is loaded and decided again on the fresh state, per the retry
 * policy. So of two racing commands one wins and the other is judged on the winner's result.
 */
export async function handleCommand<C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  target: CommandTarget,
  command: C,
  origin: EventOrigin,
  options: HandleCommandOptions<E, S> = {},
): Promise<CommandOutcome<E, S>> {
  // Stored envelopes carry `type` and `data` (and `time`), which is all an evolve reads.
  const fold = { initialState: () => decider.initialState(), evolve: (state: S, event: CloudEvent) => decider.evolve(state, event as unknown as E) };
  return retryOnConflict(async () => {
    const { state, version } = await store.load(target.aggregate, target.id, fold);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, appended: [], state, next: state, version };
    await options.beforeAppend?.(events, state);
    if (options.dryRun) return { events, appended: [], state, next: foldEvents(decider, events, state), version };
    const time = origin.now.toISOString();
    const appended = await store.append(
      target.aggregate,
      target.id,
      events.map((event) => ({
        id: origin.newId(),
        type: event.type,
        data: event.data,
        time,
        actor: origin.actor,
        tenant: origin.tenant,
        ...(target.subject === undefined ? {} : { subject: target.subject }),
      })),
      { expectedSequence: version },
    );
    const next = appended.reduce((s, result) => decider.evolve(s, result.event as unknown as E), state);
    return { events, appended, state, next, version };
  }, options.retry ?? DEFAULT_RETRY_POLICY);
}
