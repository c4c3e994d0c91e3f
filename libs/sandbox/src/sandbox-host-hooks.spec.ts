// Host functions: synchronous ones answered in the worker, asynchronous ones (kv, http, auth)
// answered by HostHooks on the main thread while the guest waits.
import { setTimeout as sleep } from 'node:timers/promises';
import { ForgeOneError } from '@forgeone/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, testPlugin, text } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { HostCallContext, HostHooks, SandboxCallResult } from './sandbox.types.js';

/** An in-memory implementation of the hooks, asynchronous like the real storage and HTTP ones. */
class TestHooks implements HostHooks {
  readonly store = new Map<string, Uint8Array>();
  readonly seen: { fn: string; ctx: HostCallContext }[] = [];

  async kvGet(ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    this.seen.push({ fn: 'kvGet', ctx });
    if (key === 'hang') return new Promise(() => undefined);
    if (key === 'denied') throw new ForgeOneError('AUTHZ.DENIED', 'policy says no');
    await sleep(1);
    return this.store.get(`${ctx.metadata.tenant ?? ''}/${key}`);
  }

  async kvSet(ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    if (key === 'full') throw new ForgeOneError('SANDBOX.STORAGE_QUOTA_EXCEEDED', 'the plugin quota is used up');
    if (key === 'huge') throw new ForgeOneError('SANDBOX.STORAGE_VALUE_TOO_LARGE', 'too large for the bus');
    await sleep(1);
    this.store.set(`${ctx.metadata.tenant ?? ''}/${key}`, value);
  }

  async kvDelete(ctx: HostCallContext, key: string): Promise<boolean> {
    return this.store.delete(`${ctx.metadata.tenant ?? ''}/${key}`);
  }

  async httpRequest(ctx: HostCallContext, request: unknown): Promise<unknown> {
    const url = new URL((request as { url: string }).url);
    const allowed = typeof ctx.capabilities.http === 'object' && ctx.capabilities.http.allow.includes(url.host);
    if (!allowed) throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', `${url.host} is not allowed`);
    return { status: 200, body: `pong from ${url.host}` };
  }

  async authCheck(_ctx: HostCallContext, request: unknown): Promise<boolean> {
    if ((request as { action: string }).action === 'explode') throw new Error('policy service unreachable');
    return (request as { action: string }).action === 'read';
  }
}

const KEY = 'acme/host-calls@1.0.0';
const HANDLERS = ['kv_roundtrip', 'kv_put', 'kv_read', 'kv_remove', 'http', 'auth', 'env', 'clock'];
const ALL = { log: true, metrics: true, clock: true, config: true, storage: true, auth: true, http: { allow: ['api.acme.example'] } };

function ok(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return text(result.output);
}

