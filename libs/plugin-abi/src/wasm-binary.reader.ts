import type { WasmValueType } from './wasm-module.types.js';

/** A structural defect in a WebAssembly binary, with the file offset where it was found. */
export class WasmFormatError extends Error {
  override readonly name: string = 'WasmFormatError';
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} (at byte offset ${offset})`);
  }
}

const VALUE_TYPES: Readonly<Record<number, WasmValueType>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Reads one bounded region of a binary (the whole file, or one section). Every read checks
 * the bound first, so running off the end is a {@link WasmFormatError} naming the region,
 * never a RangeError or a silent `undefined`.
 */
export class WasmBinaryReader {
  private position: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
    /** Human name of the region, e.g. "import section"; used in messages. */
    readonly region: string,
  ) {
    this.position = start;
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  get atEnd(): boolean {
    return this.position >= this.end;
  }

  fail(reason: string, offset: number = this.position): never {
    throw new WasmFormatError(reason, offset);
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) {
      this.fail(`unexpected end of ${this.region} while reading ${what}: needs ${count} byte(s), ${this.remaining} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.position++];
  }

  bytesOf(count: number, what: string): Uint8Array {
    this.need(count, what);
    const slice = this.bytes.subarray(this.position, this.position + count);
    this.position += count;
    return slice;
  }

  skip(count: number, what: string): void {
    this.need(count, what);
    this.position += count;
  }

  /** Unsigned LEB128 of at most `bits` bits (32, or 64 for memory64 limits, returned as a safe integer). */
  varUint(what: string, bits: 32 | 64 = 32): number {
    const start = this.position;
    const maxBytes = Math.ceil(bits / 7);
    // Multiplying (not shifting) keeps the value exact up to 2^53 without 32-bit wrap-around.
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (this.atEnd) this.fail(`unexpected end of ${this.region} inside the LEB128 encoding of ${what}`, start);
      const byte = this.bytes[this.position++];
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (i === maxBytes - 1) {
        if (byte & 0x80) this.fail(`bad LEB128 for ${what}: longer than ${maxBytes} bytes`, start);
        // The last byte may only carry the bits that still fit: no hidden overflow.
        const usedBits = bits - 7 * i;
        if (byte >> usedBits !== 0) this.fail(`bad LEB128 for ${what}: value does not fit in u${bits}`, start);
        break;
      }
      if (!(byte & 0x80)) break;
    }
    if (result > Number.MAX_SAFE_INTEGER) this.fail(`${what} is too large to handle`, start);
    return result;
  }

  /** Signed LEB128 of at most 32 bits (an `i32.const` immediate). */
  varInt32(what: string): number {
    const start = this.position;
    let result = 0;
    for (let i = 0; ; i++) {
      if (this.atEnd) this.fail(`unexpected end of ${this.region} inside the LEB128 encoding of ${what}`, start);
      const byte = this.bytes[this.position++];
      if (i === 4) {
        if (byte & 0x80) this.fail(`bad LEB128 for ${what}: longer than 5 bytes`, start);
        // Bits 3..6 of the fifth byte must all equal the sign bit (bit 3).
        const high = byte & 0x78;
        if (high !== 0 && high !== 0x78) this.fail(`bad LEB128 for ${what}: value does not fit in i32`, start);
        return (result | (byte << 28)) | 0;
      }
      result |= (byte & 0x7f) << (7 * i);
      if (!(byte & 0x80)) {
        const shift = 7 * (i + 1);
        return byte & 0x40 ? (result | (-1 << shift)) | 0 : result;
      }
    }
  }

  /** A vector length; refuses counts that could not fit in the bytes left (each entry takes at least one). */
  count(what: string): number {
    const start = this.position;
    const n = this.varUint(`${what} count`);
    if (n > this.remaining) {
      this.fail(`${this.region} declares ${n} ${what}(s) but only ${this.remaining} byte(s) remain`, start);
    }
    return n;
  }

  name(what: string): string {
    const start = this.position;
    const length = this.varUint(`${what} length`);
    const raw = this.bytesOf(length, what);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }

  valueType(what: string): WasmValueType {
    const start = this.position;
    const code = this.u8(what);
    const type = VALUE_TYPES[code];
    if (type === undefined) this.fail(`unsupported value type ${hex(code)} in ${what}`, start);
    return type;
  }
}
