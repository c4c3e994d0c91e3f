// Over 400 lines: the rewriter's cases (fuel, memory cap, structure, balance threading) share one set of WAT
// fixtures and helpers; the differential test over generated modules is in its own file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { engine, wat2wasm, type WasmMemoryLike } from '../test/wat.js';
import { WasmRewriteError } from './wasm-instruction.decoder.js';
import { METERING_EXPORTS, meterWasmModule, type WriteTracking } from './wasm-metering.rewriter.js';
import { inspectWasmModule } from './wasm-module.inspector.js';

const wasmApi = globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean; RuntimeError: new () => Error } };
const HELLO = new URL('../../../examples/plugins/hello/plugin.wasm', import.meta.url);

interface Global<T> {
  value: T;
}
interface Metered {
  fuel: Global<bigint>;
  outOfFuel: Global<number>;
  growRefused: Global<number>;
  written: Global<number>;
  exports: Record<string, unknown>;
}

function instantiate(bytes: Uint8Array, fuel: bigint, imports: Record<string, Record<string, unknown>> = {}): Metered {
  const instance = new engine.Instance(new engine.Module(bytes), imports);
  const exports = instance.exports;
  const m: Metered = {
    fuel: exports[METERING_EXPORTS.fuel] as Global<bigint>,
    outOfFuel: exports[METERING_EXPORTS.outOfFuel] as Global<number>,
    growRefused: exports[METERING_EXPORTS.growRefused] as Global<number>,
    written: exports[METERING_EXPORTS.written] as Global<number>,
    exports,
  };
  m.fuel.value = fuel;
  return m;
}

async function metered(wat: string, cap = 16, features?: Parameters<typeof wat2wasm>[1]): Promise<Uint8Array> {
  const out = meterWasmModule(await wat2wasm(wat, features), { memoryCapPages: cap });
  expect(wasmApi.WebAssembly.validate(out.bytes)).toBe(true);
  return out.bytes;
}

function greet(bytes: Uint8Array, input: string, fuel = 1_000_000n): { output: string; used: bigint } {
  const m = instantiate(bytes, fuel, { forgeone: { error: () => undefined } });
  const memory = m.exports.memory as WasmMemoryLike;
  const data = new TextEncoder().encode(input);
  const ptr = (m.exports.forgeone_alloc as (n: number) => number)(data.length);
  new Uint8Array(memory.buffer, ptr, data.length).set(data);
  const result = (m.exports.greet as (p: number, l: number) => bigint)(ptr, data.length);
  const out = new Uint8Array(memory.buffer, Number(result >> 32n), Number(result & 0xffffffffn));
  return { output: new TextDecoder().decode(out), used: fuel - m.fuel.value };
}

const LOOP_WAT = `(module
  (func (export "spin") (loop $l (br $l)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $i))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $down (export "down") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0)) (else (call $down (i32.sub (local.get $n) (i32.const 1)))))))`;

