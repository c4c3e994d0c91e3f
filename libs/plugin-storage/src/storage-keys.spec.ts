import { describe, expect, it } from 'vitest';
import { pluginUsageFilter, pluginUsageKey, storageDataKey, tenantUsageKey, USAGE_KEY_PREFIX } from './storage-keys.js';

const scope = { tenant: 'acme', name: 'acme/notes', environment: 'staging' };

describe('storage keys - layout', () => {
  it('data keys - tenant, plugin and environment, then the key as base64url', () => {
    expect(storageDataKey(scope, 'colour')).toBe(`acme.acme.notes.staging.${Buffer.from('colour').toString('base64url')}`);
    expect(storageDataKey({ ...scope, environment: 'production' }, 'colour')).not.toBe(storageDataKey(scope, 'colour'));
  });

  it('data keys - no plugin key, however chosen, names a usage counter', () => {
    for (const key of ['_usage', '_usage.acme', '../_usage.acme', '.', '*', '>', 'a.b.c']) {
      const dataKey = storageDataKey(scope, key);
      expect(dataKey.startsWith(`${USAGE_KEY_PREFIX}.`)).toBe(false);
      expect(dataKey.split('.')).toHaveLength(5);
    }
    expect(pluginUsageKey(scope)).toBe('_usage.acme.acme.notes.staging');
    expect(tenantUsageKey('acme')).toBe('_usage.acme');
    expect(pluginUsageFilter('acme', 'acme/notes')).toBe('_usage.acme.acme.notes.*');
  });

  it('data keys - an empty or over-long key is COMMAND.INVALID; an id that is not a key token is refused', () => {
    expect(() => storageDataKey(scope, '')).toThrow(/storage keys are 1 to 512 bytes; got 0/);
    expect(() => storageDataKey(scope, 'é'.repeat(257))).toThrow(/got 514/);
    expect(() => storageDataKey({ ...scope, tenant: 'a.b' }, 'k')).toThrow(/tenant "a.b" cannot be part of a storage key/);
    expect(() => storageDataKey({ ...scope, name: 'nopublisher' }, 'k')).toThrow(/is not <publisher>\/<plugin>/);
  });
});
