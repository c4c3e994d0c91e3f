export { foldEvents, type Decider, type DomainEvent } from './decider.js';
export type { AppendOptions, AppendResult, EventFold, EventStore, LoadedAggregate, NewEvent, StoredEvent, VersionedEvents } from './event-store.port.js';
export { DEFAULT_RETRY_POLICY, isConflict, retryOnConflict, type RetryPolicy } from './retry.policy.js';
export { handleCommand, type CommandOutcome, type CommandTarget, type EventOrigin, type HandleCommandOptions } from './command.handler.js';
export { InMemoryEventStore } from './in-memory-event.store.js';
export { SequencedLogWriter } from './sequenced-log.writer.js';
