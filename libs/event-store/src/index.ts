export { ensureEventStream, type EventStreamOptions } from './event-stream.config.js';
export {
  JetStreamEventStore,
  createEventStore,
  type AppendOptions,
  type AppendResult,
  type EventFold,
  type EventStore,
  type EventStoreOptions,
  type LoadedAggregate,
  type NewEvent,
  type StoredEvent,
  type VersionedEvents,
} from './jetstream-event.store.js';
export {
  EVENT_SIGNATURE_DOMAIN,
  EventAuthorship,
  ForgedEventError,
  ReplayGuard,
  decodeStoredEvent,
  eventAuthorshipFromEnv,
  eventSignature,
  verifyEventSignature,
  eventWriters,
  generateEventWriterKey,
  parseWriterKeys,
  type EventAuthorshipOptions,
  type EventRefusal,
  type OpenedEvent,
  type StoredMessage,
} from './event-authorship.js';
export { ArtifactStore, createArtifactStore, sha256Digest, type ArtifactStoreOptions, type PutArtifactResult } from './artifact.store.js';
