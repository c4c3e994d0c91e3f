export {
  checkPlatformStorage,
  DEFAULT_PLATFORM_STORAGE_SETTINGS,
  MIN_STORAGE_MAX_BYTES,
  platformStorage,
  PlatformStorageError,
  provisionPlatformStorage,
  raiseStorageConfig,
  storageProblems,
  type CheckedStorage,
  type PlatformStorage,
  type PlatformStorageKind,
  type PlatformStorageSettings,
  type ProvisionedStorage,
  type RaisedStorageConfig,
} from './platform-storage.js';
export {
  STORAGE_ERROR_PERCENT,
  STORAGE_WARN_PERCENT,
  StorageUsageMonitor,
  storageUsageLevel,
  type StorageUsage,
  type StorageUsageLevel,
  type StorageUsageMonitorOptions,
} from './storage-usage.monitor.js';
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
  EventAuthorship,
  decodeStoredEvent,
  eventAuthorshipFromEnv,
  setAuthorshipHeaders,
  type AuthorshipVerdict,
  type EventAuthorshipOptions,
  type MessageAuthorship,
  type MessageToSign,
  type UnsignedMessage,
} from './event-authorship.js';
export {
  EVENT_BATCH_SIGNATURE_DOMAIN,
  EVENT_LEAF_DOMAIN,
  EVENT_SIGNATURE_DOMAIN,
  eventSignature,
  signEventBatch,
  verifyEventSignature,
  type SignedBatch,
} from './event-signature.js';
export { ReplayGuard } from './replay-guard.js';
export { ForgedEventError, type EventRefusal, type OpenedEvent, type StoredMessage } from './stored-event.js';
export { eventWriters, generateEventWriterKey, parseWriterKeys } from './writer-keys.js';
export { ArtifactStore, createArtifactStore, sha256Digest, type PutArtifactResult } from './artifact.store.js';
export { isUnreachable, unavailable } from './nats-error.mapper.js';
