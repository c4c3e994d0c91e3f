/**
 * Appends WebAssembly binary encodings to a growable buffer: raw bytes, LEB128 integers,
 * names and size-prefixed sections. The counterpart of {@link WasmBinaryReader} for rewriters.
 */
// Below this many bytes a copy loop is faster than TypedArray#set (which has a high fixed cost).
const SHORT_COPY = 64;

export class WasmBinaryWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialCapacity = 1024) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
  }

  get size(): number {
    return this.length;
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  byte(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  bytes(values: Uint8Array | readonly number[]): this {
    const n = values.length;
    this.reserve(n);
    if (n < SHORT_COPY) {
      // A loop beats TypedArray#set for the few bytes of most injected sequences.
      const buffer = this.buffer;
      for (let i = 0, at = this.length; i < n; i++, at++) buffer[at] = values[i];
    } else {
      this.buffer.set(values, this.length);
    }
    this.length += n;
    return this;
  }

  /** `source[start, end)`, without making a view of it first. */
  copy(source: Uint8Array, start: number, end: number): this {
    const n = end - start;
    this.reserve(n);
    const buffer = this.buffer;
    if (n < SHORT_COPY) {
      for (let i = start, at = this.length; i < end; i++, at++) buffer[at] = source[i];
    } else {
      buffer.set(source.subarray(start, end), this.length);
    }
    this.length += n;
    return this;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varUint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as an unsigned LEB128`);
    do {
      let byte = value % 128;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.byte(byte);
    } while (value !== 0);
    return this;
  }

  /** Signed LEB128 of a safe integer (an `i32.const` or `i64.const` immediate). */
  varInt(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`cannot encode ${value} as a signed LEB128`);
    for (;;) {
      const byte = ((value % 128) + 128) % 128;
      value = Math.floor(value / 128);
      const signBitSet = (byte & 0x40) !== 0;
      if ((value === 0 && !signBitSet) || (value === -1 && signBitSet)) {
        this.byte(byte);
        return this;
      }
      this.byte(byte | 0x80);
    }
  }

  name(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.varUint(encoded.length).bytes(encoded);
  }

  /** A section: its id, the size of `content` as LEB128, then `content`. */
  section(id: number, content: Uint8Array): this {
    return this.byte(id).varUint(content.length).bytes(content);
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** A view (not a copy) of bytes written from `start` to `end`; valid until the next write. */
  view(start = 0, end = this.length): Uint8Array {
    return this.buffer.subarray(start, end);
  }

  /** A copy of what was written. */
  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
