// Plugin storage quotas on a real JetStream key/value bucket, with writers on separate connections
// standing in for several sandbox-runner replicas.
import { ForgeOneError } from '@forgeone/contracts';
import { removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginStorage } from './plugin-storage.js';
import { pluginUsageKey, tenantUsageKey, type StorageScope } from './storage-keys.js';

const namespace = testNamespace('pstore');
const bucket = `${namespace}-forgeone-plugin-kv`;
const connections: NatsConnection[] = [];
const utf8 = (text: string) => new TextEncoder().encode(text);
const bytesOf = (n: number) => new Uint8Array(n).fill(7);

async function storageOn(tenantQuota = { maxBytes: 1_000_000, maxKeys: 1_000 }, maxValueBytes = 64 * 1024): Promise<{ storage: PluginStorage; kv: KV }> {
  const nc = await connect({ servers: TEST_NATS_URL });
  connections.push(nc);
  const kv = await new Kvm(nc).create(bucket, { history: 1 });
  return { kv, storage: new PluginStorage({ kv: async () => kv, tenantQuota, maxValueBytes: () => maxValueBytes }) };
}

/** What a scope really holds: its data keys (decoded) and value sizes, read from the bucket. */
async function recount(kv: KV, scope: StorageScope): Promise<{ bytes: number; keys: number }> {
  const prefix = `${scope.tenant}.${scope.name.replace('/', '.')}.${scope.environment}.`;
  let bytes = 0;
  let keys = 0;
  for await (const key of await kv.keys(`${prefix}>`)) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    keys += 1;
    bytes += Buffer.from(key.slice(prefix.length), 'base64url').byteLength + entry.length;
  }
  return { bytes, keys };
}

async function refusal(p: Promise<unknown>): Promise<ForgeOneError> {
  try {
    await p;
  } catch (error) {
    return error as ForgeOneError;
  }
  throw new Error('expected a refusal');
}

afterAll(async () => {
  for (const nc of connections) await nc.close();
  await removeNamespace(namespace);
});

