import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256, sha256Into } from './ed25519.js';

describe('ed25519 - hashing', () => {
  const sizes = [0, 1, 31, 32, 65, 110, 191, 192, 193, 440, 512, 4096];

  it('sha256 - the digest node:crypto computes, at every size a leaf, a node or a payload has', () => {
    for (const size of sizes) {
      const input = randomBytes(size);
      expect(sha256(input).equals(createHash('sha256').update(input).digest()), `${size} bytes`).toBe(true);
      // A Uint8Array that is not a Buffer, and one over part of a larger buffer.
      expect(sha256(new Uint8Array(input)).equals(createHash('sha256').update(input).digest())).toBe(true);
      expect(sha256(input.subarray(1)).equals(createHash('sha256').update(input.subarray(1)).digest())).toBe(true);
    }
  });

  it('sha256Into - writes the 32 digest bytes in place and nothing around them', () => {
    for (const size of sizes) {
      const input = randomBytes(size);
      const out = Buffer.alloc(80, 0xee);
      sha256Into(out.subarray(20), input);
      expect(out.subarray(20, 52).equals(createHash('sha256').update(input).digest()), `${size} bytes`).toBe(true);
      expect([...out.subarray(0, 20), ...out.subarray(52)].every((byte) => byte === 0xee)).toBe(true);
    }
  });
});
