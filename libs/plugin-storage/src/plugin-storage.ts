import { setTimeout as sleep } from 'node:timers/promises';
import { ForgeOneError, type StorageQuota } from '@forgeone/contracts';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { pluginUsageFilter, pluginUsageKey, storageDataKey, tenantUsageKey, type StorageScope } from './storage-keys.js';

/** What a scope holds: bytes (keys plus values, as the plugin sees them) and keys. */
export interface StorageCount {
  readonly bytes: number;
  readonly keys: number;
}

export interface PluginStorageOptions {
  /** The plugin key/value bucket (history 1), opened or created by the caller. */
  readonly kv: () => Promise<KV>;
  /** All plugins of one tenant together, in every environment. */
  readonly tenantQuota: StorageQuota;
  /** Largest value accepted, in bytes (what one bus message can carry). */
  readonly maxValueBytes: () => number;
  /** Compare-and-set attempts on a contended key or counter before giving up (default 64). */
  readonly maxAttempts?: number;
}

const NOTHING: StorageCount = { bytes: 0, keys: 0 };

/**
 * Plugin storage in one JetStream key/value bucket with quotas per plugin and environment and per
 * tenant. Usage is kept in counter entries of the same bucket (`_usage.*`, which no plugin key can
 * name) and changed only by compare-and-set on their revision, so runners writing at once never both
 * pass a quota only one of them fits. Data is written by compare-and-set too, so the size a write
 * replaces is the size it accounts for.
 *
 * Order keeps usage from drifting in a plugin's favour: growth is reserved on the counters before the
 * data is written and given back only when the write was refused; shrinking and deleting are released
 * after the data changed. A crash or a write of unknown outcome in between leaves usage counted too
 * high, never too low.
 */
export class PluginStorage {
  private readonly maxAttempts: number;

  constructor(private readonly options: PluginStorageOptions) {
    this.maxAttempts = options.maxAttempts ?? 64;
  }

  /** The stored value, or undefined when the key does not exist. */
  async get(scope: StorageScope, key: string): Promise<Uint8Array | undefined> {
    const entry = await (await this.options.kv()).get(storageDataKey(scope, key));
    return isLive(entry) ? entry.value : undefined;
  }

