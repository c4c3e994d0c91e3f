export { ensureEventStream, type EventStreamOptions } from './event-stream.config.js';
export {
  JetStreamEventStore,
  createEventStore,
  decodeStoredEvent,
  type AppendOptions,
  type AppendResult,
  type EventFold,
  type EventStore,
  type EventStoreOptions,
  type LoadedAggregate,
  type NewEvent,
  type StoredEvent,
} from './jetstream-event.store.js';
export { ArtifactStore, createArtifactStore, sha256Digest, type ArtifactStoreOptions, type PutArtifactResult } from './artifact.store.js';
