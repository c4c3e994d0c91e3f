import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterWasmModule } from '@forgeone/plugin-abi';
import { readFileSync } from 'node:fs';
import { bytes, testPlugin, wat2wasm } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { SandboxCallResult } from './sandbox.types.js';

// The engine's WebAssembly API (the lib compiles without DOM typings).
const engine = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> } };
}).WebAssembly;
const LIMITS = { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 2000, maxOutputBytes: 65536, maxConcurrency: 1 };
// calls, counter, start marker, started, memory pages, seed byte ('e'): the state right after instantiation, plus this call.
const PRISTINE = [1, 1, 7, 1, 1, 'e'.charCodeAt(0)];

function outputBytes(result: SandboxCallResult): number[] {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return [...result.output];
}

describe('SandboxHost - instances are reset between calls', () => {
  const host = new SandboxHost();
  let stateful: Uint8Array;
  beforeAll(async () => {
    stateful = await testPlugin('stateful');
    await host.load({ key: 'stateful', wasm: stateful, handlers: ['observe', 'grow', 'trap', 'abort', 'fault', 'fail'], capabilities: {}, limits: LIMITS });
    await host.load({ key: 'table', wasm: await testPlugin('table-setter'), handlers: ['swap'], capabilities: {}, limits: LIMITS });
  });
  afterAll(() => host.close());

  it('metering - exports the mutable globals and marks the module resettable', () => {
    const metered = meterWasmModule(stateful, { memoryCapPages: 16 });
    expect(metered.reset).toEqual({ resettable: true, globals: ['__forgeone_global_0', '__forgeone_global_1', '__forgeone_global_2'], writeTracking: { kind: 'high-water' } });
  });

  it('every call sees globals, memory and the start function state of a fresh instance, inline and in a worker', async () => {
    for (let i = 0; i < 5; i++) {
      expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
      expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    }
  });

  it('charges the start function to every call, so fuel is the same on the first and later calls', async () => {
    const fresh = new SandboxHost({ prewarm: false });
    await fresh.load({ key: 's', wasm: stateful, handlers: ['observe'], capabilities: {}, limits: LIMITS });
    const first = fresh.runInline('s', 'observe', bytes(''));
    const second = fresh.runInline('s', 'observe', bytes(''));
    const inWorker = [await fresh.call('s', 'observe', bytes('')), await fresh.call('s', 'observe', bytes(''))];
    await fresh.close();
    expect(first.fuelUsed).toBeGreaterThan(0);
    expect([second, ...inWorker].map((r) => r.fuelUsed)).toEqual([first.fuelUsed, first.fuelUsed, first.fuelUsed]);
  });

  it('refuses with SANDBOX.FUEL_EXHAUSTED when the budget does not cover the start function on a reused instance', async () => {
    host.runInline('stateful', 'observe', bytes(''));
    const starved = host.runInline('stateful', 'observe', bytes(''), { fuel: 1 });
    expect(starved).toMatchObject({ ok: false, violation: 'fuel', error: { code: 'SANDBOX.FUEL_EXHAUSTED' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('drops an instance whose memory grew, so the next call starts at the initial size', async () => {
    expect(outputBytes(host.runInline('stateful', 'grow', bytes('')))).toEqual([9]);
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(outputBytes(await host.call('stateful', 'grow', bytes('')))).toEqual([9]);
    expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('drops an instance whose memory grew from no pages at all, so nothing it wrote reaches the next call', async () => {
    // A memory of 0 pages: the snapshot is empty, like the view a growth detaches; the second call must not see the first's byte.
    const wasm = await wat2wasm(`(module
      (memory (export "memory") 0 4)
      (func (export "forgeone_abi_version") (result i32) i32.const 1)
      (func (export "forgeone_alloc") (param i32) (result i32) i32.const 0)
      (func (export "bump") (param i32 i32) (result i64)
        (if (i32.eqz (memory.size)) (then (drop (memory.grow (i32.const 1)))))
        (i32.store8 (i32.const 8) (i32.add (i32.load8_u (i32.const 8)) (i32.const 1)))
        i64.const 0x800000001))`);
    const grower = new SandboxHost();
    await grower.load({ key: 'empty-memory', wasm, handlers: ['bump'], capabilities: {}, limits: LIMITS });
    try {
      for (let i = 0; i < 3; i++) {
        expect(outputBytes(grower.runInline('empty-memory', 'bump', bytes('')))).toEqual([1]);
        expect(outputBytes(await grower.call('empty-memory', 'bump', bytes('')))).toEqual([1]);
      }
    } finally {
      await grower.close();
    }
  });

  it('a grow refused in one call is not reported by the next calls on the same instance', async () => {
    const wasm = await wat2wasm(`(module
      (memory (export "memory") 1)
      (func (export "forgeone_abi_version") (result i32) i32.const 1)
      (func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)
      (func (export "greedy") (param i32 i32) (result i64) (drop (memory.grow (i32.const 1000))) i64.const 0)
      (func (export "greedy_fail") (param i32 i32) (result i64) (drop (memory.grow (i32.const 1000))) i64.const -1)
      (func (export "fail") (param i32 i32) (result i64) i64.const -1)
      (func (export "trap") (param i32 i32) (result i64) unreachable))`);
    const greedy = new SandboxHost();
    await greedy.load({ key: 'greedy', wasm, handlers: ['greedy', 'greedy_fail', 'fail', 'trap'], capabilities: {}, limits: LIMITS });
    try {
      const runs: ((handler: string) => Promise<SandboxCallResult>)[] = [async (h) => greedy.runInline('greedy', h, bytes('')), (h) => greedy.call('greedy', h, bytes(''))];
      for (const run of runs) {
        expect(await run('greedy_fail')).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', details: { result: -1, memoryGrowRefused: true } } });
        for (let i = 0; i < 2; i++) {
          expect(await run('greedy')).toMatchObject({ ok: true });
          const failed = await run('fail');
          expect(failed).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', details: { result: -1 } } });
          expect(failed.ok ? undefined : failed.error.details).not.toHaveProperty('memoryGrowRefused');
        }
        expect(await run('greedy')).toMatchObject({ ok: true });
        // A trap after a refused grow in an earlier call is a trap, not the memory limit.
        expect(await run('trap')).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
      }
    } finally {
      await greedy.close();
    }
  });

  it('never reuses an instance after a trap, and resets after a guest error', async () => {
    expect(host.runInline('stateful', 'trap', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(await host.call('stateful', 'trap', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
    expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(host.runInline('stateful', 'fail', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'seed' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('a message reported before an unreachable trap (a panic, an abort) is a guest error with that message; the instance is not reused', async () => {
    const aborted = { ok: false, violation: undefined, error: { code: 'SANDBOX.GUEST_ERROR', message: 'seed', details: { trap: 'unreachable', aborted: true } } };
    expect(host.runInline('stateful', 'abort', bytes(''))).toMatchObject(aborted);
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(await host.call('stateful', 'abort', bytes(''))).toMatchObject(aborted);
    expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('a message reported before any other trap does not turn the trap into a guest error', async () => {
    const fault = host.runInline('stateful', 'fault', bytes(''));
    expect(fault).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP', details: { trap: expect.stringMatching(/out of bounds/) } } });
    expect(await host.call('stateful', 'fault', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
  });

  it('gives a module that changes its table a fresh instance per call', async () => {
    expect(meterWasmModule(await testPlugin('table-setter'), { memoryCapPages: 16 }).reset).toMatchObject({ resettable: false, reason: 'the code uses table.set' });
    for (let i = 0; i < 3; i++) {
      expect(outputBytes(host.runInline('table', 'swap', bytes('')))).toEqual([1]);
      expect(outputBytes(await host.call('table', 'swap', bytes('')))).toEqual([1]);
    }
  });
});

describe('SandboxHost - the reset after a call restores every byte the call wrote', () => {
  // The reset restores only memory a call could have written (tracked by the metering rewriter for the
  // guest, by the host for its own copies); scribbler.wat writes through every store width,
  // memory.fill/copy/init, callees that leave by return and by branch, and loops. Its memory is
  // resized for each way of tracking: a high-water mark (2 pages), 32 buckets (4 pages), 32
  // buckets that the start function outgrows (3 pages grown to 5), where the host must restore all,
  // and the distance from a stack pointer (4 pages, the stack starting at 2 pages, as toolchains lay
  // memory out), with writes on both sides of it, next to it and far from it.
  const VARIANTS = [
    { key: 'scribbler', pages: 2, grow: 0, stack: 0, tracking: 'high-water', addresses: [8, 3000, 40_000, 66_000] },
    { key: 'scribbler-buckets', pages: 4, grow: 0, stack: 0, tracking: 'buckets', addresses: [8, 3000, 8190, 40_000, 66_000, 200_000] },
    { key: 'scribbler-outgrown', pages: 3, grow: 2, stack: 0, tracking: 'buckets', addresses: [8, 40_000, 300_000] },
    { key: 'scribbler-distance', pages: 4, grow: 0, stack: 131_072, tracking: 'distance', addresses: [8, 3000, 66_000, 130_000, 131_060, 131_072, 131_080, 140_000, 200_000] },
  ];
  const host = new SandboxHost();
  const limits = { memoryMiB: 1, fuel: 20_000_000, timeoutMs: 5000, maxOutputBytes: 64, maxInputBytes: 65536, maxConcurrency: 1 };
  const CLEAN = { differing: 0, first: 0xffffffff };
  const OPS = ['i32.store', 'i64.store offset=8', 'f32.store offset=100', 'f64.store offset=1000', 'i32.store8 offset=500', 'i32.store16', 'i64.store8', 'i64.store16', 'i64.store32', 'memory.fill', 'memory.copy', 'memory.init', 'a callee that returns', 'a callee that branches out', 'a tight loop', 'a loop with one store per 40+ instructions'];
  let scribbler: Uint8Array;

  const writeInput = (op: number, address: number): Uint8Array => {
    const input = new Uint8Array(5);
    input[0] = op;
    new DataView(input.buffer).setUint32(1, address, true);
    return input;
  };
  const scanned = (result: SandboxCallResult): { differing: number; first: number } => {
    const out = Uint8Array.from(outputBytes(result));
    const view = new DataView(out.buffer);
    return { differing: view.getUint32(0, true), first: view.getUint32(4, true) };
  };

  beforeAll(async () => {
    scribbler = await testPlugin('scribbler');
    const text = readFileSync(new URL('../test/plugins/scribbler.wat', import.meta.url), 'utf8');
    for (const v of VARIANTS) {
      let wat = text.replace('(memory (export "memory") 2 4)', `(memory (export "memory") ${v.pages} 16)`);
      if (v.grow > 0) wat = wat.replace('(global $heap', `(func $grow (drop (memory.grow (i32.const ${v.grow})))) (start $grow) (global $heap`);
      // The stack below the pivot and the heap from it upwards, as toolchains lay memory out.
      if (v.stack > 0) wat = wat.replace('(global $heap (mut i32) (i32.const 1024))', `(global $sp (mut i32) (i32.const ${v.stack})) (global $heap (mut i32) (i32.const ${v.stack}))`);
      const wasm = await wat2wasm(wat);
      expect(meterWasmModule(wasm, { memoryCapPages: 16 }).reset.writeTracking.kind, v.key).toBe(v.tracking);
      await host.load({ key: v.key, wasm, handlers: ['write', 'poke', 'noop', 'config', 'scan'], capabilities: { config: true }, limits, config: { k: 'v'.repeat(6000) } });
    }
  });
  afterAll(() => host.close());

  it('the scan finds what a write left behind on an instance that is not reset', async () => {
    const instance = new engine.Instance(new engine.Module(scribbler), { forgeone: { config_get: () => -1n } });
    const e = instance.exports as Record<string, unknown> & { memory: { buffer: ArrayBuffer }; forgeone_alloc(n: number): number };
    const call = (name: string, input: Uint8Array): Uint8Array => {
      const ptr = e.forgeone_alloc(input.length);
      new Uint8Array(e.memory.buffer, ptr, input.length).set(input);
      const r = (e[name] as (p: number, l: number) => bigint)(ptr, input.length);
      return new Uint8Array(e.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
    };
    const first = new DataView(call('scan', new Uint8Array(0)).buffer);
    expect(first.getUint32(0, true)).toBe(0);
    call('write', writeInput(1, 40_000));
    const after = new DataView(call('scan', new Uint8Array(0)).buffer);
    expect(after.getUint32(0, true)).toBeGreaterThan(0);
    expect(after.getUint32(4, true)).toBeGreaterThanOrEqual(1024); // the heap: earlier outputs and the write's input
  });

  it.each(VARIANTS)('$key ($pages pages, grown by $grow): every kind of write, at low and high addresses, is undone before the next call, inline and in a worker', async ({ key, addresses }) => {
    expect(scanned(host.runInline(key, 'scan', bytes('')))).toEqual(CLEAN);
    for (const [op, name] of OPS.entries()) {
      for (const address of addresses) {
        const inline = host.runInline(key, 'write', writeInput(op, address));
        expect(outputBytes(inline), `${name} at ${address}`).toEqual([op]);
        expect(scanned(host.runInline(key, 'scan', bytes(''))), `${name} at ${address}, inline`).toEqual(CLEAN);
        expect(outputBytes(await host.call(key, 'write', writeInput(op, address))), `${name} at ${address}`).toEqual([op]);
        expect(scanned(await host.call(key, 'scan', bytes(''))), `${name} at ${address}, in a worker`).toEqual(CLEAN);
      }
    }
  });

  it('scribbler-distance: a store just above or just below the pivot, and the input the host wrote at it, are undone to the byte', async () => {
    // The input (4 bytes at the pivot) and the store are the only writes, so the distance is tight.
    const address = (a: number): Uint8Array => new Uint8Array(new Uint32Array([a]).buffer);
    for (const at of [131_072 + 16, 131_072 + 4, 131_072 + 100, 131_072 - 8, 131_072 - 40, 131_072 - 300, 131_072 - 4096]) {
      expect(outputBytes(host.runInline('scribbler-distance', 'poke', address(at))), `poke at ${at}`).toEqual(Array(8).fill(0xff));
      expect(scanned(host.runInline('scribbler-distance', 'scan', bytes(''))), `poke at ${at}, inline`).toEqual(CLEAN);
      expect(outputBytes(await host.call('scribbler-distance', 'poke', address(at)))).toEqual(Array(8).fill(0xff));
      expect(scanned(await host.call('scribbler-distance', 'scan', bytes(''))), `poke at ${at}, in a worker`).toEqual(CLEAN);
    }
  });

  it.each(VARIANTS)('$key: what the host copied in (a large input, a config value) is undone too', async ({ key }) => {
    expect(outputBytes(host.runInline(key, 'noop', new Uint8Array(60_000).fill(1)))).toEqual([]);
    expect(scanned(host.runInline(key, 'scan', bytes('')))).toEqual(CLEAN);
    expect((await host.call(key, 'config', bytes(''))).ok).toBe(true);
    expect(scanned(await host.call(key, 'scan', bytes('')))).toEqual(CLEAN);
  });
});