  /**
   * Stores a value, or refuses it with nothing written: `SANDBOX.STORAGE_VALUE_TOO_LARGE` above
   * `maxValueBytes`, `SANDBOX.STORAGE_QUOTA_EXCEEDED` when the plugin's `quota` in this environment
   * or its tenant's total would be exceeded, `COMMAND.INVALID` for a key of 0 or over 512 bytes.
   */
  async set(scope: StorageScope, quota: StorageQuota, key: string, value: Uint8Array): Promise<void> {
    const dataKey = storageDataKey(scope, key);
    const maxValueBytes = this.options.maxValueBytes();
    if (value.byteLength > maxValueBytes) {
      throw new ForgeOneError('SANDBOX.STORAGE_VALUE_TOO_LARGE', `the value is ${value.byteLength} bytes; plugin storage takes values of at most ${maxValueBytes} bytes`, {
        valueBytes: value.byteLength,
        maxValueBytes,
      });
    }
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const kv = await this.options.kv();
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = await kv.get(dataKey);
      const before = isLive(current) ? { bytes: keyBytes + current.length, keys: 1 } : NOTHING;
      const delta = { bytes: keyBytes + value.byteLength - before.bytes, keys: 1 - before.keys };
      const grows = delta.bytes > 0 || delta.keys > 0;
      if (grows) await this.reserve(kv, scope, quota, delta);
      // A failure here other than a refused compare-and-set may have stored the value: the reservation stays.
      if (!(await putIfRevision(kv, dataKey, value, current?.revision ?? 0))) {
        if (grows) await this.release(kv, scope, delta);
        await backOff(attempt);
        continue;
      }
      if (delta.bytes < 0) await this.release(kv, scope, { bytes: -delta.bytes, keys: 0 });
      return;
    }
    throw contended(`storage key ${key} of ${scope.name}`, this.maxAttempts);
  }

  /**
   * Deletes a key; false when it did not exist. The delete names the revision it read, so the size it
   * gives back is the size it removed; a write that lands in between is read and deleted in turn.
   */
  async delete(scope: StorageScope, key: string): Promise<boolean> {
    const dataKey = storageDataKey(scope, key);
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const kv = await this.options.kv();
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = await kv.get(dataKey);
      if (!isLive(current)) return false;
      if (await ifRevision(() => kv.delete(dataKey, { previousSeq: current.revision }))) {
        await this.release(kv, scope, { bytes: keyBytes + current.length, keys: 1 });
        return true;
      }
      await backOff(attempt);
    }
    throw contended(`storage key ${key} of ${scope.name}`, this.maxAttempts);
  }

  /** What one plugin holds in one environment, as its counter says. */
  async usage(scope: StorageScope): Promise<StorageCount> {
    const key = pluginUsageKey(scope);
    return readCount(await (await this.options.kv()).get(key), key);
  }

  /** What all plugins of a tenant hold together. */
  async tenantUsage(tenant: string): Promise<StorageCount> {
    const key = tenantUsageKey(tenant);
    return readCount(await (await this.options.kv()).get(key), key);
  }

  /** What one plugin holds in each environment that has a counter, keyed by environment. */
  async usageByEnvironment(tenant: string, name: string): Promise<Map<string, StorageCount>> {
    const kv = await this.options.kv();
    const keys: string[] = [];
    for await (const key of await kv.keys(pluginUsageFilter(tenant, name))) keys.push(key);
    const out = new Map<string, StorageCount>();
    for (const key of keys.sort()) out.set(key.slice(key.lastIndexOf('.') + 1), readCount(await kv.get(key), key));
    return out;
  }

  private async reserve(kv: KV, scope: StorageScope, quota: StorageQuota, delta: StorageCount): Promise<void> {
    const plugin = pluginUsageKey(scope);
    await this.adjust(kv, plugin, delta, { quota, owner: `plugin ${scope.name} in ${scope.environment}`, raise: 'delete keys, or raise limits.maxStorageBytes / limits.maxStorageKeys in the manifest (up to the platform cap)' });
    try {
      await this.adjust(kv, tenantUsageKey(scope.tenant), delta, {
        quota: this.options.tenantQuota,
        owner: `tenant ${scope.tenant} (all plugins and environments)`,
        raise: "delete keys, or have the operator raise the tenant's total (FORGEONE_STORAGE_TENANT_BYTES / _KEYS)",
      });
    } catch (error) {
      // The plugin's reservation goes back; should that fail too, usage stays counted too high, not too low.
      await this.adjust(kv, plugin, negate(delta)).catch(() => undefined);
      throw error;
    }
  }

  private async release(kv: KV, scope: StorageScope, amount: StorageCount): Promise<void> {
    await this.adjust(kv, tenantUsageKey(scope.tenant), negate(amount));
    await this.adjust(kv, pluginUsageKey(scope), negate(amount));
  }

  /** Adds `delta` to a counter by compare-and-set; with a limit, refuses growth past its quota. */
  private async adjust(kv: KV, counterKey: string, delta: StorageCount, limit?: { quota: StorageQuota; owner: string; raise: string }): Promise<void> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const entry = await kv.get(counterKey);
      const used = readCount(entry, counterKey);
      const next = { bytes: Math.max(0, used.bytes + delta.bytes), keys: Math.max(0, used.keys + delta.keys) };
      if (limit !== undefined && ((delta.bytes > 0 && next.bytes > limit.quota.maxBytes) || (delta.keys > 0 && next.keys > limit.quota.maxKeys))) {
        const { quota } = limit;
        throw new ForgeOneError(
          'SANDBOX.STORAGE_QUOTA_EXCEEDED',
          `the storage quota of ${limit.owner} is ${quota.maxBytes} bytes and ${quota.maxKeys} keys; ${used.bytes} bytes and ${used.keys} keys are in use and this write needs ${Math.max(0, delta.bytes)} more bytes and ${delta.keys} more keys: ${limit.raise}`,
          { usedBytes: used.bytes, usedKeys: used.keys, maxBytes: quota.maxBytes, maxKeys: quota.maxKeys },
        );
      }
      if (await putIfRevision(kv, counterKey, new TextEncoder().encode(JSON.stringify(next)), entry?.revision ?? 0)) return;
      await backOff(attempt);
    }
    throw contended(`storage usage counter ${counterKey}`, this.maxAttempts);
  }
}

function isLive(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT';
}

function negate(count: StorageCount): StorageCount {
  return { bytes: -count.bytes, keys: -count.keys };
}

/** Writes when the key's last revision is still `revision` (0: no message); false when it has moved on. */
function putIfRevision(kv: KV, key: string, value: Uint8Array, revision: number): Promise<boolean> {
  return ifRevision(() => kv.put(key, value, { previousSeq: revision }));
}

/** Runs a write that names the revision it expects; false when the server refused it for another revision. */
async function ifRevision(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)) {
      return false;
    }
    throw error;
  }
}

// A counter that does not read back fails closed: nothing more is written under it.
function readCount(entry: KvEntry | null, key: string): StorageCount {
  if (!isLive(entry)) return NOTHING;
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.string());
  } catch {
    parsed = undefined;
  }
  const { bytes, keys } = (parsed ?? {}) as { bytes?: unknown; keys?: unknown };
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(keys) || (bytes as number) < 0 || (keys as number) < 0) {
    throw new ForgeOneError('SERVICE.INTERNAL', `storage usage counter ${key} does not hold {"bytes", "keys"}; writes under it are refused until it is repaired`);
  }
  return { bytes: bytes as number, keys: keys as number };
}

// Spreads retries of writers that collided, so they do not collide again in step.
function backOff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(2 ** attempt, 32));
}

function contended(what: string, attempts: number): ForgeOneError {
  return new ForgeOneError('SERVICE.UNAVAILABLE', `${what} changed under ${attempts} attempts in a row; try again`, { attempts });
}
