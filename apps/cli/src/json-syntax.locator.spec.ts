import { describe, expect, it } from 'vitest';
import { locateJsonSyntaxError } from './json-syntax.locator.js';

describe('locateJsonSyntaxError', () => {
  it('finds nothing wrong with valid JSON', () => {
    for (const text of ['{}', ' [1, -2.5e3, "a\\u00e9\\n", true, false, null] ', '{"a":{"b":[{}]}}']) {
      expect(JSON.parse(text)).toBeDefined();
      expect(locateJsonSyntaxError(text)).toBeUndefined();
    }
  });

  it.each([
    ['{"a":}', 1, 6],
    ['{\n  "name": "acme/x",\n}', 3, 1],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ["{'a': 1}", 1, 2],
    ['{"a": 01}', 1, 8],
    ['{"a": 1', 1, 8],
    ['', 1, 1],
    ['{"a": "x\ty"}', 1, 9],
    ['[1] [2]', 1, 5],
  ])('points at line and column for %j', (text, line, column) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonSyntaxError(text)).toMatchObject({ line, column });
  });
});
