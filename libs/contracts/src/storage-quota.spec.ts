import { describe, expect, it } from 'vitest';
import { type ForgeOneError } from './errors.js';
import { PluginManifestSchema } from './manifest.js';
import { DEFAULT_STORAGE_QUOTA_SETTINGS, effectiveStorageQuota, parseStorageQuotaSettings, storageLimitsOverCap } from './storage-quota.js';
import { parseOrThrow } from './validation.js';

const manifest = {
  name: 'acme/notes',
  version: '1.0.0',
  abi: 1,
  description: 'keeps notes',
  handlers: ['add'],
  capabilities: { storage: true },
  limits: { memoryMiB: 1, fuel: 100_000, timeoutMs: 100, maxOutputBytes: 1024 },
};

function refusal(value: unknown): ForgeOneError {
  try {
    parseOrThrow(PluginManifestSchema, value, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  } catch (error) {
    return error as ForgeOneError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('storage quota - settings', () => {
  it('settings - defaults are 8 MiB and 10,000 keys per plugin and environment, 64 MiB and 100,000 keys per tenant', () => {
    expect(parseStorageQuotaSettings({})).toEqual(DEFAULT_STORAGE_QUOTA_SETTINGS);
    expect(DEFAULT_STORAGE_QUOTA_SETTINGS.pluginDefault).toEqual({ maxBytes: 8 * 1024 * 1024, maxKeys: 10_000 });
    expect(DEFAULT_STORAGE_QUOTA_SETTINGS.tenant).toEqual({ maxBytes: 64 * 1024 * 1024, maxKeys: 100_000 });
  });

  it('settings - each variable overrides its value', () => {
    const settings = parseStorageQuotaSettings({
      FORGEONE_STORAGE_QUOTA_BYTES: '1000',
      FORGEONE_STORAGE_QUOTA_KEYS: '10',
      FORGEONE_STORAGE_MAX_QUOTA_BYTES: '5000',
      FORGEONE_STORAGE_MAX_QUOTA_KEYS: '50',
      FORGEONE_STORAGE_TENANT_BYTES: '9000',
      FORGEONE_STORAGE_TENANT_KEYS: '90',
    });
    expect(settings).toEqual({ pluginDefault: { maxBytes: 1000, maxKeys: 10 }, pluginCap: { maxBytes: 5000, maxKeys: 50 }, tenant: { maxBytes: 9000, maxKeys: 90 } });
  });

  it('settings - a bad value is refused naming the variable', () => {
    expect(() => parseStorageQuotaSettings({ FORGEONE_STORAGE_TENANT_KEYS: 'lots' })).toThrow(/FORGEONE_STORAGE_TENANT_KEYS must be a whole number of keys of at least 1, got "lots"/);
    expect(() => parseStorageQuotaSettings({ FORGEONE_STORAGE_QUOTA_BYTES: '0' })).toThrow(/FORGEONE_STORAGE_QUOTA_BYTES/);
    expect(() => parseStorageQuotaSettings({ FORGEONE_STORAGE_MAX_QUOTA_BYTES: String(2 * 1024 ** 3) })).toThrow(/FORGEONE_STORAGE_MAX_QUOTA_BYTES is 2147483648; a plugin's storage quota can be at most 1073741824 bytes/);
    expect(() => parseStorageQuotaSettings({ FORGEONE_STORAGE_MAX_QUOTA_KEYS: '5' })).toThrow(
      /FORGEONE_STORAGE_QUOTA_KEYS \(10000\) is above FORGEONE_STORAGE_MAX_QUOTA_KEYS \(5\)/,
    );
  });
});

describe('storage quota - manifest', () => {
  it('manifest - maxStorageBytes and maxStorageKeys are optional limits', () => {
    const parsed = PluginManifestSchema.parse({ ...manifest, limits: { ...manifest.limits, maxStorageBytes: 1024, maxStorageKeys: 3 } });
    expect(parsed.limits).toMatchObject({ maxStorageBytes: 1024, maxStorageKeys: 3 });
  });

  it('manifest - a quota above the ceiling is refused naming the field and the ceiling', () => {
    expect(refusal({ ...manifest, limits: { ...manifest.limits, maxStorageBytes: 2 * 1024 ** 3 } }).message).toMatch(
      /limits\.maxStorageBytes: must be at most 1073741824 bytes \(1 GiB\)/,
    );
    expect(refusal({ ...manifest, limits: { ...manifest.limits, maxStorageKeys: 0 } }).message).toMatch(/limits\.maxStorageKeys:/);
  });

  it('manifest - a quota without the storage capability is refused', () => {
    expect(refusal({ ...manifest, capabilities: {}, limits: { ...manifest.limits, maxStorageKeys: 3 } }).message).toMatch(
      /limits\.maxStorageKeys: is a storage quota, but the manifest does not grant the "storage" capability/,
    );
  });

  it('effective quota - the manifest value or the default, never above the cap', () => {
    const settings = { ...DEFAULT_STORAGE_QUOTA_SETTINGS, pluginCap: { maxBytes: 10_000, maxKeys: 100 }, pluginDefault: { maxBytes: 5_000, maxKeys: 50 } };
    expect(effectiveStorageQuota({}, settings)).toEqual({ maxBytes: 5_000, maxKeys: 50 });
    expect(effectiveStorageQuota({ maxStorageBytes: 100, maxStorageKeys: 2 }, settings)).toEqual({ maxBytes: 100, maxKeys: 2 });
    expect(effectiveStorageQuota({ maxStorageBytes: 1_000_000, maxStorageKeys: 1_000 }, settings)).toEqual({ maxBytes: 10_000, maxKeys: 100 });
  });

  it('over cap - names each field above the cap with the cap and its variable', () => {
    expect(storageLimitsOverCap({ maxStorageBytes: 8 }, DEFAULT_STORAGE_QUOTA_SETTINGS)).toEqual([]);
    expect(storageLimitsOverCap({ maxStorageBytes: 65 * 1024 * 1024, maxStorageKeys: 100_001 }, DEFAULT_STORAGE_QUOTA_SETTINGS)).toEqual([
      { field: 'limits.maxStorageBytes', requested: 65 * 1024 * 1024, cap: 64 * 1024 * 1024, variable: 'FORGEONE_STORAGE_MAX_QUOTA_BYTES' },
      { field: 'limits.maxStorageKeys', requested: 100_001, cap: 100_000, variable: 'FORGEONE_STORAGE_MAX_QUOTA_KEYS' },
    ]);
  });
});
