import type { CloudEvent } from '@forgeone/contracts';

/** An event a decider produced, before the store wraps it in its CloudEvents envelope (`cloudEvent`). */
export interface NewEvent<TType extends string = string, TData = unknown> {
  /** Unique event id; doubles as `Nats-Msg-Id`, so a retried append stores the event once. */
  readonly id: string;
  readonly type: TType;
  readonly data: TData;
  /** RFC 3339 time with offset, chosen by the caller (the domain has no clock). */
  readonly time: string;
  /** Pseudonymous principal id. */
  readonly actor: string;
  readonly tenant: string;
  /** CloudEvents `subject`; defaults to the aggregate id. (`source` follows from the aggregate's owner.) */
  readonly subject?: string;
}

/** An event read back from the stream with its stream sequence. */
export interface StoredEvent<E extends CloudEvent = CloudEvent> {
  readonly sequence: number;
  readonly event: E;
}

export interface AppendResult {
  readonly sequence: number;
  /** True when the stream already held an event with this id (a retry inside the duplicate window). */
  readonly duplicate: boolean;
  readonly event: CloudEvent;
}

export interface AppendOptions {
  /**
   * Stream sequence of the aggregate's last event as the caller saw it (`load().version`);
   * 0 when the aggregate has no events yet. `'any'` appends without the check: only for records
   * that guard no invariant (verification results, like policy decisions), which never conflict.
   */
  readonly expectedSequence: number | 'any';
}

/** The fold half of a decider: how to rebuild state from events. */
export interface EventFold<S, E extends CloudEvent = CloudEvent> {
  initialState(): S;
  evolve(state: S, event: E): S;
}

export interface LoadedAggregate<S> {
  readonly state: S;
  /** Stream sequence of the aggregate's last event, 0 when none: pass it as `expectedSequence`. */
  readonly version: number;
}

/** An aggregate's accepted events and the stream sequence of the last message on its subject. */
export interface VersionedEvents {
  readonly events: StoredEvent[];
  /**
   * Sequence of the subject's last message, refused ones included (0 when none): what the next
   * append must expect, so a forged message on the subject cannot wedge its writer in conflicts.
   */
  readonly version: number;
}

/**
 * The event stream as services use it: one subject per aggregate instance, appends guarded by the
 * expected sequence of that subject (EVENTSTORE.CONFLICT when another writer came first). The
 * JetStream store of `@forgeone/event-store` is the real one; {@link InMemoryEventStore} serves specs.
 */
export interface EventStore {
  append(aggregate: string, id: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult[]>;
  read(aggregate: string, id: string): Promise<StoredEvent[]>;
  readVersioned(aggregate: string, id: string): Promise<VersionedEvents>;
  /** Every instance's events of one aggregate, in stream order. */
  readAggregate(aggregate: string): Promise<StoredEvent[]>;
  load<S, E extends CloudEvent = CloudEvent>(aggregate: string, id: string, fold: EventFold<S, E>): Promise<LoadedAggregate<S>>;
  /** Sequence of the last message on the aggregate's subject (0 when none), without reading its events. */
  lastSequence(aggregate: string, id: string): Promise<number>;
}
