// Test helpers: WAT → wasm with wabt, and the plugins the sandbox tests run.
import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';

type WabtFeatures = Parameters<Awaited<ReturnType<typeof wabtInit>>['parseWat']>[2];
let wabtPromise: ReturnType<typeof wabtInit> | undefined;

export async function wat2wasm(text: string, features?: WabtFeatures): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const parsed = (await wabtPromise).parseWat('plugin.wat', text, features);
  try {
    parsed.resolveNames();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

const ROOT = new URL('../../../', import.meta.url);

/** A module of the hostile corpus in test/hostile/<name>.wat. */
export function hostile(name: string): Promise<Uint8Array> {
  return wat2wasm(readFileSync(new URL(`test/hostile/${name}.wat`, ROOT), 'utf8'), { simd: true });
}

export function testPlugin(name: string): Promise<Uint8Array> {
  return wat2wasm(readFileSync(new URL(`libs/sandbox/test/plugins/${name}.wat`, ROOT), 'utf8'));
}

export function helloWasm(): Uint8Array {
  return new Uint8Array(readFileSync(new URL('examples/plugins/hello/plugin.wasm', ROOT)));
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
export const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
