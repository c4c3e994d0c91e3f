// Test helpers: WAT → wasm with wabt, byte-level module assembly, and a typed view of the
// engine's WebAssembly API (the lib compiles without DOM typings).
import wabtInit from 'wabt';

type WabtFeatures = Parameters<Awaited<ReturnType<typeof wabtInit>>['parseWat']>[2];

let wabtPromise: ReturnType<typeof wabtInit> | undefined;

/** Assembles WAT text into a binary; wabt checks syntax but not types, so invalid code still assembles. */
export async function wat2wasm(text: string, features?: WabtFeatures): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const parsed = wabt.parseWat('test.wat', text, features);
  try {
    parsed.resolveNames();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

export interface PluginWatParts {
  /** Import declarations. */
  readonly imports?: string;
  readonly memory?: string;
  /** The whole `forgeone_abi_version` export, or '' to leave it out. */
  readonly abiVersion?: string;
  /** The whole `forgeone_alloc` export, or '' to leave it out. */
  readonly alloc?: string;
  /** Handler exports; defaults to one handler, `run`. */
  readonly handlers?: string;
  readonly extra?: string;
}

/** A minimal ABI v1 plugin with handler `run`; each part can be replaced to break one rule. */
export function pluginWat(parts: PluginWatParts = {}): string {
  return `(module
  ${parts.imports ?? ''}
  ${parts.memory ?? '(memory (export "memory") 1 4)'}
  ${parts.abiVersion ?? '(func (export "forgeone_abi_version") (result i32) i32.const 1)'}
  ${parts.alloc ?? '(func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)'}
  ${parts.handlers ?? '(func (export "run") (param i32 i32) (result i64) i64.const 0)'}
  ${parts.extra ?? ''}
)`;
}

/** Unsigned LEB128. */
export function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A section with a correct size prefix. */
export function section(id: number, content: readonly number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

export function moduleBytes(...sections: readonly (readonly number[])[]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

export function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

export function name(text: string): number[] {
  const bytes = utf8(text);
  return [...leb(bytes.length), ...bytes];
}

export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
}

export interface WasmInstanceLike {
  readonly exports: Record<string, unknown>;
}

interface WasmEngine {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstanceLike;
}

export const engine = (globalThis as unknown as { WebAssembly: WasmEngine }).WebAssembly;
