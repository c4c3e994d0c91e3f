import wabtModule from 'wabt';
import { describe, expect, it } from 'vitest';
// What the policy service loads: the engine module turns the flag off as it is imported.
import './cedar-policy.engine.js';

// The WebAssembly global of Node, typed for what this spec uses (the project's libs compile without the DOM types).
const wasmApi = globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>>): Promise<{ instance: { exports: Record<string, unknown> } }> };
};

// A wasm export taking and returning externref (as Cedar's do) that calls back into JavaScript.
const WAT = `(module
  (import "env" "callback" (func $callback (param externref) (result externref)))
  (func (export "call") (param externref) (result externref) local.get 0 call $callback))`;

describe('calls into wasm from optimized code', () => {
  it('survive the caller being deoptimized while the wasm runs (with the inlining on, V8 kills the process with SIGTRAP)', async () => {
    const wabt = await wabtModule();
    const bytes = wabt.parseWat('externref.wat', WAT, { reference_types: true }).toBinary({}).buffer;
    let reshape = false;
    const { instance } = await wasmApi.WebAssembly.instantiate(bytes, {
      env: {
        callback: (input: { count: number | string }) => {
          // A string where only small integers were seen: the caller's optimized code, which relied on it, is thrown away.
          if (reshape) input.count = 'many';
          return { answer: 1 };
        },
      },
    });
    const call = instance.exports.call as (input: { count: number | string }) => { answer: number };
    const caller = (input: { count: number | string }) => `${call(input).answer}/${input.count}`;
    // Enough calls for TurboFan to optimize the caller, with the wasm call in it.
    let last = '';
    for (let i = 0; i < 200_000; i++) last = caller({ count: i % 7 });
    expect(last).toBe(`1/${(200_000 - 1) % 7}`);
    reshape = true;
    expect(caller({ count: 3 })).toBe('1/many');
  });
});
