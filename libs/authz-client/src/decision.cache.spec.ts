import { describe, expect, it } from 'vitest';
import { authzClientSettingsFromEnv } from './authz-client.settings.js';
import { CredentialDigests, credentialDigest, decisionCacheKey, TtlCache } from './decision.cache.js';

const plugin = { type: 'Plugin', id: 'acme/hello', attributes: { environment: 'staging' } };
const base = { credential: 'tok-alice-secret', action: 'install', resource: plugin, context: { environment: 'staging' } };

describe('decision cache - keys', () => {
  it('keys - the same question gives the same key however its objects are written', () => {
    const reordered = { context: { environment: 'staging' }, resource: { attributes: { environment: 'staging' }, id: 'acme/hello', type: 'Plugin' }, action: 'install', credential: 'tok-alice-secret' };
    expect(decisionCacheKey(reordered)).toBe(decisionCacheKey(base));
  });

  it('keys - empty attributes and an empty or absent context are the same question', () => {
    const bare = { credential: 'c', action: 'publish', resource: { type: 'Plugin', id: 'acme/hello' } };
    expect(decisionCacheKey({ ...bare, resource: { ...bare.resource, attributes: {} } })).toBe(decisionCacheKey(bare));
    expect(decisionCacheKey({ ...bare, context: {} })).toBe(decisionCacheKey(bare));
    expect(decisionCacheKey({ ...bare, context: { environment: undefined } })).toBe(decisionCacheKey(bare));
  });

  it('keys - every part of the question changes the key', () => {
    const keys = new Set([
      decisionCacheKey(base),
      decisionCacheKey({ ...base, credential: 'tok-bob-secret' }),
      decisionCacheKey({ ...base, action: 'upgrade' }),
      decisionCacheKey({ ...base, resource: { ...plugin, id: 'acme/other' } }),
      decisionCacheKey({ ...base, resource: { ...plugin, type: 'Environment' } }),
      decisionCacheKey({ ...base, resource: { ...plugin, tenant: 'globex' } }),
      decisionCacheKey({ ...base, resource: { ...plugin, attributes: { environment: 'production' } } }),
      decisionCacheKey({ ...base, context: { environment: 'production' } }),
    ]);
    expect(keys.size).toBe(8);
  });

  it('keys - hold the sha256 of the credential, never the credential', () => {
    const key = decisionCacheKey(base);
    expect(key).not.toContain('tok-alice-secret');
    expect(key.startsWith(credentialDigest('tok-alice-secret'))).toBe(true);
    expect(credentialDigest('tok-alice-secret')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('decision cache - keys of unchanging resources', () => {
  it('keys - a frozen resource gives the key of its unfrozen equal, on every call', () => {
    const frozen = Object.freeze({ type: 'Plugin', id: 'acme/hello', attributes: Object.freeze({ environment: 'staging' }) });
    for (let i = 0; i < 3; i++) expect(decisionCacheKey({ ...base, resource: frozen })).toBe(decisionCacheKey(base));
  });

  it('keys - a resource that can still change is read again on every call', () => {
    const attributes: Record<string, string> = { environment: 'staging' };
    const shallow = Object.freeze({ type: 'Plugin', id: 'acme/hello', attributes });
    const open = { type: 'Plugin', id: 'acme/hello', attributes: { environment: 'staging' } };
    let getterValue = 'staging';
    const withGetter = Object.freeze({ type: 'Plugin', id: 'acme/hello', attributes: Object.freeze({ get environment() { return getterValue; } }) });
    const before = [shallow, open, withGetter].map((resource) => decisionCacheKey({ ...base, resource }));
    expect(new Set(before)).toEqual(new Set([decisionCacheKey(base)]));
    attributes.environment = 'production';
    open.attributes.environment = 'production';
    getterValue = 'production';
    const production = decisionCacheKey({ ...base, resource: { ...plugin, attributes: { environment: 'production' } } });
    expect([shallow, open, withGetter].map((resource) => decisionCacheKey({ ...base, resource }))).toEqual([production, production, production]);
  });
});

describe('decision cache - credential digests', () => {
  it('digests - a remembered digest is the credential\'s sha256, and keys made with it are the same keys', () => {
    const digests = new CredentialDigests();
    expect(digests.of('tok-alice-secret')).toBe(credentialDigest('tok-alice-secret'));
    expect(digests.of('tok-alice-secret')).toBe(credentialDigest('tok-alice-secret'));
    expect(digests.of('tok-bob-secret')).toBe(credentialDigest('tok-bob-secret'));
    expect(decisionCacheKey({ ...base, digest: digests.of(base.credential) })).toBe(decisionCacheKey(base));
  });

  it('digests - at most maxEntries credentials are remembered, and clear forgets them all', () => {
    const digests = new CredentialDigests(2);
    const held = (d: CredentialDigests) => (d as unknown as { digests: Map<string, string> }).digests;
    for (const token of ['a', 'b', 'c', 'd', 'e']) {
      expect(digests.of(token)).toBe(credentialDigest(token));
      expect(held(digests).size).toBeLessThanOrEqual(2);
    }
    expect(held(digests).has('e')).toBe(true);
    digests.clear();
    expect(held(digests).size).toBe(0);
  });
});

describe('decision cache - expiry and invalidation', () => {
  const clock = () => {
    let t = 1_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('expiry - an entry is served until its TTL passes, then it is gone', () => {
    const time = clock();
    const cache = new TtlCache<string>({ ttlMs: 5_000, now: time.now });
    cache.set('k', 'allow');
    time.advance(4_999);
    expect(cache.get('k')).toBe('allow');
    time.advance(1);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, invalidations: 0, size: 0 });
  });

  it('expiry - storing again restarts the TTL', () => {
    const time = clock();
    const cache = new TtlCache<string>({ ttlMs: 100, now: time.now });
    cache.set('k', 'deny');
    time.advance(90);
    cache.set('k', 'allow');
    time.advance(90);
    expect(cache.get('k')).toBe('allow');
  });

  it('disabled - a TTL of 0 stores nothing', () => {
    const cache = new TtlCache<string>({ ttlMs: 0 });
    expect(cache.enabled).toBe(false);
    expect(cache.set('k', 'allow')).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.stats().size).toBe(0);
  });

  it('invalidation - clear drops every entry and counts it', () => {
    const cache = new TtlCache<string>({ ttlMs: 5_000 });
    cache.set('a', 'allow');
    cache.set('b', 'deny');
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ invalidations: 1, size: 0 });
  });

  it('invalidation - an answer asked for before a clear is not stored after it', () => {
    const cache = new TtlCache<string>({ ttlMs: 5_000 });
    const asked = cache.generation;
    cache.clear();
    expect(cache.set('k', 'stale allow', asked)).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.set('k', 'fresh allow', cache.generation)).toBe(true);
    expect(cache.get('k')).toBe('fresh allow');
  });

  it('bounded - the oldest entries are dropped beyond the maximum', () => {
    const cache = new TtlCache<number>({ ttlMs: 5_000, maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.stats().size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
  });

  it('refuses a negative or fractional TTL', () => {
    expect(() => new TtlCache({ ttlMs: -1 })).toThrow(/non-negative integer/);
    expect(() => new TtlCache({ ttlMs: 1.5 })).toThrow(/non-negative integer/);
  });
});

describe('authz client settings - environment', () => {
  it('defaults to a 2000 ms deadline and a 5000 ms cache', () => {
    expect(authzClientSettingsFromEnv({})).toEqual({ timeoutMs: 2_000, cacheTtlMs: 5_000 });
    expect(authzClientSettingsFromEnv({ FORGEONE_AUTHZ_TIMEOUT_MS: '', FORGEONE_AUTHZ_CACHE_TTL_MS: ' ' })).toEqual({ timeoutMs: 2_000, cacheTtlMs: 5_000 });
  });

  it('reads both variables; a TTL of 0 turns the cache off', () => {
    expect(authzClientSettingsFromEnv({ FORGEONE_AUTHZ_TIMEOUT_MS: '750', FORGEONE_AUTHZ_CACHE_TTL_MS: '0' })).toEqual({ timeoutMs: 750, cacheTtlMs: 0 });
  });

  it('refuses values that are not whole milliseconds and names the variable', () => {
    expect(() => authzClientSettingsFromEnv({ FORGEONE_AUTHZ_TIMEOUT_MS: '2s' })).toThrow(/FORGEONE_AUTHZ_TIMEOUT_MS must be a whole number of milliseconds of at least 1, got "2s"/);
    expect(() => authzClientSettingsFromEnv({ FORGEONE_AUTHZ_TIMEOUT_MS: '0' })).toThrow(/FORGEONE_AUTHZ_TIMEOUT_MS/);
    expect(() => authzClientSettingsFromEnv({ FORGEONE_AUTHZ_CACHE_TTL_MS: '-5' })).toThrow(/FORGEONE_AUTHZ_CACHE_TTL_MS .*0 turns the cache off/);
  });
});
