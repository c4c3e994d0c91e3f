import type { Names } from '@forgeone/contracts';
import { AckPolicy, DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { MessageBatching } from './message.batcher.js';

export interface BusConsumerOptions {
  /** Durable consumer name on the event stream (e.g. `names.consumer('audit-projector')`). */
  readonly durable: string;
  /** Defaults to every event (`names.eventsWildcard`). */
  readonly filterSubject?: string;
  /** Events in flight before the server waits for acks; 1 gives strict order across redeliveries (default 1000). */
  readonly maxAckPending?: number;
  /** How long the server waits for an ack before redelivering (default 30 s). */
  readonly ackWaitMs?: number;
  /** Deliveries before JetStream gives up on an event; -1 never gives up (default). */
  readonly maxDeliver?: number;
  /** Delay before redelivery after the n-th failed attempt; the last value repeats (default 1 s, 5 s, 15 s, 30 s, 60 s). */
  readonly backoffMs?: readonly number[];
  /**
   * For a reader whose progress lives elsewhere (a projection's checkpoint): the sequence to
   * resume from, asked at start. The durable is then recreated there, so nothing a crashed
   * process left unacknowledged waits out the ack timeout and nothing already applied is replayed.
   */
  readonly resumeFrom?: () => Promise<number>;
  /** Lets the server delete the durable after this long without a reader (a per-instance consumer that may never come back). */
  readonly inactiveThresholdMs?: number;
  /**
   * Keep the id of every event delivered and refuse one seen before at another sequence (a replay).
   * For consumers that read from the start at every boot and fold in memory; a consumer that resumes
   * from a checkpoint checks replays against its own store instead.
   */
  readonly refuseReplays?: boolean;
  /**
   * How an `EVENT_BATCH_PATTERN` handler's batches are formed. Give `maxAckPending` at least twice
   * `maxMessages`, so the next batch arrives while one is applied. Default 256 messages, 5 ms.
   */
  readonly batch?: MessageBatching;
  /**
   * Subscribe no command before the events under the filter that were in the stream at start are handled:
   * for a service whose answers depend on what it has read. Health answers not ready until then; not caught up
   * within `timeoutMs` (or halted first), the server's start fails.
   */
  readonly commandsAfterCatchUp?: { readonly timeoutMs: number };
}

/** The durable's settings as the bus server creates it; `inactive_threshold` 0 means none. */
export type DurableConsumerConfig = Required<
  Pick<ConsumerConfig,
  'durable_name' | 'ack_policy' | 'deliver_policy' | 'filter_subject' | 'max_ack_pending' | 'ack_wait' | 'max_deliver' | 'inactive_threshold'>
> &
  Partial<Pick<ConsumerConfig, 'opt_start_seq'>>;

/** Settings a durable keeps for life: JetStream refuses to change them on an existing consumer. */
const FIXED_FIELDS = ['ack_policy', 'deliver_policy', 'opt_start_seq'] as const;
/** Settings JetStream changes in place on an existing consumer. */
const UPDATABLE_FIELDS = ['filter_subject', 'max_ack_pending', 'ack_wait', 'max_deliver', 'inactive_threshold'] as const;

/** The consumer config the options ask for; `startSequence` when the reader resumes from its own checkpoint. */
export function durableConsumerConfig(names: Names, options: BusConsumerOptions, startSequence?: number): DurableConsumerConfig {
  return {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: startSequence === undefined ? DeliverPolicy.All : DeliverPolicy.StartSequence,
    ...(startSequence === undefined ? {} : { opt_start_seq: Math.max(1, startSequence) }),
    filter_subject: options.filterSubject ?? names.eventsWildcard,
    max_ack_pending: options.maxAckPending ?? 1_000,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_deliver: options.maxDeliver ?? -1,
    inactive_threshold: options.inactiveThresholdMs === undefined ? 0 : nanos(options.inactiveThresholdMs),
  };
}

/** What reconciling an existing durable with the wanted settings takes. */
export type DurableConsumerDrift =
  | { readonly kind: 'same' }
  | { readonly kind: 'update'; readonly changes: Partial<DurableConsumerConfig> }
  /** A setting JetStream cannot change differs: only deleting the durable applies it. */
  | { readonly kind: 'fixed'; readonly field: string; readonly existing: unknown; readonly wanted: unknown };

// The server leaves unset settings out of a consumer's info; these are what it means by that.
const UNSET: Readonly<Record<string, unknown>> = { inactive_threshold: 0, max_deliver: -1, filter_subject: '' };

function normalised(config: Partial<ConsumerConfig>, field: string): unknown {
  const value = (config as Record<string, unknown>)[field];
  return value === undefined ? UNSET[field] : value;
}

/** Compares every setting the bus server sets with those of the existing durable. */
export function durableConsumerDrift(existing: Partial<ConsumerConfig>, wanted: DurableConsumerConfig): DurableConsumerDrift {
  for (const field of FIXED_FIELDS) {
    if (wanted[field] !== undefined && normalised(existing, field) !== wanted[field]) {
      return { kind: 'fixed', field, existing: normalised(existing, field), wanted: wanted[field] };
    }
  }
  const changes: Record<string, unknown> = {};
  for (const field of UPDATABLE_FIELDS) {
    if (normalised(existing, field) !== normalised(wanted, field)) changes[field] = wanted[field];
  }
  return Object.keys(changes).length === 0 ? { kind: 'same' } : { kind: 'update', changes: changes as Partial<DurableConsumerConfig> };
}
