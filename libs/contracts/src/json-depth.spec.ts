import { describe, expect, it } from 'vitest';
import type { ForgeOneError } from './errors.js';
import { assertJsonDepth, exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('json depth - before parsing', () => {
  it('accepts a body exactly at the limit and refuses one a level deeper', () => {
    expect(exceedsJsonDepth(bytes(nested(MAX_JSON_DEPTH)))).toBe(false);
    expect(exceedsJsonDepth(bytes(nested(MAX_JSON_DEPTH + 1)))).toBe(true);
    expect(exceedsJsonDepth(bytes(`${'['.repeat(65)}${']'.repeat(65)}`))).toBe(true);
  });

  it('counts depth, not the number of objects', () => {
    const wide = `[${Array.from({ length: 10_000 }, () => '{"k":[1,2,{"x":null}]}').join(',')}]`;
    expect(exceedsJsonDepth(bytes(wide))).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ text: '['.repeat(1000), quoted: `"${'{'.repeat(500)}\\"[[[` });
    expect(exceedsJsonDepth(bytes(inString))).toBe(false);
    // A string ending in an escaped backslash closes there; what follows counts again.
    expect(exceedsJsonDepth(bytes(`["\\\\",${'['.repeat(70)}`))).toBe(true);
  });

  it('refuses a body 10,000 levels deep with COMMAND.INVALID naming the body and the limit', () => {
    let error: ForgeOneError | undefined;
    try {
      assertJsonDepth(bytes(`{"manifest":${nested(10_000)},"wasm":"AA=="}`), 'the body of registry.publish');
    } catch (e) {
      error = e as ForgeOneError;
    }
    expect(error?.code).toBe('COMMAND.INVALID');
    expect(error?.message).toBe('the body of registry.publish nests objects and arrays more than 64 levels deep; send a flatter JSON document');
  });

  it('skips a megabyte of base64 quickly', () => {
    const body = bytes(JSON.stringify({ manifest: { name: 'a/b' }, wasm: Buffer.alloc(6 * 1024 * 1024, 7).toString('base64') }));
    const started = performance.now();
    expect(exceedsJsonDepth(body)).toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });
});
