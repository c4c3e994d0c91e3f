import { describe, expect, it } from 'vitest';
import { registryOptionsFromEnv } from './registry.config.js';

const KEY = 'a-service-key-of-at-least-32-characters!';

describe('registry config - service credential', () => {
  it('refuses to start without its service credential and says what to set', () => {
    expect(() => registryOptionsFromEnv({})).toThrow(/FORGEONE_SERVICE_CREDENTIAL is not set: the registry service proves itself to the policy service with it/);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: '  ', FORGEONE_SERVICE_CREDENTIAL: ' ' })).toThrow(/FORGEONE_SERVICE_CREDENTIAL is not set/);
  });

  it("takes the credential it was handed, and refuses another service's or a malformed one without echoing it", () => {
    const credential = `fos_registry_${'A'.repeat(43)}`;
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_CREDENTIAL: credential }).serviceCredential()).toBe(credential);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_CREDENTIAL: `fos_gateway_${'A'.repeat(43)}` })).toThrow(/belongs to the gateway service, not to registry/);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_CREDENTIAL: 'hunter2-secret' })).toThrow(/is not a service credential/);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_CREDENTIAL: 'hunter2-secret' })).not.toThrow(/hunter2/);
  });

  it('refuses a key too short to be a secret', () => {
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: 'short' })).toThrow(/FORGEONE_SERVICE_KEY must be at least/);
  });

  it("derives the registry's own credential from the key, never sending the key itself", () => {
    const options = registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY });
    const credential = options.serviceCredential();
    expect(credential).toMatch(/^fos_registry_/);
    expect(credential).not.toContain(KEY);
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: `${KEY}x` }).serviceCredential()).not.toBe(credential);
  });

  it('reads the authorisation deadline and cache TTL, and refuses bad values', () => {
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY }).authz).toEqual({ timeoutMs: 2_000, cacheTtlMs: 5_000 });
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_AUTHZ_CACHE_TTL_MS: '0' }).authz.cacheTtlMs).toBe(0);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_AUTHZ_TIMEOUT_MS: 'soon' })).toThrow(/FORGEONE_AUTHZ_TIMEOUT_MS/);
  });

  it('reads FORGEONE_SIGNATURE_POLICY over the defaults, and refuses a bad policy naming the field', () => {
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY }).signaturePolicy).toEqual({
      production: { mode: 'strict', threshold: 1 },
      staging: { mode: 'audit', threshold: 1 },
    });
    const policy = registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_SIGNATURE_POLICY: '{"production":{"mode":"strict","threshold":2}}' }).signaturePolicy;
    expect(policy).toMatchObject({ production: { mode: 'strict', threshold: 2 }, staging: { mode: 'audit', threshold: 1 } });
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_SIGNATURE_POLICY: '{"production":{"mode":"off"}}' })).toThrow(
      /FORGEONE_SIGNATURE_POLICY production\.mode/,
    );
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_SIGNATURE_POLICY: 'strict' })).toThrow(/FORGEONE_SIGNATURE_POLICY is not valid JSON/);
  });

  it('reads the storage quota cap that publish holds manifests to, and refuses a bad value naming the variable', () => {
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY }).storageQuota.pluginCap).toEqual({ maxBytes: 64 * 1024 * 1024, maxKeys: 100_000 });
    expect(registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_STORAGE_MAX_QUOTA_KEYS: '20000' }).storageQuota.pluginCap.maxKeys).toBe(20_000);
    expect(() => registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: KEY, FORGEONE_STORAGE_MAX_QUOTA_BYTES: '-1' })).toThrow(/FORGEONE_STORAGE_MAX_QUOTA_BYTES/);
  });
});

describe('registry config - promotion settings', () => {
  it('defaults to a week for test runs and 5 % failed calls; takes both from the environment; refuses nonsense naming the variable', async () => {
    const { promotionSettingsFromEnv } = await import('./registry.config.js');
    expect(promotionSettingsFromEnv({})).toEqual({ testRunMaxAgeSeconds: 604_800, maxFailureRate: 0.05 });
    expect(promotionSettingsFromEnv({ FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S: '60', FORGEONE_PROMOTION_MAX_FAILURE_RATE: '0' })).toEqual({ testRunMaxAgeSeconds: 60, maxFailureRate: 0 });
    expect(() => promotionSettingsFromEnv({ FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S: '1h' })).toThrow(/FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S must be a whole number of seconds/);
    expect(() => promotionSettingsFromEnv({ FORGEONE_PROMOTION_MAX_FAILURE_RATE: '5' })).toThrow(/FORGEONE_PROMOTION_MAX_FAILURE_RATE must be a number from 0 to 1/);
  });
});
