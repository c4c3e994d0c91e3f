// Short calls run on the calling thread; anything the inline attempt cannot finish runs again in a
// worker with its whole budget, so a caller sees the same outcome either way.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bytes, helloWasm, text, wat2wasm } from '../test/wat.js';
import { INLINE_MAX_HOST_CALLS, inlinePlanOf } from './inline-call.policy.js';
import { SandboxHost } from './sandbox.host.js';
import type { SandboxCallResult } from './sandbox.types.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const HELLO_LIMITS = { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 65536 };
// Logs n times (n from the input's first byte), then answers "done": host calls on the inline path.
const LOGGER = `(module
  (import "forgeone" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "line")
  (data (i32.const 8) "done")
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32)
    (local.set $n (i32.load8_u (local.get $ptr)))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (call $log (i32.const 2) (i32.const 0) (i32.const 4))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (i64.or (i64.shl (i64.const 8) (i64.const 32)) (i64.const 4))))`;

const inlineSpans = (): boolean[] => exporter.getFinishedSpans().map((s) => s.attributes['forgeone.plugin.inline'] === true);
const comparable = (r: SandboxCallResult) => (r.ok ? { ok: true, output: text(r.output), fuelUsed: r.fuelUsed, logs: r.logs.length } : { ok: false, code: r.error.code, fuelUsed: r.fuelUsed });

describe('SandboxHost - inline calls', () => {
  const host = new SandboxHost();
  const workers = new SandboxHost({ inlineCalls: false });

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    for (const h of [host, workers]) {
      await h.load({ key: 'hello', wasm: helloWasm(), handlers: ['greet'], capabilities: {}, limits: HELLO_LIMITS });
      await h.load({ key: 'logger', wasm: await wat2wasm(LOGGER), handlers: ['run'], capabilities: { log: true }, limits: HELLO_LIMITS });
    }
  });
  afterAll(async () => {
    await Promise.all([host.close(), workers.close()]);
    trace.disable();
  });
  beforeEach(() => exporter.reset());

  it('inline answers of one turn settle in one microtask drain (their replies leave together)', async () => {
    const settled: number[] = [];
    let seenByFirst: number[] | undefined;
    const calls = [0, 1, 2].map((i) =>
      host.call('hello', 'greet', bytes('world')).then((r) => {
        settled.push(i);
        // Runs after every continuation queued with this one: all three when they were answered together.
        if (i === 0) queueMicrotask(() => (seenByFirst = [...settled]));
        return r;
      }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.ok ? text(r.output) : r.error.code))).toEqual(['hello, world', 'hello, world', 'hello, world']);
    expect(inlineSpans()).toEqual([true, true, true]);
    expect(seenByFirst).toEqual([0, 1, 2]);
  });

  it('a short call runs on the calling thread with the outcome and fuel a worker gives', async () => {
    for (const input of ['world', '']) {
      const inline = await host.call('hello', 'greet', bytes(input));
      expect(comparable(inline)).toEqual(comparable(await workers.call('hello', 'greet', bytes(input))));
    }
    expect(inlineSpans()).toEqual([true, false, true, false]);
  });

  it('a call that needs more fuel than the inline slice runs again in a worker with its whole budget', async () => {
    const plan = inlinePlanOf(helloWasm(), 16);
    expect(plan).toMatchObject({ fuel: expect.any(Number) });
    // hello copies byte by byte: ~20 fuel a byte, so a few KiB outrun the slice of a module that grows memory.
    const input = bytes('x'.repeat(4096));
    const result = await host.call('hello', 'greet', input);
    expect(result).toMatchObject({ ok: true, fuelUsed: expect.any(Number) });
    expect(result.fuelUsed).toBeGreaterThan((plan as { fuel: number }).fuel);
    expect(comparable(result)).toEqual(comparable(await workers.call('hello', 'greet', input)));
    expect(inlineSpans()[0]).toBe(false);
    // Still inline for short calls afterwards: one miss does not turn the version off.
    await host.call('hello', 'greet', bytes('world'));
    expect(inlineSpans()[2]).toBe(true);
  });

  it('a call making more host calls than the inline cap runs again in a worker and keeps every log', async () => {
    const few = await host.call('logger', 'run', Uint8Array.of(3));
    const many = await host.call('logger', 'run', Uint8Array.of(INLINE_MAX_HOST_CALLS + 10));
    expect(comparable(few)).toEqual({ ok: true, output: 'done', fuelUsed: expect.any(Number), logs: 3 });
    expect(comparable(many)).toEqual(comparable(await workers.call('logger', 'run', Uint8Array.of(INLINE_MAX_HOST_CALLS + 10))));
    expect(many.logs).toHaveLength(INLINE_MAX_HOST_CALLS + 10);
    expect(inlineSpans().slice(0, 2)).toEqual([true, false]);
  });

  it('a call with a deadline too short for the inline bound goes to a worker', async () => {
    const result = await host.call('hello', 'greet', bytes('world'), { timeoutMs: 5 });
    expect(comparable(result)).toMatchObject({ ok: true, output: 'hello, world' });
    expect(inlineSpans()).toEqual([false]);
  });
});

describe('inlinePlanOf - which modules may run inline', () => {
  it('refuses a module importing a host function that blocks (kv, http, auth)', async () => {
    const wasm = await wat2wasm(`(module (import "forgeone" "kv_get" (func (param i32 i32) (result i64))) (memory (export "memory") 1 1)
      (func (export "forgeone_abi_version") (result i32) i32.const 1) (func (export "forgeone_alloc") (param i32) (result i32) i32.const 0))`);
    expect(inlinePlanOf(wasm, 16)).toEqual({ reason: 'imports kv_get, answered only in a worker' });
  });

  it('refuses a module with bulk memory operations, whose time fuel does not bound', async () => {
    const wasm = await wat2wasm(`(module (memory (export "memory") 1 1)
      (func (export "forgeone_abi_version") (result i32) i32.const 1)
      (func (export "forgeone_alloc") (param i32) (result i32) (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536)) i32.const 0))`);
    expect(inlinePlanOf(wasm, 16)).toEqual({ reason: 'uses bulk memory or table operations, whose time fuel does not bound' });
  });

  it('gives a module that grows memory a smaller slice than one that does not, and none when its memory is too large to grow in time', async () => {
    const grows = inlinePlanOf(helloWasm(), 16) as { fuel: number };
    const flat = inlinePlanOf(await wat2wasm(LOGGER), 16) as { fuel: number };
    expect(grows.fuel).toBeLessThan(flat.fuel);
    expect(inlinePlanOf(helloWasm(), 4096)).toMatchObject({ reason: expect.stringContaining('4096 pages') });
  });
});
