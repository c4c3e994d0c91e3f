// The example plugin in examples/plugins/hello, run through ABI v1 in V8 exactly as a host
// would: alloc, write the input, call the handler, unpack the i64 result.
import { readFileSync } from 'node:fs';
import { PluginManifestSchema } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { engine, wat2wasm, type WasmMemoryLike } from '../test/wat.js';
import { validatePluginModule } from './plugin-module.validator.js';

const HELLO = new URL('../../../examples/plugins/hello/', import.meta.url);
const wasm = new Uint8Array(readFileSync(new URL('plugin.wasm', HELLO)));
const manifest = PluginManifestSchema.parse(JSON.parse(readFileSync(new URL('forgeone.plugin.json', HELLO), 'utf8')));

interface HelloExports {
  memory: WasmMemoryLike;
  forgeone_abi_version(): number;
  forgeone_alloc(size: number): number;
  greet(ptr: number, len: number): bigint;
}

/** A fresh instance, as the sandbox makes per call, with `error` messages captured. */
function instantiate(): { exports: HelloExports; errors: string[] } {
  const errors: string[] = [];
  // eslint-disable-next-line prefer-const -- assigned after instantiation; the import closes over it
  let memory: WasmMemoryLike | undefined;
  const error = (ptr: number, len: number): void => {
    errors.push(new TextDecoder().decode(new Uint8Array(memory!.buffer, ptr, len)));
  };
  const instance = new engine.Instance(new engine.Module(wasm), { forgeone: { error } });
  const exports = instance.exports as unknown as HelloExports;
  memory = exports.memory;
  return { exports, errors };
}

function call(exports: HelloExports, handler: 'greet', input: Uint8Array | string): { result: bigint; output?: string } {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const ptr = exports.forgeone_alloc(bytes.length);
  if (ptr === 0) throw new Error('forgeone_alloc returned 0 (out of memory)');
  new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
  const result = exports[handler](ptr, bytes.length);
  if (result < 0n) return { result };
  const outPtr = Number(result >> 32n);
  const outLen = Number(result & 0xffffffffn);
  return { result, output: new TextDecoder().decode(new Uint8Array(exports.memory.buffer, outPtr, outLen)) };
}

describe('examples/plugins/hello', () => {
  it('ships a plugin.wasm built from its plugin.wat (run examples/plugins/build.mjs after editing)', async () => {
    const rebuilt = await wat2wasm(readFileSync(new URL('plugin.wat', HELLO), 'utf8'));
    expect(Buffer.from(rebuilt).equals(Buffer.from(wasm))).toBe(true);
  });

  it('passes validatePluginModule with its own manifest and needs no capability', () => {
    const report = validatePluginModule(wasm, { handlers: manifest.handlers, abi: manifest.abi });
    expect(report).toMatchObject({
      abi: 1,
      handlers: ['greet'],
      hostImports: ['error'],
      requiredCapabilities: [],
      memory: { initialPages: 1, maximumPages: 16, hasMaximum: true },
      hasStartFunction: false,
      otherExports: [],
    });
    // The declared maximum matches what the manifest asks for.
    expect(report.memory.maximumPages! * 64 * 1024).toBe(manifest.limits.memoryMiB * 1024 * 1024);
  });

  it('declares ABI version 1', () => {
    expect(instantiate().exports.forgeone_abi_version()).toBe(1);
  });

  it('greets: "world" gives "hello, world"', () => {
    const { exports, errors } = instantiate();
    expect(call(exports, 'greet', 'world').output).toBe('hello, world');
    expect(errors).toEqual([]);
  });

  it('passes the tests its manifest declares', () => {
    for (const test of manifest.tests) {
      expect(call(instantiate().exports, test.handler as 'greet', test.input).output).toBe(test.expect);
    }
  });

  it('keeps UTF-8 input intact', () => {
    expect(call(instantiate().exports, 'greet', 'wörld 🌍').output).toBe('hello, wörld 🌍');
  });

  it('refuses an empty input with a negative result and an error message', () => {
    const { exports, errors } = instantiate();
    const { result, output } = call(exports, 'greet', '');
    expect(result).toBe(-1n);
    expect(output).toBeUndefined();
    expect(errors).toEqual(['greet needs a name: the input was empty']);
  });

  it('allocates 8-byte aligned blocks and grows memory when needed', () => {
    const { exports } = instantiate();
    expect(exports.memory.buffer.byteLength).toBe(64 * 1024);
    const a = exports.forgeone_alloc(3);
    const b = exports.forgeone_alloc(200_000);
    expect(a % 8).toBe(0);
    expect(b % 8).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 3);
    expect(exports.memory.buffer.byteLength).toBe(Math.ceil((b + 200_000) / 65536) * 65536);
  });

  it('returns 0 from forgeone_alloc when memory cannot grow, and reports out of memory from greet', () => {
    const { exports, errors } = instantiate();
    expect(exports.forgeone_alloc(2 * 1024 * 1024)).toBe(0); // beyond the declared 16 pages
    expect(exports.forgeone_alloc(-1)).toBe(0); // 4 GiB - 1 as unsigned
    expect(exports.memory.buffer.byteLength).toBe(64 * 1024); // failed requests left memory alone

    // The input fits, but input + output do not.
    const { result } = call(exports, 'greet', new Uint8Array(600_000).fill(0x61));
    expect(result).toBe(-1n);
    expect(errors).toEqual(['out of memory: greet could not allocate its output']);
  });
});