describe('meterWasmModule - metering', () => {
  it('keeps examples/plugins/hello answering "hello, world" and charges the same fuel every run', () => {
    const out = meterWasmModule(new Uint8Array(readFileSync(HELLO)), { memoryCapPages: 256 });
    expect(wasmApi.WebAssembly.validate(out.bytes)).toBe(true);
    const first = greet(out.bytes, 'world');
    expect(first.output).toBe('hello, world');
    expect(first.used).toBeGreaterThan(50n);
    for (let i = 0; i < 5; i++) expect(greet(out.bytes, 'world').used).toBe(first.used);
    // More input means more loop iterations in its copy loop, so more fuel.
    expect(greet(out.bytes, 'world!!!').used).toBeGreaterThan(first.used);
    // The declared maximum (16 pages) is below the cap and is kept.
    expect(out.memory).toEqual({ initialPages: 1, maximumPages: 16, declaredMaximumPages: 16 });
  });

  it('rewrites deterministically: the same input gives the same bytes', () => {
    const input = new Uint8Array(readFileSync(HELLO));
    const a = meterWasmModule(input, { memoryCapPages: 64 }).bytes;
    const b = meterWasmModule(input, { memoryCapPages: 64 }).bytes;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('stops an infinite loop and raises the out-of-fuel flag', async () => {
    const m = instantiate(await metered(LOOP_WAT), 10_000n);
    expect(() => (m.exports.spin as () => void)()).toThrow(wasmApi.WebAssembly.RuntimeError);
    expect(m.outOfFuel.value).toBe(1);
    expect(m.fuel.value).toBeGreaterThanOrEqual(0n);
    expect(m.fuel.value).toBeLessThan(10n);
  });

  it('charges loops per iteration, linearly and deterministically', async () => {
    const bytes = await metered(LOOP_WAT);
    const used = (n: number): bigint => {
      const m = instantiate(bytes, 1_000_000n);
      expect((m.exports.count as (n: number) => number)(n)).toBe(n);
      return 1_000_000n - m.fuel.value;
    };
    const perIteration = used(101) - used(100);
    expect(perIteration).toBeGreaterThan(5n);
    expect(used(1000) - used(0)).toBe(perIteration * 1000n);
    expect(used(500)).toBe(used(500));
  });

  it('stops a deep call tree with no loop at function entry', async () => {
    const bytes = await metered(LOOP_WAT);
    const m = instantiate(bytes, 50_000n);
    expect(() => (m.exports.fib as (n: number) => number)(40)).toThrow(wasmApi.WebAssembly.RuntimeError);
    expect(m.outOfFuel.value).toBe(1);
    const ok = instantiate(bytes, 10_000_000n);
    expect((ok.exports.fib as (n: number) => number)(15)).toBe(610);
    expect(ok.outOfFuel.value).toBe(0);
  });

  it('charges a loop-free function once, for its longest path, whichever arm runs', async () => {
    const bytes = await metered(`(module
      (func (export "pick") (param $x i32) (result i32)
        (if (result i32) (local.get $x)
          (then (i32.add (i32.mul (i32.const 3) (i32.const 4)) (i32.const 5)))
          (else (i32.const 7)))))`);
    const used = (x: number): bigint => {
      const m = instantiate(bytes, 1_000n);
      (m.exports.pick as (x: number) => number)(x);
      return 1_000n - m.fuel.value;
    };
    // local.get, if, then arm (5 constants and operators), end of the if, end of the function.
    expect(used(1)).toBe(used(0));
    expect(used(1)).toBeGreaterThanOrEqual(8n);
    expect(used(1)).toBeLessThanOrEqual(10n);
  });

  it('stores the balance on every way out of a function: return, a branch to the function label, multi-value results, unreachable', async () => {
    const bytes = await metered(`(module
      (func $early (export "early") (param $x i32) (result i32)
        (if (local.get $x) (then (return (i32.const 7))))
        (br 0 (i32.const 9)))
      (func $pair (export "pair") (param $x i32) (result i32 i32)
        (local.get $x) (i32.add (local.get $x) (i32.const 1)))
      (func (export "caller") (result i32)
        (i32.add (call $early (i32.const 1)) (call $early (i32.const 0)))
        (call $pair (i32.const 3)) (i32.add) (i32.add))
      (func (export "boom") (drop (call $early (i32.const 1))) unreachable))`);
    const fuelOf = (name: string): bigint => {
      const m = instantiate(bytes, 10_000n);
      (m.exports[name] as () => number)();
      return 10_000n - m.fuel.value;
    };
    const early = (x: number): bigint => {
      const m = instantiate(bytes, 10_000n);
      (m.exports.early as (x: number) => number)(x);
      return 10_000n - m.fuel.value;
    };
    const pair = (() => {
      const m = instantiate(bytes, 10_000n);
      expect((m.exports.pair as (x: number) => number[])(3)).toEqual([3, 4]);
      return 10_000n - m.fuel.value;
    })();
    expect(early(1)).toBeGreaterThan(0n);
    expect(early(0)).toBeGreaterThan(0n);
    expect(pair).toBeGreaterThan(0n);
    // The caller's own blocks plus exactly what each callee charged.
    const callerOwn = fuelOf('caller') - early(1) - early(0) - pair;
    expect(callerOwn).toBeGreaterThan(0n);
    expect(callerOwn).toBeLessThan(20n);
    // A trap by unreachable still leaves the balance charged up to the trap.
    const m = instantiate(bytes, 10_000n);
    expect(() => (m.exports.boom as () => void)()).toThrow();
    expect(10_000n - m.fuel.value).toBeGreaterThan(early(1));
    expect(m.outOfFuel.value).toBe(0);
  });

  it('can check at every basic block', async () => {
    const out = meterWasmModule(await wat2wasm(LOOP_WAT), { memoryCapPages: 1, checkEveryBlock: true });
    expect(wasmApi.WebAssembly.validate(out.bytes)).toBe(true);
    expect(out.stats.charges).toBe(0);
    const m = instantiate(out.bytes, 1_000n);
    expect(() => (m.exports.fib as (n: number) => number)(30)).toThrow();
    expect(m.outOfFuel.value).toBe(1);
  });
});

describe('meterWasmModule - memory cap', () => {
  const GROW = `(module (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;

  it('caps a memory that declares no maximum; memory.grow beyond it returns -1 and raises a flag', async () => {
    const out = meterWasmModule(await wat2wasm(GROW), { memoryCapPages: 4 });
    expect(out.memory).toEqual({ initialPages: 1, maximumPages: 4, declaredMaximumPages: undefined });
    expect(inspectWasmModule(out.bytes).memories[0].limits).toMatchObject({ initialPages: 1, maximumPages: 4, hasMaximum: true });
    const m = instantiate(out.bytes, 1000n);
    const grow = m.exports.grow as (n: number) => number;
    expect(grow(3)).toBe(1);
    expect(m.growRefused.value).toBe(0);
    expect(m.written.value).toBe(0);
    expect(grow(1)).toBe(-1);
    expect(m.growRefused.value).toBe(1);
    // The host clears the flag only after a call whose write record is all ones.
    expect(m.written.value).toBe(-1);
    expect((m.exports.memory as WasmMemoryLike).buffer.byteLength).toBe(4 * 65536);
  });

  it('keeps a declared maximum below the cap and lowers one above it', async () => {
    const below = meterWasmModule(await wat2wasm('(module (memory 1 2))'), { memoryCapPages: 8 });
    expect(below.memory?.maximumPages).toBe(2);
    const above = meterWasmModule(await wat2wasm('(module (memory 1 100))'), { memoryCapPages: 8 });
    expect(above.memory?.maximumPages).toBe(8);
  });

  it('refuses a module whose initial memory is above the cap', async () => {
    const bytes = await wat2wasm('(module (memory 10))');
    expect(() => meterWasmModule(bytes, { memoryCapPages: 4 })).toThrow(/starts at 10 page\(s\).*caps memory at 4 page/);
    try {
      meterWasmModule(bytes, { memoryCapPages: 4 });
    } catch (error) {
      expect(error).toBeInstanceOf(WasmRewriteError);
      expect((error as WasmRewriteError).reason).toBe('memory_limit');
    }
  });

  it('refuses an imported memory, which it could not cap', async () => {
    const bytes = await wat2wasm('(module (import "env" "memory" (memory 1)))');
    expect(() => meterWasmModule(bytes, { memoryCapPages: 4 })).toThrow(expect.objectContaining({ feature: 'imported-memory' }));
  });
});

describe('meterWasmModule - structure', () => {
  it('appends its globals after imported and defined ones, so existing indices do not move', async () => {
    const bytes = await metered(`(module
      (import "env" "g" (global $imp i32))
      (global $a (mut i32) (i32.const 5))
      (global $b i64 (i64.const 7))
      (func (export "sum") (result i64)
        (global.set $a (i32.add (global.get $a) (global.get $imp)))
        (i64.add (i64.extend_i32_u (global.get $a)) (global.get $b))))`);
    const g = new (globalThis as unknown as { WebAssembly: { Global: new (d: object, v: number) => object } }).WebAssembly.Global({ value: 'i32', mutable: false }, 100);
    const m = instantiate(bytes, 1000n, { env: { g } });
    expect((m.exports.sum as () => bigint)()).toBe(112n);
    const info = inspectWasmModule(bytes);
    expect(info.exports.find((e) => e.name === METERING_EXPORTS.fuel)).toMatchObject({ kind: 'global', index: 3 });
  });

  it('adds global and export sections to a module that has none', async () => {
    const bytes = await metered('(module (func (drop (i32.const 1))))');
    expect(inspectWasmModule(bytes).exports.map((e) => e.name)).toEqual([METERING_EXPORTS.fuel, METERING_EXPORTS.outOfFuel, METERING_EXPORTS.growRefused, METERING_EXPORTS.written]);
  });

  describe('write tracking', () => {
    const WRITES_WAT = `(module
      (memory (export "memory") 2)
      (func $leaf (param $a i32) (i64.store offset=16 (local.get $a) (i64.const -1)) (return))
      (func (export "store") (param $a i32) (call $leaf (local.get $a)))
      (func (export "fill") (param $d i32) (param $n i32) (memory.fill (local.get $d) (i32.const 7) (local.get $n)))
      (func (export "store_in_loop") (param $from i32) (param $to i32)
        (loop $l
          (i32.store8 offset=3 (local.get $from) (i32.const 1))
          (local.set $from (i32.add (local.get $from) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $from) (local.get $to)))))
      ;; One store per 40+ instructions: tracked store by store.
      (func (export "store_in_sparse_loop") (param $from i32) (param $to i32) (local $x i32)
        (loop $l
          (local.set $x (i32.mul (i32.add (local.get $x) (local.get $from)) (i32.const 31)))
          (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 7))))
          (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 3))))
          (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 5))))
          (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 9))))
          (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 11))))
          (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
          (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 2))))
          (i32.store8 offset=3 (local.get $from) (i32.or (local.get $x) (i32.const 1)))
          (local.set $from (i32.add (local.get $from) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $from) (local.get $to)))))
      (func (export "read") (param $a i32) (result i32) (i32.load (local.get $a))))`;
    const run = async (pages: number, fn: string, ...args: number[]): Promise<{ written: number; tracking: WriteTracking; memory: Uint8Array }> => {
      return runWith(`(memory (export "memory") ${pages})`, fn, ...args);
    };
    // `memory` replaces the memory declaration (and may add globals after it).
    const runWith = async (memory: string, fn: string, ...args: number[]): Promise<{ written: number; tracking: WriteTracking; memory: Uint8Array }> => {
      const out = meterWasmModule(await wat2wasm(WRITES_WAT.replace('(memory (export "memory") 2)', memory)), { memoryCapPages: 8 });
      const m = instantiate(out.bytes, 1_000_000n);
      (m.exports[fn] as (...a: number[]) => unknown)(...args);
      const written = (m.exports[METERING_EXPORTS.written] as Global<number>).value >>> 0;
      return { written, tracking: out.reset.writeTracking, memory: new Uint8Array((m.exports.memory as WasmMemoryLike).buffer) };
    };
    const CASES = [
      ['store', [5000]],
      ['store', [70_000]],
      ['fill', [9000, 300]],
      ['fill', [4000, 5000]],
      ['fill', [100_000, 1]],
      ['fill', [200_000, 50_000]],
      ['store_in_sparse_loop', [40, 6000]],
    ] as const;

    it('keeps a high-water mark for memories up to 128 KiB, else 32 buckets of at least 1 KiB covering the initial memory', async () => {
      const trackingFor = async (pages: number) => meterWasmModule(await wat2wasm(`(module (memory ${pages}))`), { memoryCapPages: 64 }).reset.writeTracking;
      expect(await Promise.all([0, 1, 2, 3, 17, 64].map(trackingFor))).toEqual([
        { kind: 'high-water' },
        { kind: 'high-water' },
        { kind: 'high-water' },
        { kind: 'buckets', shift: 13 },
        { kind: 'buckets', shift: 16 },
        { kind: 'buckets', shift: 17 },
      ]);
    });

    it('uses the distance from the stack pointer for larger memories when global 0 is one: a mutable i32 at an aligned address from 64 KiB inside the initial memory', async () => {
      const trackingFor = async (pages: number, global: string) => meterWasmModule(await wat2wasm(`(module (memory ${pages}) ${global})`), { memoryCapPages: 64 }).reset.writeTracking;
      expect(await trackingFor(17, '(global (mut i32) (i32.const 1048576))')).toEqual({ kind: 'distance', pivot: 1048576 });
      expect(await trackingFor(4, '(global (mut i32) (i32.const 65536)) (global (mut i32) (i32.const 5))')).toEqual({ kind: 'distance', pivot: 65536 });
      expect(await trackingFor(2, '(global (mut i32) (i32.const 65536))')).toEqual({ kind: 'high-water' });
      for (const other of [
        '(global (mut i32) (i32.const 1024))', // below 64 KiB: a heap pointer, not a stack
        '(global (mut i32) (i32.const 131080))', // not 16-byte aligned
        '(global (mut i32) (i32.const 1048576))', // outside the initial memory of 4 pages
        '(global i32 (i32.const 131072))', // immutable
        '(global (mut i64) (i64.const 131072))',
        '(global (mut i32) (i32.const 5)) (global (mut i32) (i32.const 131072))', // not the first
      ]) {
        expect(await trackingFor(4, other), other).toEqual({ kind: 'buckets', shift: 13 });
      }
    });

    it('distance: every byte a call wrote lies within the distance of the pivot, on either side, and the distance is at most about twice the farthest write', async () => {
      const pivot = 98_304; // 1.5 pages into 4
      const cases = [...CASES, ['store', [pivot - 40]], ['store', [pivot]], ['fill', [pivot - 1000, 3000]], ['fill', [pivot - 1, 0]], ['fill', [0, 1]]] as const;
      for (const [fn, args] of cases) {
        const label = `${fn}(${args.join(', ')})`;
        const { written, tracking, memory } = await runWith(`(memory (export "memory") 4) (global $sp (mut i32) (i32.const ${pivot}))`, fn, ...args);
        expect(tracking).toEqual({ kind: 'distance', pivot });
        const from = pivot - written - 1;
        const to = pivot + written + 8;
        memory.forEach((b, at) => {
          if (b !== 0 && (at < from || at >= to)) throw new Error(`${label} wrote ${at}, outside [${from}, ${to})`);
        });
        const start = args[0] + (fn === 'store' ? 16 : fn === 'store_in_sparse_loop' ? 3 : 0);
        const end = fn === 'fill' ? args[0] + args[1] : fn === 'store' ? start + 8 : args[1] + 3;
        const farthest = Math.max(Math.abs(start - pivot), Math.abs(end - pivot));
        expect(written, label).toBeLessThan(2 * farthest + 2);
      }
    });

    it('distance: stores in a loop too dense for the other kinds are tracked one by one, not by marking the whole memory', async () => {
      const memory = '(memory (export "memory") 4) (global $sp (mut i32) (i32.const 131072))';
      const { written, tracking } = await runWith(memory, 'store_in_loop', 131_000, 131_200);
      expect(tracking).toEqual({ kind: 'distance', pivot: 131_072 });
      expect(written).toBeLessThan(256); // |131000 - 131072| and 131202 - 131072, folded and OR-ed
      expect(written).toBeGreaterThanOrEqual(130);
      expect(meterWasmModule(await wat2wasm(WRITES_WAT.replace('(memory (export "memory") 2)', memory)), { memoryCapPages: 8 }).stats.untrackedLoops).toBe(0);
    });

    it('high-water mark: every byte a call wrote lies below the mark plus 8: callees that return, bulk fills, sparse loops', async () => {
      for (const [fn, args] of CASES.filter(([, args]) => args[0] + (args[1] ?? 0) <= 131_072)) {
        const { written, tracking, memory } = await run(2, fn, ...args);
        expect(tracking).toEqual({ kind: 'high-water' });
        expect(memory.findLastIndex((b) => b !== 0), `${fn}(${args.join(', ')})`).toBeLessThan(written + 8);
        // The OR of the addresses is below twice the highest of them.
        expect(written, `${fn}(${args.join(', ')})`).toBeLessThan(2 * (args[0] + (args[1] ?? 0) + 16));
      }
    });

    it('buckets: marks the bucket of every byte a call wrote (or of a store starting up to 7 bytes before it), and no other', async () => {
      const bit = (written: number, bucket: number): boolean => bucket >= 0 && (written & (1 << bucket)) !== 0;
      const expected = [1 << 0, 1 << 8, 1 << 1, 0b11, 1 << 12, 0b1111111 << 24, 1 << 0];
      for (const [i, [fn, args]] of CASES.entries()) {
        const { written, tracking, memory } = await run(4, fn, ...args);
        expect(tracking).toEqual({ kind: 'buckets', shift: 13 }); // 8 KiB
        expect(written, `${fn}(${args.join(', ')})`).toBe(expected[i] >>> 0);
        memory.forEach((b, at) => {
          if (b !== 0 && !bit(written, at >> 13) && !bit(written, (at - 7) >> 13)) throw new Error(`${fn}(${args.join(', ')}) wrote ${at}, in no marked bucket`);
        });
      }
    });

    it('refuses a module that does not validate, whose code could otherwise reach the globals metering adds', async () => {
      // Global 0 does not exist in the module; in the metered module it would be the fuel balance.
      const invalid = await wat2wasm('(module (func (export "f") (global.set 0 (i64.const 1000000000000))))');
      expect(wasmApi.WebAssembly.validate(invalid)).toBe(false);
      expect(() => meterWasmModule(invalid, { memoryCapPages: 1 })).toThrow(/does not validate/);
    });

    it('sees a state change behind a padded sub-opcode (0xfc 0x89 0x00 is data.drop) and gives up resetting', () => {
      // (module (memory 1) (data "a") (func (export "f") (data.drop 0))), its sub-opcode written in two bytes.
      const padded = Uint8Array.from([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01,
        0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0c, 0x01, 0x01, 0x0a, 0x08, 0x01, 0x06, 0x00, 0xfc, 0x89, 0x00, 0x00, 0x0b, 0x0b, 0x04, 0x01, 0x01, 0x01, 0x61,
      ]);
      expect(wasmApi.WebAssembly.validate(padded)).toBe(true);
      expect(meterWasmModule(padded, { memoryCapPages: 4 }).reset).toMatchObject({ resettable: false, reason: 'the code uses data.drop' });
    });

    it('marks the whole memory written (all ones) once a call enters a loop whose stores are too dense to track one by one', async () => {
      expect((await run(2, 'store_in_loop', 40, 41)).written).toBe(0xffffffff);
      expect((await run(4, 'store_in_loop', 40, 41)).written).toBe(0xffffffff);
      expect(meterWasmModule(await wat2wasm(WRITES_WAT), { memoryCapPages: 4 }).stats.untrackedLoops).toBe(1);
    });

    it('leaves it at 0 for code that only reads', async () => {
      expect((await run(2, 'read', 4096)).written).toBe(0);
      expect((await run(4, 'read', 4096)).written).toBe(0);
    });

    it('instruments every store and bulk write outside dense loops, and nothing else', async () => {
      expect(meterWasmModule(await wat2wasm(WRITES_WAT), { memoryCapPages: 4 }).stats.trackedWrites).toBe(3); // i64.store, memory.fill, the sparse loop's store
    });
  });

  it('exports the start function instead of running it on instantiation', async () => {
    const bytes = await metered(`(module (global $ran (export "ran") (mut i32) (i32.const 0))
      (func $init (global.set $ran (i32.const 1))) (start $init))`);
    const m = instantiate(bytes, 100n);
    expect((m.exports.ran as Global<number>).value).toBe(0);
    (m.exports[METERING_EXPORTS.start] as () => void)();
    expect((m.exports.ran as Global<number>).value).toBe(1);
    expect(m.fuel.value).toBeLessThan(100n);
  });

  it('accepts sign extension, saturating truncation, bulk memory, reference types and multi-value', async () => {
    const bytes = await metered(`(module
      (memory (export "memory") 1)
      (table 2 funcref)
      (type $pair (func (result i32 i32)))
      (func (export "run") (result i32)
        (local $r funcref)
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
        (memory.copy (i32.const 32) (i32.const 0) (i32.const 16))
        (local.set $r (ref.null func))
        (drop (table.size 0))
        (drop (ref.is_null (table.get 0 (i32.const 0))))
        (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)))
        (block $b (type $pair) (i32.const 3) (i32.const 4))
        (i32.add)
        (i32.add (i32.extend8_s (i32.const 0xff)))
        (i32.add (i32.trunc_sat_f64_s (f64.const 1e30)))
        (i32.add (i32.load8_u (i32.const 40)))))`);
    const m = instantiate(bytes, 10_000n);
    expect((m.exports.run as () => number)()).toBe((3 + 4 - 1 + 2147483647 + 7) | 0);
  });

  it('refuses SIMD, threads, exceptions and reserved export names with a typed error', async () => {
    const cases: [string, string, Parameters<typeof wat2wasm>[1]?][] = [
      ['simd', '(module (func (drop (v128.const i64x2 0 0))))', { simd: true }],
      ['threads', '(module (memory 1 1 shared) (func (drop (i32.atomic.load (i32.const 0)))))', { threads: true }],
      ['exceptions', '(module (tag $e) (func (throw $e)))', { exceptions: true }],
    ];
    for (const [feature, wat, features] of cases) {
      const bytes = await wat2wasm(wat, features);
      expect(() => meterWasmModule(bytes, { memoryCapPages: 1 }), feature).toThrow(expect.objectContaining({ reason: 'unsupported_feature', feature }));
    }
    const reserved = await wat2wasm(`(module (global (export "${METERING_EXPORTS.fuel}") i32 (i32.const 0)))`);
    expect(() => meterWasmModule(reserved, { memoryCapPages: 1 })).toThrow(expect.objectContaining({ reason: 'reserved_name' }));
  });
});

describe('meterWasmModule - the balance threaded through direct calls', () => {
  // $fib is internal (threaded in place); "fib" is exported (an entry plus a threaded copy); both have the same body.
  const FIB_WAT = `(module
    (func $fib (param $n i32) (result i32)
      (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
        (then (local.get $n))
        (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
    (func $fibx (export "fib") (param $n i32) (result i32)
      (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
        (then (local.get $n))
        (else (i32.add (call $fibx (i32.sub (local.get $n) (i32.const 1))) (call $fibx (i32.sub (local.get $n) (i32.const 2)))))))
    (func (export "run") (param $n i32) (result i32) (call $fib (local.get $n))))`;
  const calls = (n: number): bigint => (n < 2 ? 1n : 1n + calls(n - 1) + calls(n - 2));

  it('gives internal functions the balance as an extra i64 parameter and result, and leaves entries from outside alone', async () => {
    const bytes = await metered(`(module
      (table 1 funcref)
      (elem (i32.const 0) $inTable)
      (elem declare func $byRef)
      (func $internal (param i32) (result i32) (local.get 0))
      (func $inTable (param i32) (result i32) (local.get 0))
      (func $byRef (param i32) (result i32) (local.get 0))
      (func (export "exported") (param i32) (result i32)
        (drop (ref.func $byRef))
        (call $internal (local.get 0))))`, 16, { reference_types: true });
    const fns = inspectWasmModule(bytes).functions;
    expect(fns[0].signature).toEqual({ params: ['i32', 'i64'], results: ['i32', 'i64'] });
    for (const i of [1, 2, 3]) expect(fns[i].signature).toEqual({ params: ['i32'], results: ['i32'] });
    // The bodies of the three entries are appended, threaded.
    expect(fns).toHaveLength(7);
    for (const i of [4, 5, 6]) expect(fns[i].signature).toEqual({ params: ['i32', 'i64'], results: ['i32', 'i64'] });
  });

  it('charges every threaded call the same, and internal and exported copies of a function alike', async () => {
    const bytes = await metered(FIB_WAT);
    const used = (fn: 'fib' | 'run', n: number): bigint => {
      const m = instantiate(bytes, 100_000_000n);
      expect((m.exports[fn] as (n: number) => number)(n)).toBe([0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610][n]);
      expect(m.outOfFuel.value).toBe(0);
      return 100_000_000n - m.fuel.value;
    };
    const perCall = (used('fib', 15) - used('fib', 5)) / (calls(15) - calls(5));
    expect(perCall).toBeGreaterThan(5n);
    expect(used('fib', 15) - used('fib', 5)).toBe(perCall * (calls(15) - calls(5)));
    expect(used('fib', 10)).toBe(perCall * calls(10));
    // "run" adds its own charge to the internal copy's, which charges exactly like the exported one.
    const runOwn = used('run', 10) - used('fib', 10);
    expect(runOwn).toBeGreaterThan(0n);
    for (const n of [0, 7, 15]) expect(used('run', n)).toBe(used('fib', n) + runOwn);
  });

  it('stops a threaded recursion on fuel with the flag set and the balance stored', async () => {
    const bytes = await metered(FIB_WAT);
    for (const fn of ['run', 'fib']) {
      const m = instantiate(bytes, 20_000n);
      expect(() => (m.exports[fn] as (n: number) => number)(30), fn).toThrow(wasmApi.WebAssembly.RuntimeError);
      expect(m.outOfFuel.value, fn).toBe(1);
      expect(m.fuel.value, fn).toBeGreaterThanOrEqual(0n);
      expect(m.fuel.value, fn).toBeLessThan(20n);
    }
  });

  it('returns several results and the balance from nested blocks, a branch to the function label and the end', async () => {
    // The same body twice: once only called internally (threaded), once exported (an entry and its threaded copy).
    const body = `(param $x i32) (result i32 i64) (local $t i32)
        (local.set $t (i32.mul (local.get $x) (i32.const 2)))
        (block $outer
          (block $inner
            (br_if $inner (i32.eqz (local.get $x)))
            (if (i32.eq (local.get $x) (i32.const 1)) (then (return (i32.const 100) (i64.const 200))))
            (if (i32.eq (local.get $x) (i32.const 2)) (then (br 3 (local.get $t) (i64.const 300))))
            (br $outer))
          (return (i32.const -1) (i64.const -1)))
        (local.get $t) (i64.extend_i32_u (local.get $x))`;
    const bytes = await metered(`(module
      (func $split ${body})
      (func $splitx (export "split") ${body})
      (func (export "viaInternal") (param $x i32) (result i32 i64) (call $split (local.get $x)))
      (func (export "viaExported") (param $x i32) (result i32 i64) (call $splitx (local.get $x))))`);
    const expected: Record<number, [number, bigint]> = { 0: [-1, -1n], 1: [100, 200n], 2: [4, 300n], 5: [10, 5n] };
    const run = (fn: string, x: number): { result: unknown; used: bigint } => {
      const m = instantiate(bytes, 10_000n);
      const result = (m.exports[fn] as (x: number) => unknown)(x);
      return { result, used: 10_000n - m.fuel.value };
    };
    for (const [x, want] of Object.entries(expected)) {
      const direct = run('split', Number(x));
      expect(direct.result, `split(${x})`).toEqual(want);
      expect(direct.used).toBeGreaterThan(0n);
      const internal = run('viaInternal', Number(x));
      const exported = run('viaExported', Number(x));
      expect(internal).toEqual(exported);
      expect(internal.result).toEqual(want);
      expect(internal.used).toBeGreaterThan(direct.used);
      expect(internal.used - direct.used).toBe(run('viaInternal', 5).used - run('split', 5).used);
    }
  });

  it('keeps the balance right across exported functions, call_indirect and the host, in both directions', async () => {
    const bytes = await metered(`(module
      (import "host" "reenter" (func $reenter (param i32) (result i32)))
      (type $unary (func (param i32) (result i32)))
      (table 1 funcref)
      (elem (i32.const 0) $viaTable)
      (func $work (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc))
      (func $viaTable (param $n i32) (result i32) (call $work (local.get $n)))
      (func (export "work") (param $n i32) (result i32) (call $work (local.get $n)))
      (func $mid (param $n i32) (result i32)
        (i32.add (call_indirect (type $unary) (local.get $n) (i32.const 0)) (call $reenter (local.get $n))))
      (func (export "run") (param $n i32) (result i32) (call $mid (local.get $n))))`);
    const make = (fuel: bigint): Metered => {
      const holder: { m?: Metered } = {};
      holder.m = instantiate(bytes, fuel, { host: { reenter: (n: number) => (holder.m!.exports.work as (n: number) => number)(n) } });
      return holder.m;
    };
    const used = (fn: string, n: number): { result: number; used: bigint } => {
      const m = make(1_000_000n);
      const result = (m.exports[fn] as (n: number) => number)(n);
      expect(m.outOfFuel.value).toBe(0);
      return { result, used: 1_000_000n - m.fuel.value };
    };
    expect(used('run', 10).result).toBe(110);
    // Doubling n adds exactly two more runs of the loop's extra iterations: the fuel spent in the
    // table call and in the host's re-entry both reach the balance.
    const perIteration = used('work', 11).used - used('work', 10).used;
    expect(perIteration).toBeGreaterThan(0n);
    expect(used('run', 20).used - used('run', 10).used).toBe(2n * 10n * perIteration);
    expect(used('run', 7).used).toBe(used('run', 7).used);
    // Running out halfway through the re-entered loop (the last work of the call) stops the whole
    // call with the flag set.
    const m = make(used('run', 100).used - 50n * perIteration);
    expect(() => (m.exports.run as (n: number) => number)(100)).toThrow();
    expect(m.outOfFuel.value).toBe(1);
  });
});
