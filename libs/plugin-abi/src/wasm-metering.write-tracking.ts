import { WasmBinaryReader } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, WasmInstructionIterator, type WasmInstruction } from './wasm-instruction.decoder.js';
import type { MeteringGlobals, WriteTracking } from './wasm-metering.contract.js';
import { OP, VALUE_TYPE } from './wasm-opcodes.js';

/**
 * Records where a function writes memory, for {@link METERING_EXPORTS.written}, in a local OR-ed into
 * the global on every normal way out of the function. Before each store, with a high-water mark:
 * `acc |= address + offset` (one register instruction, the add often folded); with buckets:
 * `acc |= 1 << ((address + offset) >> shift)`; with a distance: `d = address + offset - pivot;
 * acc |= d ^ (d >> 31)` (about four either way; no compare, no branch, no memory traffic). Before
 * memory.fill/copy/init: the end of the destination, the bits of every bucket it covers, or the
 * distances of its first and last byte (the range lies between them). A trap skips the flush, which
 * is safe because the host never reuses an instance after a trap, nor one whose memory grew (the
 * only way an address can fall past the 32 buckets and alias a lower bit). An address past the
 * memory traps, so a tracked address is below 2^31 and its distance fits the sign fold.
 */
export interface WriteTracker {
  /** Local declaration groups to append, and how many. */
  readonly locals: Uint8Array;
  readonly groups: number;
  /** Writes what goes before a store (opcodes 0x36-0x3e) with this static offset: the operands are [address, value]. */
  store(w: WasmBinaryWriter, op: number, offset: number): void;
  /** Inserted before memory.fill/copy/init: the operands are [destination, i32, length]. */
  readonly bulk: Uint8Array;
  /** global.written |= accumulator. */
  readonly flush: Uint8Array;
  /** Sets the accumulator to all ones (the whole memory), before a loop whose stores are not tracked. */
  readonly untrackable: Uint8Array;
}

/** Memories up to this size (128 KiB) get a high-water mark: restoring all of it costs ~1-2 µs. */
const HIGH_WATER_MAX_PAGES = 2;

/**
 * A high-water mark for small memories; for larger ones the distance from where the stack starts
 * (`pivot`, see {@link stackPointerStart}), or 32 buckets of at least 1 KiB covering the initial
 * memory when the module has no stack pointer. Toolchains put a 1 MiB stack below the data and the
 * heap: a call's writes sit just below and just above the pivot, and a 1/32 bucket on each side
 * restored 128 KiB for an echo that wrote 2 KiB. With a distance every store is tracked, dense
 * loops included: restoring the whole memory of such a module costs ~10 µs (the price of tracking
 * some 20 000 stores), and toolchain code runs short store loops (formatting a number, collecting
 * characters) in most calls; a loop that does little but store pays ~40% for it instead.
 */
export function writeTrackingFor(initialPages: number, pivot: number | undefined): WriteTracking {
  if (initialPages <= HIGH_WATER_MAX_PAGES) return { kind: 'high-water' };
  // Below 2 GiB every in-bounds address is a non-negative i32, so its distance never overflows the fold.
  if (pivot !== undefined && initialPages < 32768) return { kind: 'distance', pivot };
  return { kind: 'buckets', shift: Math.max(10, Math.ceil(Math.log2(initialPages * 65536)) - 5) };
}

