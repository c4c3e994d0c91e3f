export { PluginStorage, type PluginStorageOptions, type StorageCount } from './plugin-storage.js';
export {
  MAX_STORAGE_KEY_BYTES,
  USAGE_KEY_PREFIX,
  pluginUsageFilter,
  pluginUsageKey,
  storageDataKey,
  tenantUsageKey,
  type StorageScope,
} from './storage-keys.js';
