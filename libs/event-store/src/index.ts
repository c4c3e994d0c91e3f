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
export { ArtifactStore, createArtifactStore, sha256Digest, type PutArtifactResult } from './artifact.store.js';