export function writeTracker(g: MeteringGlobals, first: number): WriteTracker {
  const acc = first;
  const address = first + 1;
  const i32a = first + 2;
  const i32b = first + 3;
  const scratch = first + 4;
  const valueLocal: Readonly<Record<string, number>> = { i32: i32a, i64: first + 5, f32: first + 6, f64: first + 7 };
  const locals = new WasmBinaryWriter(8).varUint(5).byte(VALUE_TYPE.i32).varUint(1).byte(VALUE_TYPE.i64).varUint(1).byte(VALUE_TYPE.f32).varUint(1).byte(VALUE_TYPE.f64).toBytes();
  const get = (w: WasmBinaryWriter, local: number): WasmBinaryWriter => w.byte(OP.localGet).varUint(local);
  const accumulate = (w: WasmBinaryWriter): WasmBinaryWriter => get(w, acc).byte(OP.i32Or).byte(OP.localSet).varUint(acc);
  const buckets = g.tracking.kind === 'buckets' ? g.tracking.shift : undefined;
  const pivot = g.tracking.kind === 'distance' ? g.tracking.pivot : undefined;
  const bucketOf = (w: WasmBinaryWriter, shift: number): WasmBinaryWriter => w.byte(OP.i32Const).varInt(shift).byte(OP.i32ShrU);
  // [x] -> acc |= d ^ (d >> 31) with d = x + delta: the distance of x from the pivot (delta = -pivot), sign-folded.
  const accumulateDistance = (w: WasmBinaryWriter, delta: number): WasmBinaryWriter => {
    if (delta !== 0) w.byte(OP.i32Const).varInt(delta | 0).byte(OP.i32Add);
    get(w.byte(OP.localTee).varUint(scratch), scratch).byte(OP.i32Const).varInt(31).byte(OP.i32ShrS).byte(OP.i32Xor);
    return accumulate(w);
  };
  const store = (w: WasmBinaryWriter, op: number, offset: number): void => {
    const value = valueLocal[STORE_VALUE_TYPE[op - 0x36]];
    w.byte(OP.localSet).varUint(value).byte(OP.localSet).varUint(address);
    if (pivot !== undefined) {
      // The offset and the pivot fold into one constant: (address + offset - pivot) wraps like its parts.
      accumulateDistance(get(w, address), offset - pivot);
      get(get(w, address), value);
      return;
    }
    if (buckets !== undefined) w.byte(OP.i32Const).varInt(1);
    get(w, address);
    // The offset is a u32; i32.const takes its two's complement and the add wraps the same way.
    if (offset !== 0) w.byte(OP.i32Const).varInt(offset | 0).byte(OP.i32Add);
    accumulate(buckets === undefined ? w : bucketOf(w, buckets).byte(OP.i32Shl));
    get(get(w, address), value);
  };
  const bulk = new WasmBinaryWriter(64).byte(OP.localSet).varUint(i32b).byte(OP.localSet).varUint(i32a).byte(OP.localSet).varUint(address);
  if (pivot !== undefined) {
    // The first byte d and the last d + n - 1 (d - 1 when n is 0: marking more only costs time).
    accumulateDistance(get(bulk, address), -pivot);
    accumulateDistance(get(get(bulk, address), i32b).byte(OP.i32Add), -1 - pivot);
  } else if (buckets === undefined) {
    // acc |= d + n, the end of the destination.
    accumulate(get(get(bulk, address), i32b).byte(OP.i32Add));
  } else {
    // acc |= (-1 << (d >> shift)) & (-1 >>> (31 - ((d + n - 1) >> shift))). With n = 0 the mask is
    // empty or, when d is 0, too wide: marking more than was written only costs time.
    bucketOf(get(bulk.byte(OP.i32Const).varInt(-1), address), buckets).byte(OP.i32Shl);
    bulk.byte(OP.i32Const).varInt(-1).byte(OP.i32Const).varInt(31);
    bucketOf(get(get(bulk, address), i32b).byte(OP.i32Add).byte(OP.i32Const).varInt(1).byte(OP.i32Sub), buckets);
    accumulate(bulk.byte(OP.i32Sub).byte(OP.i32ShrU).byte(OP.i32And));
  }
  get(get(get(bulk, address), i32a), i32b);
  return {
    locals,
    groups: 4,
    store,
    bulk: bulk.toBytes(),
    flush: get(new WasmBinaryWriter(12).byte(OP.globalGet).varUint(g.written), acc).byte(OP.i32Or).byte(OP.globalSet).varUint(g.written).toBytes(),
    untrackable: new WasmBinaryWriter(8).byte(OP.i32Const).varInt(-1).byte(OP.localSet).varUint(acc).toBytes(),
  };
}

