import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('canonical json - sorts keys recursively and writes no white space', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('canonical json - equal data in a different key order gives the same text', () => {
    expect(canonicalJson({ x: 1, y: [1, 2], z: { q: 'é' } })).toBe(canonicalJson({ z: { q: 'é' }, y: [1, 2], x: 1 }));
  });

  it('canonical json - array order is kept', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('canonical json - strings and numbers are written as JSON.stringify writes them', () => {
    expect(canonicalJson({ s: 'line\n"quoted" \u2028', n: 1e21, f: 0.1, neg: -0 })).toBe(
      `{"f":0.1,"n":1e+21,"neg":0,"s":${JSON.stringify('line\n"quoted" \u2028')}}`,
    );
  });

  it('canonical json - undefined members are left out, undefined array items become null, dates use toJSON', () => {
    expect(canonicalJson({ a: undefined, b: [undefined], c: new Date('2026-01-01T00:00:00Z') })).toBe('{"b":[null],"c":"2026-01-01T00:00:00.000Z"}');
  });

  it('canonical json - a value with no JSON form is refused', () => {
    expect(() => canonicalJson(undefined)).toThrow(/no JSON representation/);
  });
});
