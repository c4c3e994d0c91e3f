import { describe, expect, it } from 'vitest';
import { engine, wat2wasm, type WasmMemoryLike } from '../test/wat.js';
import { generateModule } from '../test/wasm-module.generator.js';
import { METERING_EXPORTS, meterWasmModule } from './wasm-metering.rewriter.js';

const wasmApi = globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean; RuntimeError: new () => Error } };
const MODULES = 200;
const PLENTY = 1_000_000_000_000n;
const INPUTS: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [1, 2],
  [0x7fffffff, -7],
];

interface Global<T> {
  value: T;
}

type Outcome = { ok: true; result: number; memory: Buffer; left: bigint } | { ok: false; outOfFuel: number; left: bigint };
type CompiledModule = InstanceType<typeof engine.Module>;

/** Runs `run(a, b)` on a fresh instance, metered with `fuel` when given. */
function runOnce(module: CompiledModule, a: number, b: number, fuel?: bigint): Outcome {
  const exports = new engine.Instance(module, {}).exports;
  const balance = exports[METERING_EXPORTS.fuel] as Global<bigint> | undefined;
  if (fuel !== undefined) balance!.value = fuel;
  try {
    const result = (exports.run as (a: number, b: number) => number)(a, b);
    return { ok: true, result, memory: Buffer.from((exports.memory as WasmMemoryLike).buffer), left: balance?.value ?? 0n };
  } catch (error) {
    expect(error).toBeInstanceOf(wasmApi.WebAssembly.RuntimeError);
    return { ok: false, outOfFuel: (exports[METERING_EXPORTS.outOfFuel] as Global<number>).value, left: balance!.value };
  }
}

/** What the sandbox reports as out of fuel: a trap with the flag raised, or a call that ended below zero. */
function exhausted(outcome: Outcome): boolean {
  return outcome.ok ? outcome.left < 0n : outcome.outOfFuel === 1;
}

describe('meterWasmModule - differential over generated modules', () => {
  it(`${MODULES} seeded modules with loops, calls, call_indirect, memory operations and globals: the rewrite validates, computes what the original computes, charges the same fuel every run and reports exhaustion with any less`, async () => {
    const kinds = new Set<string>();
    let calls = 0;
    for (let seed = 1; seed <= MODULES; seed++) {
      const generated = generateModule(seed);
      const original = await wat2wasm(generated.wat);
      const where = `seed ${seed}`;
      expect(wasmApi.WebAssembly.validate(original), where).toBe(true);
      const plainModule = new engine.Module(original);
      for (const checkEveryBlock of [false, true]) {
        const metered = meterWasmModule(original, { memoryCapPages: 64, checkEveryBlock });
        kinds.add(metered.reset.writeTracking.kind);
        expect(wasmApi.WebAssembly.validate(metered.bytes), where).toBe(true);
        const module = new engine.Module(metered.bytes);
        for (const [a, b] of INPUTS) {
          const plain = runOnce(plainModule, a, b);
          const rich = runOnce(module, a, b, PLENTY);
          if (!plain.ok || !rich.ok) throw new Error(`${where}: (${a}, ${b}) trapped: ${JSON.stringify({ plain, rich }, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
          expect(rich.result, `${where} (${a}, ${b})`).toBe(plain.result);
          expect(rich.memory.equals(plain.memory), `${where} (${a}, ${b}): memory differs`).toBe(true);
          const used = PLENTY - rich.left;
          expect(used, where).toBeGreaterThan(0n);
          // Fresh instances, same input: the same fuel, to the unit.
          expect(PLENTY - runOnce(module, a, b, PLENTY).left, where).toBe(used);
          // Exactly enough succeeds with nothing left; one unit less, or half, is exhaustion.
          expect(runOnce(module, a, b, used), where).toMatchObject({ ok: true, left: 0n });
          expect(exhausted(runOnce(module, a, b, used - 1n)), `${where}: ${used - 1n} of ${used}`).toBe(true);
          expect(exhausted(runOnce(module, a, b, used / 2n)), `${where}: ${used / 2n} of ${used}`).toBe(true);
          calls++;
        }
      }
    }
    // The generator reaches every kind of write tracking.
    expect([...kinds].sort()).toEqual(['buckets', 'distance', 'high-water']);
    expect(calls).toBe(MODULES * 2 * INPUTS.length);
  }, 120_000);
});