describe('SandboxHost - host hooks', () => {
  const hooks = new TestHooks();
  const host = new SandboxHost({ hooks });

  beforeAll(async () => {
    await host.load({
      key: KEY,
      wasm: await testPlugin('host-calls'),
      handlers: HANDLERS,
      capabilities: ALL,
      limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 4096, maxConcurrency: 3 },
      config: { greeting: 'hi there' },
    });
  });
  afterAll(() => host.close());

  it('kv_set then kv_get through async hooks, with the caller metadata passed to the hook', async () => {
    expect(ok(await host.call(KEY, 'kv_roundtrip', bytes('colour'), { metadata: { tenant: 't1' } }))).toBe('colour');
    expect(text(hooks.store.get('t1/colour')!)).toBe('colour');
    expect(hooks.seen.at(-1)).toMatchObject({ fn: 'kvGet', ctx: { plugin: KEY, handler: 'kv_roundtrip', metadata: { tenant: 't1' } } });
  });

  it('kv_get of a missing key answers -1 to the guest, which reports it', async () => {
    const result = await host.call(KEY, 'kv_read', bytes('missing'));
    expect(result).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'host call failed', details: { result: -1 } } });
  });

  it('a hook refusing with AUTHZ.DENIED answers -2; kv_delete answers 0 then -1', async () => {
    expect(await host.call(KEY, 'kv_read', bytes('denied'))).toMatchObject({ ok: false, error: { details: { result: -2 } } });
    hooks.store.set('/gone', bytes('x'));
    expect(ok(await host.call(KEY, 'kv_remove', bytes('gone')))).toBe('0');
    expect(ok(await host.call(KEY, 'kv_remove', bytes('gone')))).toBe('/');
  });

  it('kv_set - a hook refusing with STORAGE_QUOTA_EXCEEDED answers -6, STORAGE_VALUE_TOO_LARGE -5, and nothing is stored', async () => {
    expect(ok(await host.call(KEY, 'kv_put', bytes('stored')))).toBe('0');
    expect(ok(await host.call(KEY, 'kv_put', bytes('full')))).toBe('*');
    expect(ok(await host.call(KEY, 'kv_put', bytes('huge')))).toBe('+');
    expect([...hooks.store.keys()].filter((k) => k.endsWith('/full') || k.endsWith('/huge'))).toEqual([]);
  });

  it('kv_set - a value larger than the host channel answers -5 without reaching the hook', async () => {
    const small = new SandboxHost({ hooks, hostChannelBytes: 1024 });
    await small.load({ key: KEY, wasm: await testPlugin('host-calls'), handlers: HANDLERS, capabilities: ALL, limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 4096 } });
    try {
      const fits = 'f'.repeat(1024);
      const over = 'o'.repeat(1025);
      expect(ok(await small.call(KEY, 'kv_put', bytes(fits)))).toBe('0');
      expect(ok(await small.call(KEY, 'kv_put', bytes(over)))).toBe('+');
      expect(hooks.store.has(`/${fits}`)).toBe(true);
      expect(hooks.store.has(`/${over}`)).toBe(false);
    } finally {
      await small.close();
    }
  });

  it('http_request sends parsed JSON to the hook and gives the JSON answer to the guest', async () => {
    const answer = ok(await host.call(KEY, 'http', bytes(JSON.stringify({ method: 'GET', url: 'https://api.acme.example/ping' }))));
    expect(JSON.parse(answer)).toEqual({ status: 200, body: 'pong from api.acme.example' });
    // The hook enforces the allow-list; the guest sees "denied".
    const refused = await host.call(KEY, 'http', bytes(JSON.stringify({ url: 'https://evil.example/' })));
    expect(refused).toMatchObject({ ok: false, error: { details: { result: -2 } } });
    // Malformed JSON fails (-3) without reaching the hook.
    expect(await host.call(KEY, 'http', bytes('{not json'))).toMatchObject({ ok: false, error: { details: { result: -3 } } });
  });

  it('auth_check answers 1 or 0, and -3 when the hook fails', async () => {
    expect(ok(await host.call(KEY, 'auth', bytes('{"action":"read"}')))).toBe('1');
    expect(ok(await host.call(KEY, 'auth', bytes('{"action":"write"}')))).toBe('0');
    expect(ok(await host.call(KEY, 'auth', bytes('{"action":"explode"}')))).toBe('-');
  });

  it('log, metric and config_get are answered in the worker and returned with the result', async () => {
    const result = await host.call(KEY, 'env', bytes('a log line'));
    expect(ok(result)).toBe('hi there');
    expect(result.logs).toEqual([{ level: 1, message: 'a log line' }]);
    expect(result.metrics).toEqual([{ name: 'calls', value: 1.5 }]);
    expect(ok(await host.call(KEY, 'env', bytes('x'), { config: { greeting: 'per call' } }))).toBe('per call');
  });

  it('now_ms answers the time passed with the call', async () => {
    const result = await host.call(KEY, 'clock', bytes('x'), { nowMs: 1_700_000_000_123 });
    if (!result.ok) throw result.error;
    expect(new DataView(result.output.buffer, result.output.byteOffset, 8).getBigInt64(0, true)).toBe(1_700_000_000_123n);
  });

  it('a hook that never answers is ended by the deadline; the pool keeps serving', async () => {
    const hung = await host.call(KEY, 'kv_read', bytes('hang'), { timeoutMs: 100 });
    expect(hung).toMatchObject({ ok: false, violation: 'timeout', error: { code: 'SANDBOX.TIMEOUT' } });
    expect(ok(await host.call(KEY, 'kv_roundtrip', bytes('after')))).toBe('after');
  });

  it('concurrent calls each get their own answers', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k) => host.call(KEY, 'kv_roundtrip', bytes(k))));
    expect(results.map(ok)).toEqual(keys);
  });

  it('capabilities narrowed for a call deny the plugin before it runs', async () => {
    const result = await host.call(KEY, 'env', bytes('x'), { capabilities: { log: true, metrics: true, config: true } });
    expect(result).toMatchObject({ ok: false, violation: 'capability', error: { code: 'SANDBOX.CAPABILITY_DENIED', details: { missing: ['clock', 'storage', 'http', 'auth'] } } });
  });

  it('runInline serves synchronous host functions and refuses the asynchronous ones', async () => {
    expect(ok(host.runInline(KEY, 'env', bytes('inline')))).toBe('hi there');
    expect(host.runInline(KEY, 'kv_read', bytes('x'))).toMatchObject({ ok: false, violation: 'capability', error: { code: 'SANDBOX.CAPABILITY_DENIED', details: { inline: true } } });
  });

  it('without hooks the asynchronous host functions answer -3', async () => {
    const bare = new SandboxHost({ prewarm: false });
    await bare.load({ key: KEY, wasm: await testPlugin('host-calls'), handlers: HANDLERS, capabilities: ALL, limits: { memoryMiB: 1, fuel: 100_000, timeoutMs: 1000, maxOutputBytes: 4096 } });
    expect(await bare.call(KEY, 'kv_read', bytes('x'))).toMatchObject({ ok: false, error: { details: { result: -3 } } });
    await bare.close();
  });
});
