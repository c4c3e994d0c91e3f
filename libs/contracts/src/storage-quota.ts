import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema, STORAGE_QUOTA_CEILING } from './manifest.js';

/** How much plugin storage one scope may hold: bytes (keys plus values, as the plugin sees them) and keys. */
export interface StorageQuota {
  readonly maxBytes: number;
  readonly maxKeys: number;
}

/** The platform's storage quota settings, read from the environment by the registry and the sandbox-runner. */
export interface StorageQuotaSettings {
  /** One plugin in one environment, when its manifest asks for no quota. */
  readonly pluginDefault: StorageQuota;
  /** The most a manifest may ask for, per plugin and environment. */
  readonly pluginCap: StorageQuota;
  /** All plugins of one tenant in all environments together. */
  readonly tenant: StorageQuota;
}

export const DEFAULT_STORAGE_QUOTA_SETTINGS: StorageQuotaSettings = {
  pluginDefault: { maxBytes: 8 * 1024 * 1024, maxKeys: 10_000 },
  pluginCap: { maxBytes: 64 * 1024 * 1024, maxKeys: 100_000 },
  tenant: { maxBytes: 64 * 1024 * 1024, maxKeys: 100_000 },
};

/** The environment variable behind each setting. */
export const STORAGE_QUOTA_VARIABLES = {
  pluginDefault: { maxBytes: 'FORGEONE_STORAGE_QUOTA_BYTES', maxKeys: 'FORGEONE_STORAGE_QUOTA_KEYS' },
  pluginCap: { maxBytes: 'FORGEONE_STORAGE_MAX_QUOTA_BYTES', maxKeys: 'FORGEONE_STORAGE_MAX_QUOTA_KEYS' },
  tenant: { maxBytes: 'FORGEONE_STORAGE_TENANT_BYTES', maxKeys: 'FORGEONE_STORAGE_TENANT_KEYS' },
} as const;

type Scope = keyof StorageQuotaSettings;
type Dimension = keyof StorageQuota;
const UNIT: Record<Dimension, string> = { maxBytes: 'bytes', maxKeys: 'keys' };

/**
 * Reads the storage quota settings from environment variables over {@link DEFAULT_STORAGE_QUOTA_SETTINGS}.
 * Throws an Error naming the variable when a value is not a positive integer, a cap is above
 * {@link STORAGE_QUOTA_CEILING}, or the default quota is above the cap.
 */
export function parseStorageQuotaSettings(env: Readonly<Record<string, string | undefined>>): StorageQuotaSettings {
  const read = (scope: Scope, dimension: Dimension): number => {
    const name = STORAGE_QUOTA_VARIABLES[scope][dimension];
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return DEFAULT_STORAGE_QUOTA_SETTINGS[scope][dimension];
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number of ${UNIT[dimension]} of at least 1, got "${raw}"`);
    return value;
  };
  const quota = (scope: Scope): StorageQuota => ({ maxBytes: read(scope, 'maxBytes'), maxKeys: read(scope, 'maxKeys') });
  const settings: StorageQuotaSettings = { pluginDefault: quota('pluginDefault'), pluginCap: quota('pluginCap'), tenant: quota('tenant') };
  for (const dimension of ['maxBytes', 'maxKeys'] as const) {
    const cap = STORAGE_QUOTA_VARIABLES.pluginCap[dimension];
    if (settings.pluginCap[dimension] > STORAGE_QUOTA_CEILING[dimension]) {
      throw new Error(`${cap} is ${settings.pluginCap[dimension]}; a plugin's storage quota can be at most ${STORAGE_QUOTA_CEILING[dimension]} ${UNIT[dimension]}`);
    }
    if (settings.pluginDefault[dimension] > settings.pluginCap[dimension]) {
      throw new Error(
        `${STORAGE_QUOTA_VARIABLES.pluginDefault[dimension]} (${settings.pluginDefault[dimension]}) is above ${cap} (${settings.pluginCap[dimension]}): the default quota must fit under the cap`,
      );
    }
  }
  return settings;
}

/** The storage fields of a manifest's `limits`. */
export interface StorageLimits {
  readonly maxStorageBytes?: number;
  readonly maxStorageKeys?: number;
}

/** A plugin's quota per environment: what its manifest asks for (or the default), never above the cap. */
export function effectiveStorageQuota(limits: StorageLimits, settings: StorageQuotaSettings): StorageQuota {
  return {
    maxBytes: Math.min(limits.maxStorageBytes ?? settings.pluginDefault.maxBytes, settings.pluginCap.maxBytes),
    maxKeys: Math.min(limits.maxStorageKeys ?? settings.pluginDefault.maxKeys, settings.pluginCap.maxKeys),
  };
}

/** One manifest storage limit above the platform cap. */
export interface StorageLimitOverCap {
  readonly field: 'limits.maxStorageBytes' | 'limits.maxStorageKeys';
  readonly requested: number;
  readonly cap: number;
  readonly variable: string;
}

/** The manifest's storage limits that ask for more than the platform cap allows (empty when none). */
export function storageLimitsOverCap(limits: StorageLimits, settings: StorageQuotaSettings): StorageLimitOverCap[] {
  const over: StorageLimitOverCap[] = [];
  if (limits.maxStorageBytes !== undefined && limits.maxStorageBytes > settings.pluginCap.maxBytes) {
    over.push({ field: 'limits.maxStorageBytes', requested: limits.maxStorageBytes, cap: settings.pluginCap.maxBytes, variable: STORAGE_QUOTA_VARIABLES.pluginCap.maxBytes });
  }
  if (limits.maxStorageKeys !== undefined && limits.maxStorageKeys > settings.pluginCap.maxKeys) {
    over.push({ field: 'limits.maxStorageKeys', requested: limits.maxStorageKeys, cap: settings.pluginCap.maxKeys, variable: STORAGE_QUOTA_VARIABLES.pluginCap.maxKeys });
  }
  return over;
}

/** Verb of `forgeone.cmd.sandbox-runner.<verb>` answering a plugin's storage quota and usage. */
export const PLUGIN_STORAGE_VERB = 'storage';

/** Body of the storage query: the plugin, in the caller's tenant. */
export const PluginStorageRequestSchema = z.object({ name: PluginNameSchema }).strict();
export type PluginStorageRequest = z.infer<typeof PluginStorageRequestSchema>;

export const StorageUsageSchema = z.object({
  usedBytes: z.number().int().nonnegative().describe('bytes of keys and values stored, as the plugin sees them'),
  usedKeys: z.number().int().nonnegative(),
  maxBytes: z.number().int().positive(),
  maxKeys: z.number().int().positive(),
});
export type StorageUsage = z.infer<typeof StorageUsageSchema>;

/** A plugin's storage: per environment where it is installed or holds data, and its tenant's total. */
export const PluginStorageReplySchema = z.object({
  tenant: StorageUsageSchema.describe("all plugins of the caller's tenant in all environments"),
  environments: z.array(
    StorageUsageSchema.extend({
      environment: EnvironmentSchema,
      version: SemverSchema.nullable().describe('the installed version whose manifest sets the quota; null when not installed (the default quota applies)'),
    }),
  ),
});
export type PluginStorageReply = z.infer<typeof PluginStorageReplySchema>;
