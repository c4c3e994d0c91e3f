import { ForgeOneError } from '@forgeone/contracts';

/** Whose storage: one plugin of one tenant in one environment. */
export interface StorageScope {
  readonly tenant: string;
  readonly name: string;
  readonly environment: string;
}

/** Longest key a plugin may use, in UTF-8 bytes. */
export const MAX_STORAGE_KEY_BYTES = 512;

/**
 * First token of the usage counters' keys. Plugin data keys start with the tenant id, which begins
 * with a lowercase letter or a digit, so no plugin key can name a counter.
 */
export const USAGE_KEY_PREFIX = '_usage';

// Tenant ids, plugin name segments and environments as the contracts allow them (no dots, no wildcards).
const TOKEN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The bucket key of a plugin's key: `<tenant>.<publisher>.<plugin>.<environment>.<base64url(key)>`,
 * so tenants, plugins and environments never see each other's data. Throws COMMAND.INVALID for a key
 * that is empty or longer than {@link MAX_STORAGE_KEY_BYTES}.
 */
export function storageDataKey(scope: StorageScope, key: string): string {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_STORAGE_KEY_BYTES) {
    throw new ForgeOneError('COMMAND.INVALID', `storage keys are 1 to ${MAX_STORAGE_KEY_BYTES} bytes; got ${bytes.byteLength}`);
  }
  return `${scopeTokens(scope)}.${bytes.toString('base64url')}`;
}

/** The key of one plugin's usage counter in one environment: `_usage.<tenant>.<publisher>.<plugin>.<environment>`. */
export function pluginUsageKey(scope: StorageScope): string {
  return `${USAGE_KEY_PREFIX}.${scopeTokens(scope)}`;
}

/** The key of a tenant's usage counter over all its plugins and environments: `_usage.<tenant>`. */
export function tenantUsageKey(tenant: string): string {
  return `${USAGE_KEY_PREFIX}.${token(tenant, 'tenant')}`;
}

/** A filter matching the usage counters of one plugin in every environment. */
export function pluginUsageFilter(tenant: string, name: string): string {
  return `${USAGE_KEY_PREFIX}.${token(tenant, 'tenant')}.${nameTokens(name)}.*`;
}

function scopeTokens(scope: StorageScope): string {
  return `${token(scope.tenant, 'tenant')}.${nameTokens(scope.name)}.${token(scope.environment, 'environment')}`;
}

function nameTokens(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) throw new ForgeOneError('SERVICE.INTERNAL', `plugin name "${name}" is not <publisher>/<plugin>`);
  return `${token(name.slice(0, slash), 'plugin publisher')}.${token(name.slice(slash + 1), 'plugin name')}`;
}

// The callers pass ids the contracts already validated; this keeps a bad one from reaching other keys.
function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new ForgeOneError('SERVICE.INTERNAL', `${what} "${value}" cannot be part of a storage key`);
  return value;
}
