import { describe, expect, it } from 'vitest';
import { leb, moduleBytes, name, section, wat2wasm } from '../test/wat.js';
import { WasmFormatError } from './wasm-binary.reader.js';
import { inspectWasmModule, readFunctionBody } from './wasm-module.inspector.js';

const SAMPLE = `(module
  (import "forgeone" "error" (func $error (param i32 i32)))
  (import "forgeone" "metric" (func (param i32 i32 f64)))
  (memory (export "memory") 2 10)
  (global $g (mut i32) (i32.const 0))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func $run (export "run") (param i32 i32) (result i64) (local i64 i64) (local f32) i64.const 7)
  (export "g" (global $g))
  (start $init)
  (func $init)
)`;

function formatErrorOf(run: () => unknown): WasmFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WasmFormatError);
    return error as WasmFormatError;
  }
  throw new Error('expected a WasmFormatError, but nothing was thrown');
}

describe('inspectWasmModule - well-formed modules', () => {
  it('reads types, imports, functions, exports with signatures, memory, start and code', async () => {
    const bytes = await wat2wasm(SAMPLE);
    const info = inspectWasmModule(bytes);

    expect(info.version).toBe(1);
    expect(info.sizeBytes).toBe(bytes.length);
    expect(info.imports).toEqual([
      { module: 'forgeone', name: 'error', kind: 'function', typeIndex: expect.any(Number), signature: { params: ['i32', 'i32'], results: [] } },
      { module: 'forgeone', name: 'metric', kind: 'function', typeIndex: expect.any(Number), signature: { params: ['i32', 'i32', 'f64'], results: [] } },
    ]);
    expect(info.functions.map((f) => f.imported)).toEqual([true, true, false, false, false]);
    expect(info.exports).toEqual([
      { name: 'memory', kind: 'memory', index: 0 },
      { name: 'forgeone_abi_version', kind: 'function', index: 2, signature: { params: [], results: ['i32'] } },
      { name: 'run', kind: 'function', index: 3, signature: { params: ['i32', 'i32'], results: ['i64'] } },
      { name: 'g', kind: 'global', index: 0 },
    ]);
    expect(info.memories).toEqual([
      { index: 0, limits: { initialPages: 2, maximumPages: 10, hasMaximum: true, shared: false, memory64: false }, importedFrom: undefined },
    ]);
    expect(info.startFunction).toBe(4);
    expect(info.code.map((c) => c.functionIndex)).toEqual([2, 3, 4]);
    expect(info.sections.map((s) => s.name)).toEqual(['type', 'import', 'function', 'memory', 'global', 'export', 'start', 'code']);
  });

  it('reads one function body: locals and instructions', async () => {
    const bytes = await wat2wasm(SAMPLE);
    const info = inspectWasmModule(bytes);
    const body = readFunctionBody(bytes, info, 3);
    expect(body.locals).toEqual([
      { count: 2, type: 'i64' },
      { count: 1, type: 'f32' },
    ]);
    expect([...body.instructions]).toEqual([0x42, 0x07, 0x0b]); // i64.const 7; end
    expect(bytes[body.instructionsOffset]).toBe(0x42);
    expect(() => readFunctionBody(bytes, info, 0)).toThrow(/function 0 is imported/);
    expect(() => readFunctionBody(bytes, info, 99)).toThrow(/function 99 does not exist/);
  });

  it('reports a memory without maximum, and imported memory, table and global', async () => {
    const bytes = await wat2wasm(`(module
      (import "env" "mem" (memory 3))
      (import "env" "tbl" (table 2 8 funcref))
      (import "env" "g" (global i64))
      (import "env" "gm" (global (mut i32)))
    )`);
    const info = inspectWasmModule(bytes);
    expect(info.imports).toEqual([
      { module: 'env', name: 'mem', kind: 'memory', memory: { initialPages: 3, maximumPages: undefined, hasMaximum: false, shared: false, memory64: false } },
      { module: 'env', name: 'tbl', kind: 'table', table: { elementType: 'funcref', initial: 2, maximum: 8 } },
      { module: 'env', name: 'g', kind: 'global', valueType: 'i64', mutable: false },
      { module: 'env', name: 'gm', kind: 'global', valueType: 'i32', mutable: true },
    ]);
    expect(info.memories).toEqual([
      {
        index: 0,
        limits: { initialPages: 3, maximumPages: undefined, hasMaximum: false, shared: false, memory64: false },
        importedFrom: { module: 'env', name: 'mem' },
      },
    ]);
    expect(info.startFunction).toBeUndefined();
  });

  it('reads a shared memory (threads) and lists custom sections by name', async () => {
    const base = await wat2wasm('(module (memory (export "memory") 1 2 shared))', { threads: true });
    const custom = section(0, [...name('producers'), 1, 2, 3]);
    const bytes = new Uint8Array([...base, ...custom]);
    const info = inspectWasmModule(bytes);
    expect(info.memories[0].limits).toMatchObject({ initialPages: 1, maximumPages: 2, shared: true });
    expect(info.sections.at(-1)).toMatchObject({ name: 'custom', customName: 'producers', size: custom.length - 2 });
  });

  it('accepts the smallest module: just the header', () => {
    const info = inspectWasmModule(moduleBytes());
    expect(info).toMatchObject({ version: 1, sections: [], functions: [], exports: [], memories: [] });
  });
});

