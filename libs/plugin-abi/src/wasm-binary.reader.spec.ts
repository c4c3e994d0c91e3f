import { describe, expect, it } from 'vitest';
import { WasmBinaryReader, WasmFormatError } from './wasm-binary.reader.js';

const reader = (bytes: number[]): WasmBinaryReader => new WasmBinaryReader(new Uint8Array(bytes), 0, bytes.length, 'test region');

describe('WasmBinaryReader - LEB128', () => {
  it.each([
    [[0x00], 0],
    [[0x7f], 127],
    [[0x80, 0x01], 128],
    [[0x80, 0x00], 0], // padded encodings are allowed by the spec
    [[0xff, 0xff, 0xff, 0xff, 0x0f], 4294967295],
  ])('reads u32 %j as %d', (bytes, value) => {
    const r = reader(bytes);
    expect(r.varUint('n')).toBe(value);
    expect(r.atEnd).toBe(true);
  });

  it('reads u64 values up to 2^53 and refuses larger ones', () => {
    expect(reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]).varUint('n', 64)).toBe(2 ** 40);
    expect(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).varUint('n', 64)).toThrow(/n is too large to handle/);
    expect(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]).varUint('n', 64)).toThrow(/does not fit in u64/);
  });

  it.each([
    [[0x00], 0],
    [[0x7f], -1],
    [[0x3f], 63],
    [[0x40], -64],
    [[0xc0, 0x00], 64],
    [[0xff, 0xff, 0xff, 0xff, 0x07], 2147483647],
    [[0x80, 0x80, 0x80, 0x80, 0x78], -2147483648],
    [[0xff, 0xff, 0xff, 0xff, 0x7f], -1],
  ])('reads s32 %j as %d', (bytes, value) => {
    expect(reader(bytes).varInt32('n')).toBe(value);
  });

  it('refuses s32 encodings that are too long or do not fit', () => {
    expect(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).varInt32('n')).toThrow('bad LEB128 for n: longer than 5 bytes (at byte offset 0)');
    expect(() => reader([0x80, 0x80, 0x80, 0x80, 0x70]).varInt32('n')).toThrow('bad LEB128 for n: value does not fit in i32');
    expect(() => reader([0xff, 0xff, 0xff, 0xff, 0x0f]).varInt32('n')).toThrow('bad LEB128 for n: value does not fit in i32');
  });

  it('refuses reads past the end of the region with its name and offset', () => {
    const r = reader([0x05, 0x61]);
    const error = (() => {
      try {
        r.name('export name');
      } catch (e) {
        return e as WasmFormatError;
      }
      throw new Error('read past the end');
    })();
    expect(error).toBeInstanceOf(WasmFormatError);
    expect(error.message).toBe('unexpected end of test region while reading export name: needs 5 byte(s), 1 left (at byte offset 1)');
    expect(() => reader([0x80]).varUint('size')).toThrow('unexpected end of test region inside the LEB128 encoding of size (at byte offset 0)');
  });
});