/** Value type of the operand each store opcode (0x36-0x3e) takes. */
const STORE_VALUE_TYPE = ['i32', 'i64', 'f32', 'f64', 'i32', 'i32', 'i64', 'i64', 'i64'] as const;

/** How an instruction writes linear memory: not at all, a store (its static offset is the immediate), or memory.fill/copy/init. */
export const MemoryWrite = { none: 0, store: 1, bulk: 2 } as const;

export function memoryWriteOf(ins: WasmInstruction): (typeof MemoryWrite)[keyof typeof MemoryWrite] {
  if (ins.op >= 0x36 && ins.op <= 0x3e) return MemoryWrite.store;
  return ins.sub === 8 || ins.sub === 10 || ins.sub === 11 ? MemoryWrite.bulk : MemoryWrite.none;
}

/**
 * A loop with fewer than this many instructions per store is not tracked store by store: in a
 * store-bound loop of ~10 instructions one more (the high-water OR) cost ~16%, above the metering
 * budget.
 */
const TRACKED_INSTRUCTIONS_PER_STORE = 16;

export interface BodyFeatures {
  readonly loop: boolean;
  readonly writes: boolean;
  /** Offsets of `loop` opcodes whose stores are too dense to track one by one. */
  readonly denseLoops: ReadonlySet<number>;
  /** Offsets of the stores inside those loops. */
  readonly untracked: ReadonlySet<number>;
}

/**
 * Whether a body has a loop and writes linear memory, and which stores are not worth tracking one
 * by one: those whose innermost loop has fewer than {@link TRACKED_INSTRUCTIONS_PER_STORE}
 * instructions (nested loops included) per store. Such a loop sets the accumulator to all ones
 * where it is entered, so the host restores the whole memory after the call instead. With
 * `trackEveryStore` no loop is judged dense (see {@link writeTrackingFor}).
 */
export function bodyFeatures(bytes: Uint8Array, start: number, end: number, index: number, trackEveryStore = false): BodyFeatures {
  const code = new WasmInstructionIterator(new WasmBinaryReader(bytes, start, end, `body of function ${index}`));
  const ins = code.current;
  const loops: { at: number; instructions: number; stores: number[] }[] = [];
  // The open constructs: the index in `loops` of a loop, -1 for a block or an if.
  const open: number[] = [];
  const innermost: number[] = [];
  let loop = false;
  let writes = false;
  while (!code.atEnd) {
    const kind = code.next();
    const at = ins.at;
    for (const l of innermost) loops[l].instructions++;
    if (kind === InstructionKind.block || kind === InstructionKind.if) {
      open.push(-1);
    } else if (kind === InstructionKind.loop) {
      loop = true;
      open.push(loops.push({ at, instructions: 0, stores: [] }) - 1);
      innermost.push(open[open.length - 1]);
    } else if (kind === InstructionKind.end) {
      if (open.length > 0 && open.pop()! >= 0) innermost.pop();
    } else {
      const write = memoryWriteOf(ins);
      if (write !== MemoryWrite.none) {
        writes = true;
        if (write === MemoryWrite.store && innermost.length > 0) loops[innermost[innermost.length - 1]].stores.push(at);
      }
    }
  }
  const denseLoops = new Set<number>();
  const untracked = new Set<number>();
  for (const l of loops) {
    if (!trackEveryStore && l.stores.length > 0 && l.instructions < TRACKED_INSTRUCTIONS_PER_STORE * l.stores.length) {
      denseLoops.add(l.at);
      for (const at of l.stores) untracked.add(at);
    }
  }
  return { loop, writes, denseLoops, untracked };
}

/** Instructions that change state outside linear memory and globals (the host cannot reset it). */
export function stateChangeOf(ins: WasmInstruction): string | undefined {
  if (ins.op === OP.tableSet) return 'table.set';
  switch (ins.sub) {
    case 9:
      return 'data.drop';
    case 12:
      return 'table.init';
    case 13:
      return 'elem.drop';
    case 14:
      return 'table.copy';
    case 15:
      return 'table.grow';
    case 17:
      return 'table.fill';
    default:
      return undefined;
  }
}