describe('inspectWasmModule - malformed input', () => {
  it('refuses an empty file', () => {
    expect(formatErrorOf(() => inspectWasmModule(new Uint8Array())).message).toMatch(/^empty file/);
  });

  it('refuses bytes that are not wasm (text, a PNG header, random bytes)', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    const text = new TextEncoder().encode('#!/bin/sh\necho hi\n');
    let seed = 7;
    const random = new Uint8Array(256).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    for (const bytes of [png, text, random]) {
      expect(formatErrorOf(() => inspectWasmModule(bytes)).reason).toMatch(/not a WebAssembly module: the file does not start with the magic bytes/);
    }
  });

  it('refuses a truncated header, another version, and a component', () => {
    expect(formatErrorOf(() => inspectWasmModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1]))).reason).toMatch(/truncated header/);
    expect(formatErrorOf(() => inspectWasmModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]))).reason).toMatch(
      /unsupported WebAssembly binary version 2/,
    );
    expect(formatErrorOf(() => inspectWasmModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).reason).toMatch(
      /WebAssembly component, not a core module/,
    );
  });

  it('refuses every truncation of a valid module with a WasmFormatError, never a RangeError', async () => {
    const bytes = await wat2wasm(SAMPLE);
    // A cut exactly between sections can leave a well-formed (smaller) module.
    const boundaries = new Set([8, ...inspectWasmModule(bytes).sections.map((s) => s.offset + s.size)]);
    for (let length = 1; length < bytes.length; length++) {
      if (boundaries.has(length)) continue;
      const error = formatErrorOf(() => inspectWasmModule(bytes.subarray(0, length)));
      expect(error.reason).toMatch(/truncated|unexpected end|magic|declares/);
    }
  });

  it('names the truncated section', async () => {
    const bytes = await wat2wasm(SAMPLE);
    const info = inspectWasmModule(bytes);
    const code = info.sections.find((s) => s.name === 'code')!;
    const error = formatErrorOf(() => inspectWasmModule(bytes.subarray(0, code.offset + 2)));
    expect(error.reason).toMatch(/^code section declares \d+ byte\(s\) but only 2 remain: the file is truncated$/);
  });

  it('survives random corruption: every outcome is a result or a WasmFormatError', async () => {
    const bytes = await wat2wasm(SAMPLE);
    let seed = 42;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 2000; round++) {
      const copy = bytes.slice();
      for (let flips = 1 + next(3); flips > 0; flips--) copy[8 + next(copy.length - 8)] = next(256);
      try {
        inspectWasmModule(copy);
      } catch (error) {
        expect(error).toBeInstanceOf(WasmFormatError);
      }
    }
  });

  it('refuses a LEB128 that is too long or overflows u32', () => {
    const tooLong = new Uint8Array([...moduleBytes(), 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expect(formatErrorOf(() => inspectWasmModule(tooLong)).reason).toBe('bad LEB128 for section size: longer than 5 bytes');
    const overflow = new Uint8Array([...moduleBytes(), 1, 0xff, 0xff, 0xff, 0xff, 0x1f]);
    expect(formatErrorOf(() => inspectWasmModule(overflow)).reason).toBe('bad LEB128 for section size: value does not fit in u32');
    const cut = new Uint8Array([...moduleBytes(), 1, 0x80]);
    expect(formatErrorOf(() => inspectWasmModule(cut)).reason).toMatch(/unexpected end of file inside the LEB128 encoding of section size/);
  });

  it('refuses sections out of order, duplicated, or with an unknown id', () => {
    const types = section(1, [0]);
    const functions = section(3, [0]);
    const outOfOrder = formatErrorOf(() => inspectWasmModule(moduleBytes(functions, types)));
    expect(outOfOrder.reason).toBe('type section appears after the function section; sections must be in order');
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(types, types))).reason).toBe('duplicate type section');
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(section(42, [])))).reason).toBe('unknown section id 42');
    // Custom sections may appear anywhere.
    expect(() => inspectWasmModule(moduleBytes(types, section(0, name('x')), functions))).not.toThrow();
  });

  it('refuses a section whose declared size does not match its contents', () => {
    const padded = section(1, [0, 0xaa]); // an empty type vector, then a stray byte
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(padded))).reason).toBe(
      'type section size mismatch: it declares 2 byte(s) but its contents end after 1',
    );
    const short = [1, 2, 1, 0x60, 0, 0]; // declares 2 bytes, the type needs 4
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(short))).reason).toMatch(/^unexpected end of type section/);
  });

  it('refuses counts larger than the bytes left, bad names and out-of-range indices', () => {
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(section(2, [...leb(1_000_000)])))).reason).toBe(
      'import section declares 1000000 import(s) but only 0 byte(s) remain',
    );
    const badUtf8 = section(7, [1, 2, 0xc3, 0x28, 0, 0]);
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(badUtf8))).reason).toBe('name of export 0 is not valid UTF-8');
    const dangling = section(7, [1, ...name('f'), 0, 5]);
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(dangling))).reason).toBe(
      'export "f" refers to function 5 but the module has only 0 function(s)',
    );
    const badType = section(2, [1, ...name('m'), ...name('f'), 0, 3]);
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(badType))).reason).toBe(
      'import m.f uses type 3 but the module declares only 0 type(s)',
    );
    const duplicate = section(7, [2, ...name('a'), 2, 0, ...name('a'), 2, 0]);
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(section(5, [1, 0, 1]), duplicate))).reason).toBe(
      'duplicate export name "a"',
    );
  });

  it('refuses a function section and code section that disagree', () => {
    const types = section(1, [1, 0x60, 0, 0]);
    const functions = section(3, [2, 0, 0]);
    const code = section(10, [1, 2, 0, 0x0b]);
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(types, functions, code))).reason).toBe(
      'the function section declares 2 function(s) but the code section has 1 body',
    );
  });

  it('refuses non-function types and unknown value types', () => {
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(section(1, [1, 0x5f, 0])))).reason).toBe(
      'type 0 has form 0x5f; only function types (0x60) are supported',
    );
    expect(formatErrorOf(() => inspectWasmModule(moduleBytes(section(1, [1, 0x60, 1, 0x40, 0])))).reason).toBe(
      'unsupported value type 0x40 in param of type 0',
    );
  });
});
