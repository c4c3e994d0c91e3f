import { hex, WasmBinaryReader } from './wasm-binary.reader.js';

/** A WebAssembly feature the decoder refuses; names follow the proposals. */
export type WasmUnsupportedFeature =
  | 'simd'
  | 'threads'
  | 'exceptions'
  | 'gc'
  | 'function-references'
  | 'tail-call'
  | 'multi-memory'
  | 'memory64'
  | 'imported-memory'
  | 'unknown-opcode';

/**
 * A module uses something the sandbox does not run: a post-MVP feature outside the supported set
 * (sign extension, saturating truncation, bulk memory, reference types, multi-value), a memory the
 * sandbox cannot cap, or an export name the sandbox reserves.
 */
export class WasmRewriteError extends Error {
  override readonly name: string = 'WasmRewriteError';
  constructor(
    readonly reason: 'unsupported_feature' | 'memory_limit' | 'reserved_name',
    message: string,
    readonly offset: number,
    readonly feature?: WasmUnsupportedFeature,
  ) {
    super(`${message} (at byte offset ${offset})`);
  }
}

/** How an instruction affects control flow, which is all the metering rewriter needs to know. */
export const InstructionKind = {
  /** No effect on control flow. */
  plain: 0,
  block: 1,
  loop: 2,
  if: 3,
  else: 4,
  end: 5,
  /** `br_if`: may leave the current basic block. */
  branchIf: 6,
  /** `br`, `br_table`, `return`, `unreachable`: never falls through. */
  jump: 7,
  call: 8,
  memoryGrow: 9,
} as const;
export type InstructionKind = (typeof InstructionKind)[keyof typeof InstructionKind];

const K = InstructionKind;

function unsupported(reader: WasmBinaryReader, offset: number, feature: WasmUnsupportedFeature, what: string): never {
  throw new WasmRewriteError(
    'unsupported_feature',
    `${reader.region} uses ${what}, which needs the ${feature} proposal; the sandbox runs only MVP WebAssembly with sign extension, saturating truncation, bulk memory, reference types and multi-value (rebuild without ${feature})`,
    offset,
    feature,
  );
}

/** Skips a LEB128 of at most `maxBytes` bytes without interpreting it. */
function skipLeb(reader: WasmBinaryReader, maxBytes: number, what: string): void {
  const start = reader.offset;
  for (let i = 0; i < maxBytes; i++) {
    if ((reader.u8(what) & 0x80) === 0) return;
  }
  reader.fail(`bad LEB128 for ${what}: longer than ${maxBytes} bytes`, start);
}

const SINGLE_BYTE_BLOCK_TYPES = new Set([0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f]);

function readBlockType(reader: WasmBinaryReader): void {
  const start = reader.offset;
  const first = reader.u8('block type');
  if (SINGLE_BYTE_BLOCK_TYPES.has(first)) return;
  if (first === 0x7b) unsupported(reader, start, 'simd', 'a v128 block type');
  // Otherwise an s33 type index (multi-value); negative values are heap types of later proposals.
  let byte = first;
  let count = 1;
  while (byte & 0x80) {
    if (count === 5) reader.fail('bad LEB128 for block type index: longer than 5 bytes', start);
    byte = reader.u8('block type index');
    count++;
  }
  if (byte & 0x40) unsupported(reader, start, 'function-references', `block type ${hex(first)}`);
}

/** Reads a load's or store's alignment and returns its static offset. */
function readMemArg(reader: WasmBinaryReader): number {
  const start = reader.offset;
  const align = reader.varUint('memory alignment');
  // Bit 6 of the alignment announces an explicit memory index (multi-memory).
  if (align >= 64) unsupported(reader, start, 'multi-memory', 'a memory index in a load or store');
  return reader.varUint('memory offset');
}

function readMemoryIndexZero(reader: WasmBinaryReader, what: string): void {
  const start = reader.offset;
  if (reader.u8(what) !== 0x00) unsupported(reader, start, 'multi-memory', `a memory index other than 0 in ${what}`);
}

/**
 * The instruction an iterator stands on: where it starts, its opcode (and 0xfc sub-opcode), how it
 * affects control flow and the one immediate the rewriter needs, read and range-checked by the
 * binary reader: the function index of `call` and `ref.func`, the type index of `call_indirect`, the
 * index of `local.*`, `global.*` and `table.get/set`, the static offset of a load or store, the first
 * index of a 0xfc instruction that has one; 0 for the others.
 */
export interface WasmInstruction {
  at: number;
  op: number;
  /** The 0xfc sub-opcode; -1 for other opcodes. */
  sub: number;
  kind: InstructionKind;
  immediate: number;
}

/**
 * Walks the instructions of a region (a function body after its locals, a constant expression)
 * one at a time, reusing one {@link WasmInstruction} so a walk over a large module allocates nothing
 * per instruction. `offset` is where the next instruction starts.
 */
export class WasmInstructionIterator {
  readonly current: WasmInstruction = { at: 0, op: 0, sub: -1, kind: K.plain, immediate: 0 };

  constructor(readonly reader: WasmBinaryReader) {}

  get atEnd(): boolean {
    return this.reader.atEnd;
  }

  get offset(): number {
    return this.reader.offset;
  }

  /** Decodes the next instruction into {@link current} and returns its kind. */
  next(): InstructionKind {
    return decodeInstruction(this.reader, this.current);
  }
}

const scratch: WasmInstruction = { at: 0, op: 0, sub: -1, kind: K.plain, immediate: 0 };

/**
 * Reads one instruction, leaving the reader after its immediates, and says how it affects
 * control flow. Supports MVP plus sign extension, saturating truncation (0xFC 0–7), bulk memory and
 * table operations (0xFC 8–17), reference types and multi-value block types.
 *
 * @throws {WasmRewriteError} `unsupported_feature` for SIMD, threads, exceptions, GC, tail calls,
 *   typed function references, multi-memory and unknown opcodes.
 * @throws {WasmFormatError} when an immediate is truncated or malformed.
 */
