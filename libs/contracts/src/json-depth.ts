import { ForgeOneError } from './errors.js';

/** Deepest nesting of objects and arrays a request body may have; no ForgeOne body comes near it. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Whether JSON text (UTF-8 bytes) nests objects and arrays deeper than `maxDepth`, read before
 * it is parsed: JSON.parse copes with any depth, but every recursive walk after it (JSON.stringify
 * on the way to the bus, schema checks) overflows the stack on a body 10,000 levels deep.
 * Brackets inside strings do not count; the text need not be valid JSON (the parser judges that).
 * Hand-written because no maintained npm package measures depth without parsing; string contents
 * are skipped with `indexOf`, so a megabyte of base64 costs little.
 */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i = endOfString(bytes, i + 1);
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * Throws COMMAND.INVALID when a request body nests deeper than `maxDepth` (see {@link exceedsJsonDepth}).
 *
 * @param what names the body in the message ("the body of registry.publish")
 */
export function assertJsonDepth(bytes: Uint8Array, what: string, maxDepth: number = MAX_JSON_DEPTH): void {
  if (exceedsJsonDepth(bytes, maxDepth)) {
    throw new ForgeOneError('COMMAND.INVALID', `${what} nests objects and arrays more than ${maxDepth} levels deep; send a flatter JSON document`, { maxDepth });
  }
}

// Index of the quote that closes the string whose contents start at `from` (the end of the text if none).
function endOfString(bytes: Uint8Array, from: number): number {
  for (let at = from; ; at++) {
    at = bytes.indexOf(QUOTE, at);
    if (at === -1) return bytes.length;
    let backslashes = 0;
    while (at - 1 - backslashes >= from && bytes[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