describe('plugin storage - quotas on NATS KV', () => {
  let a: { storage: PluginStorage; kv: KV };
  let b: { storage: PluginStorage; kv: KV };

  beforeAll(async () => {
    a = await storageOn();
    b = await storageOn();
  });

  it('quota - a write past the plugin quota is STORAGE_QUOTA_EXCEEDED and stores nothing; usage counts keys and values', async () => {
    const scope = { tenant: 'acme', name: 'acme/quota', environment: 'staging' };
    const quota = { maxBytes: 100, maxKeys: 3 };
    await a.storage.set(scope, quota, 'k1', bytesOf(10));
    await a.storage.set(scope, quota, 'k2', bytesOf(10));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 24, keys: 2 });
    // 2 + 77 more bytes would make 101.
    const bytes = await refusal(a.storage.set(scope, quota, 'k3', bytesOf(75)));
    expect(bytes).toMatchObject({ code: 'SANDBOX.STORAGE_QUOTA_EXCEEDED', details: { usedBytes: 24, usedKeys: 2, maxBytes: 100, maxKeys: 3 } });
    expect(bytes.message).toContain('the storage quota of plugin acme/quota in staging is 100 bytes and 3 keys');
    await a.storage.set(scope, quota, 'k3', bytesOf(74));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 100, keys: 3 });
    expect((await refusal(a.storage.set(scope, quota, 'k4', bytesOf(0)))).code).toBe('SANDBOX.STORAGE_QUOTA_EXCEEDED');
    expect(await a.storage.get(scope, 'k4')).toBeUndefined();
    expect(await recount(a.kv, scope)).toEqual({ bytes: 100, keys: 3 });
    // The same quota in another environment is counted on its own.
    await a.storage.set({ ...scope, environment: 'production' }, quota, 'k4', bytesOf(10));
    expect(await a.storage.get(scope, 'k4')).toBeUndefined();
  });

  it('concurrency - two writers on separate connections never take a plugin past its quota together', async () => {
    const scope = { tenant: 'acme', name: 'acme/race', environment: 'staging' };
    const quota = { maxBytes: 1_000_000, maxKeys: 25 };
    const write = (storage: PluginStorage, key: string) =>
      storage.set(scope, quota, key, bytesOf(16)).then(
        () => 'stored',
        (e: ForgeOneError) => e.code,
      );
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => [write(a.storage, `a${i}`), write(b.storage, `b${i}`)]).flat());
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(25);
    expect(outcomes.filter((o) => o !== 'stored').every((o) => o === 'SANDBOX.STORAGE_QUOTA_EXCEEDED')).toBe(true);
    const held = await recount(a.kv, scope);
    expect(held.keys).toBe(25);
    expect(await b.storage.usage(scope)).toEqual(held);
  });

  it('concurrency - bytes: writers racing for the last bytes of a quota store only what fits', async () => {
    const scope = { tenant: 'acme', name: 'acme/bytes', environment: 'staging' };
    const quota = { maxBytes: 1_000, maxKeys: 1_000 };
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).storage.set(scope, quota, `k${i % 10}-${i}`, bytesOf(96)).then(() => 'stored', (e: ForgeOneError) => e.code)),
    );
    // Every key is 5 or 6 bytes: 10 writes of ~101 bytes fit under 1,000 at most.
    const held = await recount(b.kv, scope);
    expect(held.bytes).toBeLessThanOrEqual(1_000);
    expect(held.keys).toBe(outcomes.filter((o) => o === 'stored').length);
    expect(held.keys).toBeGreaterThanOrEqual(9);
    expect(await a.storage.usage(scope)).toEqual(held);
  });

  it('tenant total - the plugins of one tenant share its quota; another tenant is not affected', async () => {
    const small = await storageOn({ maxBytes: 10_000, maxKeys: 5 });
    const quota = { maxBytes: 10_000, maxKeys: 100 };
    const one = { tenant: 'initech', name: 'initech/one', environment: 'staging' };
    const two = { tenant: 'initech', name: 'initech/two', environment: 'production' };
    for (const key of ['a', 'b', 'c']) await small.storage.set(one, quota, key, utf8('x'));
    await small.storage.set(two, quota, 'a', utf8('x'));
    await small.storage.set(two, quota, 'b', utf8('x'));
    const refused = await refusal(small.storage.set(two, quota, 'c', utf8('x')));
    expect(refused).toMatchObject({ code: 'SANDBOX.STORAGE_QUOTA_EXCEEDED', details: { usedKeys: 5, maxKeys: 5 } });
    expect(refused.message).toContain('tenant initech (all plugins and environments)');
    // The plugin's own reservation was given back when the tenant refused.
    expect(await small.storage.usage(two)).toEqual({ bytes: 4, keys: 2 });
    expect(await small.storage.tenantUsage('initech')).toEqual({ bytes: 10, keys: 5 });
    // Overwriting an existing key needs no new key and still fits.
    await small.storage.set(two, quota, 'b', utf8('xyz'));
    await small.storage.set({ tenant: 'globex', name: 'globex/one', environment: 'staging' }, quota, 'a', utf8('x'));
    expect(await small.storage.tenantUsage('globex')).toEqual({ bytes: 2, keys: 1 });
    // Freeing a key in one plugin makes room for another.
    expect(await small.storage.delete(one, 'a')).toBe(true);
    await small.storage.set(two, quota, 'c', utf8('x'));
    expect(await small.storage.tenantUsage('initech')).toEqual({ bytes: 12, keys: 5 });
  });

  it('overwrite and delete - usage follows the size a write replaces, and a delete gives key and bytes back', async () => {
    const scope = { tenant: 'acme', name: 'acme/notes', environment: 'staging' };
    const quota = { maxBytes: 1_000, maxKeys: 10 };
    await a.storage.set(scope, quota, 'note', bytesOf(100));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 104, keys: 1 });
    await a.storage.set(scope, quota, 'note', bytesOf(30));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 34, keys: 1 });
    await a.storage.set(scope, quota, 'note', bytesOf(500));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 504, keys: 1 });
    // An overwrite that would pass the quota is refused and the old value stays.
    expect((await refusal(a.storage.set(scope, quota, 'note', bytesOf(997)))).code).toBe('SANDBOX.STORAGE_QUOTA_EXCEEDED');
    expect(Buffer.from((await a.storage.get(scope, 'note'))!).equals(bytesOf(500))).toBe(true);
    const before = await a.storage.tenantUsage('acme');
    expect(await a.storage.delete(scope, 'note')).toBe(true);
    expect(await a.storage.delete(scope, 'note')).toBe(false);
    expect(await a.storage.usage(scope)).toEqual({ bytes: 0, keys: 0 });
    expect(await a.storage.tenantUsage('acme')).toEqual({ bytes: before.bytes - 504, keys: before.keys - 1 });
    expect(await a.storage.get(scope, 'note')).toBeUndefined();
    expect(await recount(a.kv, scope)).toEqual({ bytes: 0, keys: 0 });
    // A key written again after its delete counts from nothing.
    await a.storage.set(scope, quota, 'note', bytesOf(6));
    expect(await a.storage.usage(scope)).toEqual({ bytes: 10, keys: 1 });
  });

  it('concurrency - writes, overwrites and deletes of the same keys from two connections leave usage equal to the data held', async () => {
    const scope = { tenant: 'acme', name: 'acme/churn', environment: 'staging' };
    const quota = { maxBytes: 100_000, maxKeys: 100 };
    const ops = Array.from({ length: 60 }, (_, i) => {
      const storage = (i % 2 === 0 ? a : b).storage;
      const key = `k${i % 4}`;
      return i % 3 === 2 ? storage.delete(scope, key) : storage.set(scope, quota, key, bytesOf(10 + ((i * 37) % 200)));
    });
    await Promise.all(ops);
    const held = await recount(a.kv, scope);
    expect(await a.storage.usage(scope)).toEqual(held);
    expect(held.keys).toBeLessThanOrEqual(4);
  });

  it('value size - a value above the bus limit is STORAGE_VALUE_TOO_LARGE, named with both sizes, and stores nothing', async () => {
    const tight = await storageOn(undefined, 1_024);
    const scope = { tenant: 'acme', name: 'acme/big', environment: 'staging' };
    const error = await refusal(tight.storage.set(scope, { maxBytes: 1_000_000, maxKeys: 10 }, 'blob', bytesOf(1_025)));
    expect(error).toMatchObject({ code: 'SANDBOX.STORAGE_VALUE_TOO_LARGE', details: { valueBytes: 1_025, maxValueBytes: 1_024 } });
    expect(error.message).toBe('the value is 1025 bytes; plugin storage takes values of at most 1024 bytes');
    expect(await tight.storage.usage(scope)).toEqual({ bytes: 0, keys: 0 });
    await tight.storage.set(scope, { maxBytes: 1_000_000, maxKeys: 10 }, 'blob', bytesOf(1_024));
    expect(Buffer.from((await tight.storage.get(scope, 'blob'))!).equals(bytesOf(1_024))).toBe(true);
  });

  it('counters - live in the same bucket under keys no plugin key can name; an unreadable counter refuses writes', async () => {
    const scope = { tenant: 'acme', name: 'acme/broken', environment: 'staging' };
    expect(pluginUsageKey(scope)).toBe('_usage.acme.acme.broken.staging');
    expect(tenantUsageKey('acme')).toBe('_usage.acme');
    expect(await a.kv.get('_usage.acme')).not.toBeNull();
    await a.kv.put(pluginUsageKey(scope), utf8('lots'));
    const error = await refusal(a.storage.set(scope, { maxBytes: 100, maxKeys: 10 }, 'k', utf8('v')));
    expect(error).toMatchObject({ code: 'SERVICE.INTERNAL', message: expect.stringContaining('_usage.acme.acme.broken.staging does not hold') });
    expect(await a.storage.get(scope, 'k')).toBeUndefined();
  });

  it('usage by environment - one counter per environment the plugin wrote in', async () => {
    const usage = await a.storage.usageByEnvironment('acme', 'acme/quota');
    expect([...usage.entries()]).toEqual([
      ['production', { bytes: 12, keys: 1 }],
      ['staging', { bytes: 100, keys: 3 }],
    ]);
    expect((await a.storage.usageByEnvironment('acme', 'acme/nothing')).size).toBe(0);
  });
});