export function readInstruction(reader: WasmBinaryReader): InstructionKind {
  return decodeInstruction(reader, scratch);
}

function decodeInstruction(reader: WasmBinaryReader, ins: WasmInstruction): InstructionKind {
  const start = reader.offset;
  const op = reader.u8('opcode');
  ins.at = start;
  ins.op = op;
  ins.sub = -1;
  ins.immediate = 0;
  return (ins.kind = decodeOperands(reader, ins, op, start));
}

function decodeOperands(reader: WasmBinaryReader, ins: WasmInstruction, op: number, start: number): InstructionKind {
  if (op >= 0x45 && op <= 0xc4) return K.plain; // numeric operators and sign extension: no immediates
  if (op >= 0x28 && op <= 0x3e) {
    ins.immediate = readMemArg(reader);
    return K.plain;
  }
  switch (op) {
    case 0x00: // unreachable
      return K.jump;
    case 0x01: // nop
      return K.plain;
    case 0x02:
      readBlockType(reader);
      return K.block;
    case 0x03:
      readBlockType(reader);
      return K.loop;
    case 0x04:
      readBlockType(reader);
      return K.if;
    case 0x05:
      return K.else;
    case 0x0b:
      return K.end;
    case 0x0c: // br
      skipLeb(reader, 5, 'branch depth');
      return K.jump;
    case 0x0d: // br_if
      skipLeb(reader, 5, 'branch depth');
      return K.branchIf;
    case 0x0e: {
      // br_table: a vector of depths and a default depth
      const n = reader.count('br_table target');
      for (let i = 0; i <= n; i++) skipLeb(reader, 5, 'branch depth');
      return K.jump;
    }
    case 0x0f: // return
      return K.jump;
    case 0x10: // call
      ins.immediate = reader.varUint('function index');
      return K.call;
    case 0x11: // call_indirect: type index, table index
      ins.immediate = reader.varUint('type index');
      reader.varUint('table index');
      return K.call;
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
      return K.plain;
    case 0x1c: {
      // typed select
      const n = reader.count('select type');
      for (let i = 0; i < n; i++) {
        const at = reader.offset;
        if (reader.valueType('select type') === 'v128') unsupported(reader, at, 'simd', 'a v128 select');
      }
      return K.plain;
    }
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0xd2: // ref.func
      ins.immediate = reader.varUint('index');
      return K.plain;
    case 0x3f: // memory.size
      readMemoryIndexZero(reader, 'memory.size');
      return K.plain;
    case 0x40: // memory.grow
      readMemoryIndexZero(reader, 'memory.grow');
      return K.memoryGrow;
    case 0x41:
      skipLeb(reader, 5, 'i32.const immediate');
      return K.plain;
    case 0x42:
      skipLeb(reader, 10, 'i64.const immediate');
      return K.plain;
    case 0x43:
      reader.skip(4, 'f32.const immediate');
      return K.plain;
    case 0x44:
      reader.skip(8, 'f64.const immediate');
      return K.plain;
    case 0xd0: {
      // ref.null with a reference type
      const at = reader.offset;
      const type = reader.u8('reference type');
      if (type !== 0x70 && type !== 0x6f) unsupported(reader, at, 'gc', `ref.null of heap type ${hex(type)}`);
      return K.plain;
    }
    case 0xfc:
      return readPrefixedFC(reader, ins, start);
    case 0xfd:
      return unsupported(reader, start, 'simd', 'a SIMD instruction (prefix 0xfd)');
    case 0xfe:
      return unsupported(reader, start, 'threads', 'an atomic instruction (prefix 0xfe)');
    case 0xfb:
      return unsupported(reader, start, 'gc', 'a GC instruction (prefix 0xfb)');
    case 0x06: // try
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0a: // throw_ref
    case 0x18: // delegate
    case 0x19: // catch_all
    case 0x1f: // try_table
      return unsupported(reader, start, 'exceptions', `exception handling opcode ${hex(op)}`);
    case 0x12: // return_call
    case 0x13: // return_call_indirect
      return unsupported(reader, start, 'tail-call', `tail call opcode ${hex(op)}`);
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      return unsupported(reader, start, 'function-references', `typed reference opcode ${hex(op)}`);
    default:
      return unsupported(reader, start, 'unknown-opcode', `unknown opcode ${hex(op)}`);
  }
}

function readPrefixedFC(reader: WasmBinaryReader, ins: WasmInstruction, start: number): InstructionKind {
  const sub = reader.varUint('0xfc sub-opcode');
  ins.sub = sub;
  if (sub <= 7) return K.plain; // saturating truncation
  switch (sub) {
    case 8: // memory.init data, mem
      ins.immediate = reader.varUint('data index');
      readMemoryIndexZero(reader, 'memory.init');
      return K.plain;
    case 9: // data.drop
      ins.immediate = reader.varUint('data index');
      return K.plain;
    case 10: // memory.copy dst, src
      readMemoryIndexZero(reader, 'memory.copy');
      readMemoryIndexZero(reader, 'memory.copy');
      return K.plain;
    case 11: // memory.fill
      readMemoryIndexZero(reader, 'memory.fill');
      return K.plain;
    case 12: // table.init elem, table
    case 14: // table.copy dst, src
      ins.immediate = reader.varUint('index');
      reader.varUint('table index');
      return K.plain;
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      ins.immediate = reader.varUint('index');
      return K.plain;
    default:
      return unsupported(reader, start, 'unknown-opcode', `instruction 0xfc ${sub}`);
  }
}
