import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, helloWasm, text } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { SandboxCallResult } from './sandbox.types.js';

const HELLO_LIMITS = { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 65536, maxConcurrency: 2 };

function output(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return text(result.output);
}

describe('SandboxHost - examples/plugins/hello', () => {
  const host = new SandboxHost();
  beforeAll(async () => {
    await host.load({ key: 'forgeone/hello@1.0.0', wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: HELLO_LIMITS });
  });
  afterAll(() => host.close());

  it('answers "hello, world" in a worker and inline', async () => {
    expect(output(await host.call('forgeone/hello@1.0.0', 'greet', bytes('world')))).toBe('hello, world');
    expect(output(host.runInline('forgeone/hello@1.0.0', 'greet', bytes('world')))).toBe('hello, world');
  });

  it('charges the same fuel for the same input, in workers and inline, across runs', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, () => host.call('forgeone/hello@1.0.0', 'greet', bytes('world'))));
    const inline = host.runInline('forgeone/hello@1.0.0', 'greet', bytes('world'));
    const fuel = new Set([...runs, inline].map((r) => r.fuelUsed));
    expect(fuel.size).toBe(1);
    expect(inline.fuelUsed).toBeGreaterThan(0);
    expect(host.runInline('forgeone/hello@1.0.0', 'greet', bytes('world, again')).fuelUsed).toBeGreaterThan(inline.fuelUsed!);
  });

  it('a busy host thread does not turn a finished call into a timeout', async () => {
    // The workers answer within microseconds, while this thread stays busy past the deadline inside a
    // timer callback, so the deadline timers run before the answers are read. The guests did not
    // overrun: the calls succeed.
    const key = 'forgeone/hello@1.0.0+tight';
    await host.load({ key, wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: { ...HELLO_LIMITS, timeoutMs: 20 }, warmWorkers: 2 });
    expect(host.poolStats(key)).toEqual({ workers: 2, busy: 0, queued: 0 });
    const calls = Array.from({ length: 2 }, () => host.call(key, 'greet', bytes('busy')));
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        const until = performance.now() + 150;
        while (performance.now() < until) {
          // busy: neither timers nor worker messages are read meanwhile
        }
        resolve();
      }, 0),
    );
    for (const result of await Promise.all(calls)) expect(output(result)).toBe('hello, busy');
    await host.unload(key);
  });

  it.each([
    ['long enough to catch every result while waiting', 200_000],
    ['shorter than a worker takes to wake, so most results come in a message', 6],
    ['off', 0],
  ])('answers every sequential call with its own result, busy-wait %s', async (_, spinMicros) => {
    // The calling thread busy-waits for a result only when recent calls were short; a result it
    // catches is taken from the channel and the worker sends no message for it, one it misses
    // comes in a message. Either way each call gets its own answer, and the next call is not
    // confused by the previous one's.
    const spinning = new SandboxHost({ spinMicros });
    const key = 'forgeone/hello@1.0.0';
    await spinning.load({ key, wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: { ...HELLO_LIMITS, maxConcurrency: 1 } });
    try {
      for (let i = 0; i < 300; i++) {
        expect(output(await spinning.call(key, 'greet', bytes(`caller ${i}`)))).toBe(`hello, caller ${i}`);
        if (i % 50 === 0) expect((await spinning.call(key, 'greet', new Uint8Array(0))).ok).toBe(false);
      }
      expect(spinning.poolStats(key)).toEqual({ workers: 1, busy: 0, queued: 0 });
    } finally {
      await spinning.close();
    }
  });

  it('reports the guest error message of a negative result', async () => {
    const result = await host.call('forgeone/hello@1.0.0', 'greet', new Uint8Array(0));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('SANDBOX.GUEST_ERROR');
    expect(result.error.message).toBe('greet needs a name: the input was empty');
    expect(result.violation).toBeUndefined();
  });

  it("keeps no state between calls: every call sees a fresh instance's state", async () => {
    // hello's bump allocator never frees; with a shared instance the output pointer would creep up.
    const a = host.runInline('forgeone/hello@1.0.0', 'greet', bytes('x'.repeat(1000)));
    const b = host.runInline('forgeone/hello@1.0.0', 'greet', bytes('x'.repeat(1000)));
    expect(a.fuelUsed).toBe(b.fuelUsed);
    expect(output(await host.call('forgeone/hello@1.0.0', 'greet', bytes('y')))).toBe('hello, y');
  });

  it('refuses an input above maxInputBytes before running anything', async () => {
    const small = new SandboxHost({ caps: { maxInputBytes: 8 }, prewarm: false });
    await small.load({ key: 'h', wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: HELLO_LIMITS });
    const result = await small.call('h', 'greet', bytes('a name longer than eight bytes'));
    expect(result).toMatchObject({ ok: false, violation: 'input_size', error: { code: 'SANDBOX.INPUT_TOO_LARGE' } });
    expect(small.poolStats('h')).toEqual({ workers: 0, busy: 0, queued: 0 });
    await small.close();
  });

  it('answers unknown plugins and handlers with SANDBOX.NOT_FOUND', async () => {
    expect(await host.call('nope@1.0.0', 'greet', bytes('x'))).toMatchObject({ ok: false, error: { code: 'SANDBOX.NOT_FOUND' } });
    expect(host.runInline('forgeone/hello@1.0.0', 'shout', bytes('x'))).toMatchObject({ ok: false, error: { code: 'SANDBOX.NOT_FOUND' } });
  });

  it('compiles a digest once: a second version with the same bytes reuses the module', async () => {
    const info = await host.load({ key: 'forgeone/hello@1.0.1', wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: HELLO_LIMITS });
    expect(info.compiledFromCache).toBe(true);
    expect(info.memoryMaxPages).toBe(16);
    expect(output(await host.call('forgeone/hello@1.0.1', 'greet', bytes('again')))).toBe('hello, again');
    await host.unload('forgeone/hello@1.0.1');
    expect(host.poolStats('forgeone/hello@1.0.1')).toBeUndefined();
  });
});
