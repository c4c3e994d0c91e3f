import { WasmBinaryReader, WasmFormatError } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, readInstruction, WasmRewriteError } from './wasm-instruction.decoder.js';
import { inspectWasmModule } from './wasm-module.inspector.js';
import type { WasmFuncType, WasmModuleInfo, WasmSection } from './wasm-module.types.js';

/** Exports the rewriter adds; a module that already uses one of these names is refused. */
export const METERING_EXPORTS = {
  /** Mutable i64 global: fuel left. The host sets it before a call and reads it after. */
  fuel: '__forgeone_fuel',
  /** Mutable i32 global set to 1 just before a trap caused by running out of fuel. */
  outOfFuel: '__forgeone_out_of_fuel',
  /** Mutable i32 global set to 1 when a `memory.grow` returned -1 (the memory cap was hit). */
  growRefused: '__forgeone_grow_refused',
  /** The module's start function, exported instead of run on instantiation; the host calls it first. */
  start: '__forgeone_start',
  /** Prefix of the exports of the module's own mutable globals (`__forgeone_global_<index>`), so the host can reset them. */
  globalPrefix: '__forgeone_global_',
  /**
   * Mutable i32 global: where the code wrote memory since the host last set it to 0, as
   * `reset.writeTracking` says. `high-water`: the bitwise OR of the address of every store (and of the
   * end of every memory.fill/copy/init); an OR of addresses is at least their maximum, so every byte
   * written lies below it plus 8. `buckets`: one bit per bucket of `2 ** shift` bytes (bit i: a write
   * starting in bucket i; a store may run up to 7 bytes into the next bucket; memory.fill/copy/init
   * set every bucket they cover). `distance`: the OR, over every store address `a`, of how far `a`
   * lies from `pivot`, folded to a non-negative number (`a - pivot` above it, `pivot - a - 1` below;
   * both ends of every memory.fill/copy/init), so every byte written lies in
   * `[pivot - written - 1, pivot + written + 8)`. All ones once a call entered a loop whose stores
   * are too dense to track one by one.
   */
  written: '__forgeone_written',
} as const;

/** Every export name starting with this is reserved for the sandbox. */
export const RESERVED_EXPORT_PREFIX = '__forgeone_';

export interface MeterWasmOptions {
  /** Linear memory cap in 64 KiB pages; the rewritten memory never declares a larger maximum. */
  readonly memoryCapPages: number;
  /**
   * Check (and trap) at every basic block, not only at function entry and loop headers.
   * Off by default: between two checks a guest can only run straight-line code, so the overdraft
   * is bounded by one function's size, and the host reports a negative balance as exhausted.
   */
  readonly checkEveryBlock?: boolean;
}

/** How {@link METERING_EXPORTS.written} records writes; see {@link MeteredWasmModule.reset}. */
export type WriteTracking =
  | { readonly kind: 'high-water' }
  | { readonly kind: 'buckets'; readonly shift: number }
  | { readonly kind: 'distance'; readonly pivot: number };

export interface MeteredWasmModule {
  readonly bytes: Uint8Array;
  /** Limits of the memory after capping (pages); undefined when the module has no memory. */
  readonly memory: { readonly initialPages: number; readonly maximumPages: number; readonly declaredMaximumPages: number | undefined } | undefined;
  /** True when the module had a start function, now exported as {@link METERING_EXPORTS.start}. */
  readonly hasStart: boolean;
  /**
   * How the host can return an instance to its state right after instantiation: memory from a
   * snapshot, plus these exported mutable globals. `resettable` is false when the code can change
   * state the host cannot see or restore (tables via table.set/grow/fill/copy/init, dropped data or
   * element segments); such a module gets a fresh instance for every call.
   *
   * `writeTracking` says how to read {@link METERING_EXPORTS.written}: a high-water mark for small
   * memories (where restoring from 0 up is cheap and one OR per store is all it costs); for larger
   * ones, whose writes are often far apart, the distance from the initial stack pointer when the
   * module has one (toolchains put the stack below it and the data and heap above it, so a call's
   * writes gather around it), else 32 buckets covering the initial memory (1 KiB each at least);
   * when the memory is larger than those by the time the host snapshots it (a start function grew
   * it), the bits say nothing and the host restores everything.
   */
  readonly reset: { readonly resettable: boolean; readonly globals: readonly string[]; readonly writeTracking: WriteTracking; readonly reason?: string };
  readonly stats: { readonly functions: number; readonly instructions: number; readonly checks: number; readonly charges: number; readonly trackedWrites: number; readonly untrackedLoops: number };
}

// Only the validator is needed; typed locally so the lib does not depend on DOM typings.
const engine = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

const SECTION_RANK: Readonly<Record<string, number>> = {
  custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, tag: 6, global: 7,
  export: 8, start: 9, element: 10, datacount: 11, code: 12, data: 13,
};
const SECTION_ID = { type: 1, function: 3, global: 6, export: 7, memory: 5, code: 10 } as const;

// Opcodes of the injected sequences.
const GLOBAL_GET = 0x23;
const GLOBAL_SET = 0x24;
const I64_CONST = 0x42;
const I32_CONST = 0x41;
const I64_LT_S = 0x53;
const I64_SUB = 0x7d;
const I32_EQ = 0x46;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_AND = 0x71;
const I32_OR = 0x72;
const I32_SHL = 0x74;
const I32_SHR_S = 0x75;
const I32_SHR_U = 0x76;
const I32_XOR = 0x73;
const IF_EMPTY = [0x04, 0x40];
const END = 0x0b;
const UNREACHABLE = 0x00;

interface Globals {
  fuel: number;
  outOfFuel: number;
  growRefused: number;
  growScratch: number;
  written: number;
  /** How {@link METERING_EXPORTS.written} records writes. */
  tracking: WriteTracking;
  /** Absolute indices of the module's own mutable globals, exported for resets. */
  mutable: readonly number[];
}

/**
 * Rewrites a core module so it meters itself and cannot outgrow a memory cap:
 *
 * - a mutable i64 global (exported as {@link METERING_EXPORTS.fuel}) is charged with the static
 *   instruction count of each basic block where the block starts; at function entry and at every
 *   loop header the charge is a check that sets {@link METERING_EXPORTS.outOfFuel} and executes
 *   `unreachable` when the balance is below the block's cost, so loops and deep call trees both stop;
 *   a loop-free function gets one check at entry for its longest path instead;
 * - every `memory.grow` that returns -1 sets {@link METERING_EXPORTS.growRefused};
 * - each defined memory's maximum becomes min(declared maximum, cap), also when none was declared;
 * - the start function is exported instead of run on instantiation, so the host can set the fuel
 *   before it runs and read the flags if it traps;
 * - the balance is threaded through direct calls as an extra i64 parameter and result (see
 *   {@link ThreadingPlan}), so it stays in registers instead of a global written on every call;
 * - where the code writes memory is tracked in {@link METERING_EXPORTS.written} (see {@link WriteTracker}),
 *   so the host restores only that part of memory between calls.
 *
 * New globals, types and functions are appended after the existing ones, so no existing index
 * moves. The output is byte-for-byte deterministic for the same input and options.
 *
 * @throws {WasmRewriteError} for unsupported features (SIMD, threads, exceptions, GC, tail calls,
 *   multi-memory, memory64, imported memory), an initial memory above the cap, or a reserved export name.
 * @throws {WasmFormatError} when the binary is malformed or does not validate. Validation comes first
 *   because the rewriter's own globals take the next free indices: code naming a global (or function)
 *   the module does not declare would otherwise reach the fuel balance or the write tracker.
 */
export function meterWasmModule(bytes: Uint8Array, options: MeterWasmOptions): MeteredWasmModule {
  const cap = options.memoryCapPages;
  if (!Number.isInteger(cap) || cap < 0 || cap > 65536) throw new RangeError(`memoryCapPages must be an integer in 0..65536, got ${cap}`);
  if (!engine.validate(bytes)) {
    throw new WasmFormatError('the module does not validate (an index out of range, a type mismatch or a malformed section); compile it with a WebAssembly toolchain to see where', 0);
  }
  const info = inspectWasmModule(bytes);
  refuseUnsupportedStructure(info);
  for (const e of info.exports) {
    if (e.name.startsWith(RESERVED_EXPORT_PREFIX)) {
      throw new WasmRewriteError('reserved_name', `the module exports "${e.name}"; names starting with ${RESERVED_EXPORT_PREFIX} are reserved for the sandbox; rename that export`, 0);
    }
  }

  const importedGlobals = info.imports.filter((i) => i.kind === 'global').length;
  const globalSection = info.sections.find((s) => s.name === 'global');
  const definedGlobals = globalSection === undefined ? 0 : new WasmBinaryReader(bytes, globalSection.offset, globalSection.offset + globalSection.size, 'global section').count('global');
  const base = importedGlobals + definedGlobals;
  const mutableGlobals = globalSection === undefined ? [] : mutableDefinedGlobals(bytes, globalSection).map((i) => importedGlobals + i);
  const initialPages = info.memories[0]?.limits.initialPages ?? 0;
  const pivot = globalSection === undefined ? undefined : stackPointerStart(bytes, globalSection, initialPages);
  const globals: Globals = { fuel: base, outOfFuel: base + 1, growRefused: base + 2, growScratch: base + 3, written: base + 4, tracking: writeTrackingFor(initialPages, pivot), mutable: mutableGlobals };

  const plan = threadingPlan(bytes, info);
  const stats: Stats = { functions: 0, instructions: 0, checks: 0, charges: 0, trackedWrites: 0, untrackedLoops: 0, stateChanges: [] };
  let memory: MeteredWasmModule['memory'];
  const out = new WasmBinaryWriter(bytes.length + 1024);
  out.bytes(bytes.subarray(0, 8));

  const emitted = new Set<string>();
  const emitMissingBefore = (rank: number): void => {
    // Sections the rewriter needs but the module lacks go in their required position.
    if (rank > SECTION_RANK.global && !emitted.has('global')) {
      emitted.add('global');
      out.section(SECTION_ID.global, globalSectionContent(undefined, bytes));
    }
    if (rank > SECTION_RANK.export && !emitted.has('export')) {
      emitted.add('export');
      out.section(SECTION_ID.export, exportSectionContent(undefined, bytes, globals, info.startFunction));
    }
  };

  for (const section of info.sections) {
    const rank = SECTION_RANK[section.name];
    if (rank !== 0) emitMissingBefore(rank);
    const raw = bytes.subarray(section.offset, section.offset + section.size);
    switch (section.name) {
      case 'global':
        emitted.add('global');
        out.section(SECTION_ID.global, globalSectionContent(section, bytes));
        break;
      case 'export':
        emitted.add('export');
        out.section(SECTION_ID.export, exportSectionContent(section, bytes, globals, info.startFunction));
        break;
      case 'start':
        break; // exported instead, see METERING_EXPORTS.start
      case 'type':
        out.section(SECTION_ID.type, typeSectionContent(section, bytes, plan));
        break;
      case 'function':
        out.section(SECTION_ID.function, functionSectionContent(info, plan));
        break;
      case 'memory': {
        const rewritten = memorySectionContent(info, cap);
        memory = rewritten.limits;
        out.section(SECTION_ID.memory, rewritten.content);
        break;
      }
      case 'code':
        out.section(SECTION_ID.code, codeSectionContent(section, bytes, info, plan, globals, options.checkEveryBlock === true, stats));
        break;
      default:
        out.byte(section.id).varUint(raw.length).bytes(raw);
    }
  }
  emitMissingBefore(Number.MAX_SAFE_INTEGER);

  const { stateChanges, ...counts } = stats;
  const reset = {
    resettable: stateChanges.length === 0,
    globals: mutableGlobals.map((i) => `${METERING_EXPORTS.globalPrefix}${i}`),
    writeTracking: globals.tracking,
    ...(stateChanges.length > 0 ? { reason: `the code uses ${[...new Set(stateChanges)].join(', ')}` } : {}),
  };
  return { bytes: out.toBytes(), memory, hasStart: info.startFunction !== undefined, reset, stats: counts };
}

/** Indices (within the global section) of the globals declared mutable. */
function mutableDefinedGlobals(bytes: Uint8Array, section: WasmSection): number[] {
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, 'global section');
  const n = r.count('global');
  const mutable: number[] = [];
  for (let i = 0; i < n; i++) {
    r.valueType(`type of global ${i}`);
    if (r.u8(`mutability of global ${i}`) === 1) mutable.push(i);
    // The initialiser is a constant expression: instructions up to its end opcode.
    while (readInstruction(r) !== InstructionKind.end);
  }
  return mutable;
}

/**
 * Where the stack starts, when the module looks built by an LLVM toolchain (rustc, clang, zig): its
 * first global is the stack pointer, a mutable i32 initialised to a 16-byte aligned address inside
 * the initial memory, at least 64 KiB up (the smallest default stack). Only the speed of the reset
 * depends on the guess: any pivot bounds every write.
 */
function stackPointerStart(bytes: Uint8Array, section: WasmSection, initialPages: number): number | undefined {
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, 'global section');
  if (r.count('global') === 0 || r.u8('type of global 0') !== VALUE_TYPE.i32 || r.u8('mutability of global 0') !== 1) return undefined;
  if (r.u8('initialiser of global 0') !== I32_CONST) return undefined;
  const start = r.varInt32('initial value of global 0');
  if (r.u8('initialiser of global 0') !== END) return undefined;
  return start >= 65536 && start % 16 === 0 && start <= initialPages * 65536 ? start : undefined;
}

/** Instructions that change state outside linear memory and globals, keyed by their opcode bytes. */
function stateChangeAt(bytes: Uint8Array, at: number): string | undefined {
  if (bytes[at] === 0x26) return 'table.set';
  if (bytes[at] !== 0xfc) return undefined;
  // The sub-opcode is a LEB128 that may be padded (0x89 0x00 is data.drop too).
  switch (readLeb(bytes, at + 1).value) {
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

function refuseUnsupportedStructure(info: WasmModuleInfo): void {
  const fail = (feature: ConstructorParameters<typeof WasmRewriteError>[3], message: string, offset = 0): never => {
    throw new WasmRewriteError('unsupported_feature', message, offset, feature);
  };
  if (info.sections.some((s) => s.name === 'tag')) fail('exceptions', 'the module declares exception tags (exception handling)');
  if (info.imports.some((i) => i.kind === 'tag')) fail('exceptions', 'the module imports an exception tag (exception handling)');
  if (info.types.some((t) => [...t.params, ...t.results].includes('v128'))) fail('simd', 'a function type uses v128 (SIMD)');
  for (const m of info.memories) {
    if (m.importedFrom !== undefined) {
      fail('imported-memory', `the module imports its memory from ${m.importedFrom.module}.${m.importedFrom.name}; a plugin must define and export its own memory so the sandbox can cap it`);
    }
    if (m.limits.memory64) fail('memory64', 'the module declares a 64-bit memory (memory64)');
    if (m.limits.shared) fail('threads', 'the module declares a shared memory (threads)');
  }
  if (info.memories.length > 1) fail('multi-memory', `the module declares ${info.memories.length} memories (multi-memory)`);
}

/** A vector section's entry count and the bytes of its entries, so entries can be appended; none when absent. */
function vectorEntries(section: WasmSection | undefined, bytes: Uint8Array, entry: string): { count: number; rest: Uint8Array } {
  if (section === undefined) return { count: 0, rest: new Uint8Array(0) };
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, `${entry} section`);
  const count = r.count(entry);
  return { count, rest: bytes.subarray(r.offset, section.offset + section.size) };
}

function globalSectionContent(section: WasmSection | undefined, bytes: Uint8Array): Uint8Array {
  const w = new WasmBinaryWriter();
  const { count, rest } = vectorEntries(section, bytes, 'global');
  w.varUint(count + 5).bytes(rest);
  // The order fixes the indices in Globals: fuel, outOfFuel, growRefused, growScratch, written.
  w.bytes([0x7e, 0x01, I64_CONST, 0x00, END]); // fuel: mut i64 = 0
  w.bytes([0x7f, 0x01, I32_CONST, 0x00, END]); // outOfFuel: mut i32 = 0
  w.bytes([0x7f, 0x01, I32_CONST, 0x00, END]); // growRefused: mut i32 = 0
  w.bytes([0x7f, 0x01, I32_CONST, 0x00, END]); // growScratch: mut i32 = 0
  w.bytes([0x7f, 0x01, I32_CONST, 0x00, END]); // written: mut i32 = 0
  return w.toBytes();
}

function exportSectionContent(section: WasmSection | undefined, bytes: Uint8Array, globals: Globals, start: number | undefined): Uint8Array {
  const w = new WasmBinaryWriter();
  const { count, rest } = vectorEntries(section, bytes, 'export');
  w.varUint(count + 4 + (start === undefined ? 0 : 1) + globals.mutable.length).bytes(rest);
  w.name(METERING_EXPORTS.fuel).byte(0x03).varUint(globals.fuel);
  w.name(METERING_EXPORTS.outOfFuel).byte(0x03).varUint(globals.outOfFuel);
  w.name(METERING_EXPORTS.growRefused).byte(0x03).varUint(globals.growRefused);
  w.name(METERING_EXPORTS.written).byte(0x03).varUint(globals.written);
  if (start !== undefined) w.name(METERING_EXPORTS.start).byte(0x00).varUint(start);
  for (const index of globals.mutable) w.name(`${METERING_EXPORTS.globalPrefix}${index}`).byte(0x03).varUint(index);
  return w.toBytes();
}

function memorySectionContent(info: WasmModuleInfo, cap: number): { content: Uint8Array; limits: MeteredWasmModule['memory'] } {
  const w = new WasmBinaryWriter();
  const defined = info.memories.filter((m) => m.importedFrom === undefined);
  w.varUint(defined.length);
  let limits: MeteredWasmModule['memory'];
  for (const m of defined) {
    const { initialPages, maximumPages } = m.limits;
    if (initialPages > cap) {
      throw new WasmRewriteError(
        'memory_limit',
        `the module's memory starts at ${initialPages} page(s) (${initialPages * 64} KiB) but the sandbox caps memory at ${cap} page(s) (${cap * 64} KiB); lower the initial memory or raise limits.memoryMiB within the environment cap`,
        0,
      );
    }
    const maximum = maximumPages === undefined ? cap : Math.min(maximumPages, cap);
    w.byte(0x01).varUint(initialPages).varUint(maximum);
    limits = { initialPages, maximumPages: maximum, declaredMaximumPages: maximumPages };
  }
  return { content: w.toBytes(), limits };
}

/**
 * How the balance is threaded through direct calls. Every defined function body gets one more i64
 * parameter and one more i64 result (its type is appended, so existing type indices do not move):
 * callers pass their balance in and take the callee's back, so it stays in registers. A global
 * written on every call costs far more, because each call's load waits for the previous store.
 *
 * A function that can be entered from outside the module's direct calls (exported, the start
 * function, or referenced by an element segment or `ref.func`, so reachable through a table or by
 * the host) keeps its index and type: it becomes a small entry that loads the balance from the
 * global, calls the threaded copy of its body (appended after the existing functions, so no index
 * moves) and stores the balance back. Direct calls between the module's functions go straight to
 * the threaded bodies.
 */
interface ThreadingPlan {
  readonly importedFunctions: number;
  /** Function index → index of its threaded body (itself, or its appended copy for an entry). */
  readonly threaded: readonly number[];
  /** Defined functions that keep an entry at their index, in index order. */
  readonly entries: readonly number[];
  /** Original type index → index of its threaded type. */
  readonly threadedType: ReadonlyMap<number, number>;
  /** Result list (joined) → type index of `[] -> results`, for bodies with several results. */
  readonly blockType: ReadonlyMap<string, number>;
  /** Types to append to the type section, in order. */
  readonly newTypes: readonly WasmFuncType[];
  readonly typeCount: number;
}

function threadingPlan(bytes: Uint8Array, info: WasmModuleInfo): ThreadingPlan {
  const importedFunctions = info.functions.filter((f) => f.imported).length;
  const escaping = escapingFunctions(bytes, info);
  const threaded: number[] = [];
  const entries: number[] = [];
  const threadedType = new Map<number, number>();
  const blockType = new Map<string, number>();
  const newTypes: WasmFuncType[] = [];
  const addType = (t: WasmFuncType): number => newTypes.push(t) - 1 + info.types.length;
  for (const f of info.functions) {
    if (f.imported) {
      threaded.push(f.index);
      continue;
    }
    if (escaping.has(f.index)) {
      threaded.push(info.functions.length + entries.length);
      entries.push(f.index);
    } else {
      threaded.push(f.index);
    }
    if (!threadedType.has(f.typeIndex)) {
      threadedType.set(f.typeIndex, addType({ params: [...f.signature.params, 'i64'], results: [...f.signature.results, 'i64'] }));
    }
    const key = f.signature.results.join(',');
    if (f.signature.results.length > 1 && !blockType.has(key)) blockType.set(key, addType({ params: [], results: f.signature.results }));
  }
  return { importedFunctions, threaded, entries, threadedType, blockType, newTypes, typeCount: info.types.length + newTypes.length };
}

/**
 * Functions that can be called other than by a direct `call`: exported, the start function, or
 * referenced by an element segment or a `ref.func` anywhere (global initialisers, segment
 * expressions, code).
 */
function escapingFunctions(bytes: Uint8Array, info: WasmModuleInfo): Set<number> {
  const escaping = new Set<number>();
  for (const e of info.exports) if (e.kind === 'function') escaping.add(e.index);
  if (info.startFunction !== undefined) escaping.add(info.startFunction);
  const scan = (r: WasmBinaryReader, untilEnd: boolean): void => {
    while (!r.atEnd) {
      const at = r.offset;
      const kind = readInstruction(r);
      if (bytes[at] === REF_FUNC) escaping.add(readLeb(bytes, at + 1).value);
      if (untilEnd && kind === InstructionKind.end) return;
    }
  };
  for (const section of info.sections) {
    const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, `${section.name} section`);
    if (section.name === 'global') {
      const n = r.count('global');
      for (let i = 0; i < n; i++) {
        r.valueType(`type of global ${i}`);
        r.u8(`mutability of global ${i}`);
        scan(r, true);
      }
    } else if (section.name === 'element') {
      const n = r.count('element segment');
      for (let i = 0; i < n; i++) {
        const at = r.offset;
        const flags = r.varUint(`flags of element segment ${i}`);
        if (flags > 7) r.fail(`element segment ${i} has flags ${flags}; only 0..7 are defined`, at);
        if ((flags & 1) === 0) {
          if ((flags & 2) !== 0) r.varUint(`table of element segment ${i}`);
          scan(r, true);
        }
        if ((flags & 3) !== 0) r.u8(`element kind of element segment ${i}`);
        const m = r.count('element');
        for (let j = 0; j < m; j++) {
          if ((flags & 4) !== 0) scan(r, true);
          else escaping.add(r.varUint(`function index of element ${j} of segment ${i}`));
        }
      }
    }
  }
  for (const entry of info.code) {
    const r = new WasmBinaryReader(bytes, entry.offset, entry.offset + entry.size, `body of function ${entry.functionIndex}`);
    const groups = r.count('local group');
    for (let i = 0; i < groups; i++) {
      r.varUint('local count');
      r.valueType('local type');
    }
    scan(r, false);
  }
  return escaping;
}

function typeSectionContent(section: WasmSection, bytes: Uint8Array, plan: ThreadingPlan): Uint8Array {
  const { count, rest } = vectorEntries(section, bytes, 'type');
  const w = new WasmBinaryWriter(section.size + plan.newTypes.length * 16);
  w.varUint(count + plan.newTypes.length).bytes(rest);
  for (const t of plan.newTypes) {
    w.byte(0x60).varUint(t.params.length);
    for (const v of t.params) w.byte(VALUE_TYPE[v]);
    w.varUint(t.results.length);
    for (const v of t.results) w.byte(VALUE_TYPE[v]);
  }
  return w.toBytes();
}

function functionSectionContent(info: WasmModuleInfo, plan: ThreadingPlan): Uint8Array {
  const defined = info.functions.filter((f) => !f.imported);
  const w = new WasmBinaryWriter(defined.length * 3 + 8);
  w.varUint(defined.length + plan.entries.length);
  for (const f of defined) w.varUint(plan.threaded[f.index] === f.index ? plan.threadedType.get(f.typeIndex)! : f.typeIndex);
  for (const index of plan.entries) w.varUint(plan.threadedType.get(info.functions[index].typeIndex)!);
  return w.toBytes();
}

function codeSectionContent(
  section: WasmSection,
  bytes: Uint8Array,
  info: WasmModuleInfo,
  plan: ThreadingPlan,
  globals: Globals,
  checkEveryBlock: boolean,
  stats: Stats,
): Uint8Array {
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, 'code section');
  const n = r.count('function body');
  const w = new WasmBinaryWriter(section.size * 2 + n * 64);
  w.varUint(n + plan.entries.length);
  const moved = new Map<number, Uint8Array>();
  for (const entry of info.code) {
    const size = r.varUint(`size of function body ${entry.functionIndex}`);
    const start = r.offset;
    r.skip(size, `function body ${entry.functionIndex}`);
    const signature = info.functions[entry.functionIndex].signature;
    const body = meterFunctionBody(bytes, start, start + size, entry.functionIndex, signature, plan, globals, checkEveryBlock, stats);
    if (plan.threaded[entry.functionIndex] === entry.functionIndex) {
      w.varUint(body.length).bytes(body);
    } else {
      moved.set(entry.functionIndex, body);
      const entryBody = entryBodyFor(plan.threaded[entry.functionIndex], signature.params.length, globals);
      w.varUint(entryBody.length).bytes(entryBody);
    }
  }
  for (const index of plan.entries) {
    const body = moved.get(index)!;
    w.varUint(body.length).bytes(body);
  }
  return w.toBytes();
}

/** The body left at an entry's index: balance from the global, call the threaded body, balance back. */
function entryBodyFor(threadedIndex: number, params: number, g: Globals): Uint8Array {
  const w = new WasmBinaryWriter(16 + params * 2).byte(0x00);
  for (let i = 0; i < params; i++) w.byte(LOCAL_GET).varUint(i);
  return w.byte(GLOBAL_GET).varUint(g.fuel).byte(CALL).varUint(threadedIndex).byte(GLOBAL_SET).varUint(g.fuel).byte(END).toBytes();
}

type Stats = { functions: number; instructions: number; checks: number; charges: number; trackedWrites: number; untrackedLoops: number; stateChanges: string[] };

const VALUE_TYPE: Readonly<Record<string, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, funcref: 0x70, externref: 0x6f };
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const CALL = 0x10;
const RETURN = 0x0f;
const REF_FUNC = 0xd2;

/**
 * Where the balance lives while a threaded body runs: its last parameter, which V8 keeps in a
 * register. `sync` stores it to the global and `reload` reads it back, around what can observe or
 * change the global: calls to imports (the host) and `call_indirect` (an entry), and traps.
 */
interface FuelCell {
  readonly local: number;
  readonly load: readonly number[];
  readonly store: (w: WasmBinaryWriter) => WasmBinaryWriter;
  readonly sync: Uint8Array;
  readonly reload: Uint8Array;
}

function fuelCell(g: Globals, local: number): FuelCell {
  const get = new WasmBinaryWriter(8).byte(LOCAL_GET).varUint(local).toBytes();
  return {
    local,
    load: [...get],
    store: (w) => w.byte(LOCAL_SET).varUint(local),
    sync: new WasmBinaryWriter(8).byte(LOCAL_GET).varUint(local).byte(GLOBAL_SET).varUint(g.fuel).toBytes(),
    reload: new WasmBinaryWriter(8).byte(GLOBAL_GET).varUint(g.fuel).byte(LOCAL_SET).varUint(local).toBytes(),
  };
}

function checkSequence(cost: number, g: Globals, cell: FuelCell): Uint8Array {
  const w = new WasmBinaryWriter(40).bytes(cell.load).byte(I64_CONST).varInt(cost).byte(I64_LT_S).bytes(IF_EMPTY);
  w.bytes(cell.sync);
  w.byte(I32_CONST).varInt(1).byte(GLOBAL_SET).varUint(g.outOfFuel).byte(UNREACHABLE).byte(END);
  return cell.store(w.bytes(cell.load).byte(I64_CONST).varInt(cost).byte(I64_SUB)).toBytes();
}

function chargeSequence(cost: number, cell: FuelCell): Uint8Array {
  return cell.store(new WasmBinaryWriter(16).bytes(cell.load).byte(I64_CONST).varInt(cost).byte(I64_SUB)).toBytes();
}

/** Keeps memory.grow's result on the stack and raises the flag when it is -1. */
function growSequence(g: Globals): Uint8Array {
  return new WasmBinaryWriter(24)
    .byte(GLOBAL_SET).varUint(g.growScratch).byte(GLOBAL_GET).varUint(g.growScratch).byte(GLOBAL_GET).varUint(g.growScratch)
    .byte(I32_CONST).varInt(-1).byte(I32_EQ).bytes(IF_EMPTY).byte(I32_CONST).varInt(1).byte(GLOBAL_SET).varUint(g.growRefused).byte(END)
    .toBytes();
}

/**
 * Splits a body into basic blocks at function entry, loop headers, if/else arms, block ends and after
 * unconditional jumps, and inserts each block's charge at its start. `br_if` does not split: the rest
 * of its block is charged up front (a bounded, deterministic overcharge that saves a charge per loop).
 * The result is the threaded body (see {@link ThreadingPlan}): the balance is the new last parameter,
 * so declared locals move up by one, and it is pushed as the last result on every way out.
 */
function meterFunctionBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  index: number,
  signature: WasmFuncType,
  plan: ThreadingPlan,
  g: Globals,
  checkEveryBlock: boolean,
  stats: Stats,
): Uint8Array {
  const r = new WasmBinaryReader(bytes, start, end, `body of function ${index}`);
  const groups = r.count('local group');
  const groupsStart = r.offset;
  let declaredLocals = 0;
  for (let i = 0; i < groups; i++) {
    declaredLocals += r.varUint('local count');
    const at = r.offset;
    if (r.valueType('local type') === 'v128') {
      throw new WasmRewriteError('unsupported_feature', `function ${index} has a v128 local, which needs the simd proposal; rebuild without SIMD`, at, 'simd');
    }
  }
  const localsEnd = r.offset;
  const params = signature.params.length;
  // A loop-free function is charged once, at entry, with the cost of its longest path: one check
  // instead of a charge per block, which is most of the cost of metering small functions called
  // often (recursion). The overcharge is bounded by the function's size and deterministic.
  const features = bodyFeatures(bytes, localsEnd, end, index, g.tracking.kind === 'distance');
  const wholeFunction = !features.loop && !checkEveryBlock ? longestPathCost(bytes, localsEnd, end, index) : undefined;
  const cell = fuelCell(g, params);
  // Scratch locals go after the declared ones (which moved up by one for the balance parameter).
  const track = features.writes ? writeTracker(g, params + 1 + declaredLocals) : undefined;

  // Edits sorted by position, block charges first, then other insertions in the order they were
  // found, then replacements (which drop `skip` bytes of the original).
  const edits: { pos: number; rank: number; seq: number; code: Uint8Array; skip: number }[] = [];
  const insert = (pos: number, rank: number, code: Uint8Array): void => {
    edits.push({ pos, rank, seq: edits.length, code, skip: 0 });
  };
  const replace = (pos: number, skip: number, code: Uint8Array): void => {
    edits.push({ pos, rank: 2, seq: edits.length, code, skip });
  };
  let segmentStart = localsEnd;
  let segmentIsCheck = true;
  let cost = 0;
  let depth = 1;
  const close = (): void => {
    if (wholeFunction !== undefined) return;
    if (segmentIsCheck || checkEveryBlock) {
      insert(segmentStart, 0, checkSequence(cost, g, cell));
      stats.checks++;
    } else if (cost > 0) {
      insert(segmentStart, 0, chargeSequence(cost, cell));
      stats.charges++;
    }
  };
  const open = (isCheck: boolean): void => {
    segmentStart = r.offset;
    segmentIsCheck = isCheck;
    cost = 0;
  };

  while (depth > 0) {
    if (r.atEnd) r.fail(`body of function ${index} ends inside a block: a function body must end with the end opcode`);
    const at = r.offset;
    const kind = readInstruction(r);
    cost++;
    stats.instructions++;
    switch (kind) {
      case InstructionKind.block:
        depth++;
        break;
      case InstructionKind.loop:
        if (track !== undefined && features.denseLoops.has(at)) {
          insert(at, 1, track.untrackable);
          stats.untrackedLoops++;
        }
        depth++;
        close();
        open(true);
        break;
      case InstructionKind.if:
        depth++;
        close();
        open(false);
        break;
      case InstructionKind.else:
        close();
        open(false);
        break;
      case InstructionKind.end:
        depth--;
        close();
        open(false);
        break;
      case InstructionKind.jump:
        // return pushes the balance as the last result; unreachable stores it first, as the host may
        // read it after a trap (br to the function label lands in the wrapper block, which pushes it).
        if (bytes[at] === RETURN) {
          if (track !== undefined) insert(at, 1, track.flush);
          insert(at, 1, new Uint8Array(cell.load));
        }
        else if (bytes[at] === UNREACHABLE) insert(at, 1, cell.sync);
        close();
        open(false);
        break;
      case InstructionKind.call: {
        const target = bytes[at] === CALL ? readLeb(bytes, at + 1).value : undefined;
        if (target !== undefined && target >= plan.importedFunctions) {
          insert(at, 1, new Uint8Array(cell.load));
          if (plan.threaded[target] !== target) replace(at, r.offset - at, new WasmBinaryWriter(8).byte(CALL).varUint(plan.threaded[target]).toBytes());
          insert(r.offset, 1, cell.store(new WasmBinaryWriter(8)).toBytes());
        } else {
          insert(at, 1, cell.sync);
          insert(r.offset, 1, cell.reload);
        }
        break;
      }
      case InstructionKind.memoryGrow:
        insert(r.offset, 1, growSequence(g));
        break;
      default: {
        const op = bytes[at];
        if (op === LOCAL_GET || op === LOCAL_SET || op === LOCAL_TEE) {
          const local = readLeb(bytes, at + 1).value;
          if (local >= params) replace(at, r.offset - at, new WasmBinaryWriter(8).byte(op).varUint(local + 1).toBytes());
          break;
        }
        const change = stateChangeAt(bytes, at);
        if (change !== undefined) stats.stateChanges.push(change);
        if (track !== undefined) {
          const write = memoryWriteAt(bytes, at);
          if (write !== undefined && !features.untracked.has(at)) {
            insert(at, 1, write.bulk ? track.bulk : track.store(op, write.offset));
            stats.trackedWrites++;
          }
        }
        break;
      }
    }
  }
  if (!r.atEnd) r.fail(`body of function ${index} has bytes after its final end opcode`);
  if (wholeFunction !== undefined) {
    insert(localsEnd, 0, checkSequence(wholeFunction, g, cell));
    stats.checks++;
  }
  stats.functions++;

  edits.sort((a, b) => a.pos - b.pos || a.rank - b.rank || a.seq - b.seq);
  const w = new WasmBinaryWriter(end - start + edits.length * 24 + 32);
  // Locals as declared (the balance is a parameter) plus the write tracker's, then the body wrapped
  // in a block with the original results, so every way out but `return` (fall-through, a branch to
  // the function label) pushes the balance after it.
  if (track === undefined) w.bytes(bytes.subarray(start, localsEnd));
  else w.varUint(groups + track.groups).bytes(bytes.subarray(groupsStart, localsEnd)).bytes(track.locals);
  const results = signature.results;
  w.byte(0x02);
  if (results.length === 0) w.byte(0x40);
  else if (results.length === 1) w.byte(VALUE_TYPE[results[0]]);
  else w.varInt(plan.blockType.get(results.join(','))!);
  let copied = localsEnd;
  for (const edit of edits) {
    w.bytes(bytes.subarray(copied, edit.pos)).bytes(edit.code);
    copied = edit.pos + edit.skip;
  }
  w.bytes(bytes.subarray(copied, end));
  if (track !== undefined) w.bytes(track.flush);
  return w.bytes(cell.load).byte(END).toBytes();
}

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
interface WriteTracker {
  /** Local declaration groups to append, and how many. */
  readonly locals: Uint8Array;
  readonly groups: number;
  /** Inserted before a store (opcodes 0x36-0x3e) with this static offset: the operands are [address, value]. */
  store(op: number, offset: number): Uint8Array;
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
function writeTrackingFor(initialPages: number, pivot: number | undefined): WriteTracking {
  if (initialPages <= HIGH_WATER_MAX_PAGES) return { kind: 'high-water' };
  // Below 2 GiB every in-bounds address is a non-negative i32, so its distance never overflows the fold.
  if (pivot !== undefined && initialPages < 32768) return { kind: 'distance', pivot };
  return { kind: 'buckets', shift: Math.max(10, Math.ceil(Math.log2(initialPages * 65536)) - 5) };
}

function writeTracker(g: Globals, first: number): WriteTracker {
  const acc = first;
  const address = first + 1;
  const i32a = first + 2;
  const i32b = first + 3;
  const scratch = first + 4;
  const valueLocal: Readonly<Record<string, number>> = { i32: i32a, i64: first + 5, f32: first + 6, f64: first + 7 };
  const locals = new WasmBinaryWriter(8).varUint(5).byte(VALUE_TYPE.i32).varUint(1).byte(VALUE_TYPE.i64).varUint(1).byte(VALUE_TYPE.f32).varUint(1).byte(VALUE_TYPE.f64).toBytes();
  const get = (w: WasmBinaryWriter, local: number): WasmBinaryWriter => w.byte(LOCAL_GET).varUint(local);
  const accumulate = (w: WasmBinaryWriter): WasmBinaryWriter => get(w, acc).byte(I32_OR).byte(LOCAL_SET).varUint(acc);
  const buckets = g.tracking.kind === 'buckets' ? g.tracking.shift : undefined;
  const pivot = g.tracking.kind === 'distance' ? g.tracking.pivot : undefined;
  const bucketOf = (w: WasmBinaryWriter, shift: number): WasmBinaryWriter => w.byte(I32_CONST).varInt(shift).byte(I32_SHR_U);
  // [x] -> acc |= d ^ (d >> 31) with d = x + delta: the distance of x from the pivot (delta = -pivot), sign-folded.
  const accumulateDistance = (w: WasmBinaryWriter, delta: number): WasmBinaryWriter => {
    if (delta !== 0) w.byte(I32_CONST).varInt(delta | 0).byte(I32_ADD);
    get(w.byte(LOCAL_TEE).varUint(scratch), scratch).byte(I32_CONST).varInt(31).byte(I32_SHR_S).byte(I32_XOR);
    return accumulate(w);
  };
  const store = (op: number, offset: number): Uint8Array => {
    const value = valueLocal[STORE_VALUE_TYPE[op - 0x36]];
    const w = new WasmBinaryWriter(32).byte(LOCAL_SET).varUint(value).byte(LOCAL_SET).varUint(address);
    if (pivot !== undefined) {
      // The offset and the pivot fold into one constant: (address + offset - pivot) wraps like its parts.
      accumulateDistance(get(w, address), offset - pivot);
      return get(get(w, address), value).toBytes();
    }
    if (buckets !== undefined) w.byte(I32_CONST).varInt(1);
    get(w, address);
    // The offset is a u32; i32.const takes its two's complement and the add wraps the same way.
    if (offset !== 0) w.byte(I32_CONST).varInt(offset | 0).byte(I32_ADD);
    accumulate(buckets === undefined ? w : bucketOf(w, buckets).byte(I32_SHL));
    return get(get(w, address), value).toBytes();
  };
  const bulk = new WasmBinaryWriter(64).byte(LOCAL_SET).varUint(i32b).byte(LOCAL_SET).varUint(i32a).byte(LOCAL_SET).varUint(address);
  if (pivot !== undefined) {
    // The first byte d and the last d + n - 1 (d - 1 when n is 0: marking more only costs time).
    accumulateDistance(get(bulk, address), -pivot);
    accumulateDistance(get(get(bulk, address), i32b).byte(I32_ADD), -1 - pivot);
  } else if (buckets === undefined) {
    // acc |= d + n, the end of the destination.
    accumulate(get(get(bulk, address), i32b).byte(I32_ADD));
  } else {
    // acc |= (-1 << (d >> shift)) & (-1 >>> (31 - ((d + n - 1) >> shift))). With n = 0 the mask is
    // empty or, when d is 0, too wide: marking more than was written only costs time.
    bucketOf(get(bulk.byte(I32_CONST).varInt(-1), address), buckets).byte(I32_SHL);
    bulk.byte(I32_CONST).varInt(-1).byte(I32_CONST).varInt(31);
    bucketOf(get(get(bulk, address), i32b).byte(I32_ADD).byte(I32_CONST).varInt(1).byte(I32_SUB), buckets);
    accumulate(bulk.byte(I32_SUB).byte(I32_SHR_U).byte(I32_AND));
  }
  get(get(get(bulk, address), i32a), i32b);
  return {
    locals,
    groups: 4,
    store,
    bulk: bulk.toBytes(),
    flush: get(new WasmBinaryWriter(12).byte(GLOBAL_GET).varUint(g.written), acc).byte(I32_OR).byte(GLOBAL_SET).varUint(g.written).toBytes(),
    untrackable: new WasmBinaryWriter(8).byte(I32_CONST).varInt(-1).byte(LOCAL_SET).varUint(acc).toBytes(),
  };
}

/** Value type of the operand each store opcode (0x36-0x3e) takes. */
const STORE_VALUE_TYPE = ['i32', 'i64', 'f32', 'f64', 'i32', 'i32', 'i64', 'i64', 'i64'] as const;

/** Whether the instruction at `at` writes linear memory: a store (with its static offset) or memory.fill/copy/init. */
function memoryWriteAt(bytes: Uint8Array, at: number): { bulk: boolean; offset: number } | undefined {
  const op = bytes[at];
  if (op >= 0x36 && op <= 0x3e) {
    const align = readLeb(bytes, at + 1);
    return { bulk: false, offset: readLeb(bytes, at + 1 + align.length).value };
  }
  if (op !== 0xfc) return undefined;
  const sub = readLeb(bytes, at + 1).value;
  return sub === 8 || sub === 10 || sub === 11 ? { bulk: true, offset: 0 } : undefined;
}

/**
 * Instructions on the longest path through a loop-free body: a sequence costs the sum of its
 * instructions, an if/else its condition plus the dearer arm. Branches only shorten paths.
 */
function longestPathCost(bytes: Uint8Array, start: number, end: number, index: number): number {
  const r = new WasmBinaryReader(bytes, start, end, `body of function ${index}`);
  const frames: { cost: number; thenCost: number | undefined }[] = [{ cost: 0, thenCost: undefined }];
  while (!r.atEnd) {
    const kind = readInstruction(r);
    const top = frames[frames.length - 1];
    top.cost++;
    if (kind === InstructionKind.block || kind === InstructionKind.if) {
      frames.push({ cost: 0, thenCost: undefined });
    } else if (kind === InstructionKind.else) {
      top.thenCost = top.cost;
      top.cost = 0;
    } else if (kind === InstructionKind.end && frames.length > 1) {
      const done = frames.pop()!;
      frames[frames.length - 1].cost += Math.max(done.cost, done.thenCost ?? 0);
    }
  }
  return frames[0].cost;
}

/**
 * A loop with fewer than this many instructions per store is not tracked store by store: in a
 * store-bound loop of ~10 instructions one more (the high-water OR) cost ~16%, above the metering
 * budget.
 */
const TRACKED_INSTRUCTIONS_PER_STORE = 16;

interface BodyFeatures {
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
function bodyFeatures(bytes: Uint8Array, start: number, end: number, index: number, trackEveryStore = false): BodyFeatures {
  const r = new WasmBinaryReader(bytes, start, end, `body of function ${index}`);
  const loops: { at: number; instructions: number; stores: number[] }[] = [];
  // The open constructs: the index in `loops` of a loop, -1 for a block or an if.
  const open: number[] = [];
  const innermost: number[] = [];
  let loop = false;
  let writes = false;
  while (!r.atEnd) {
    const at = r.offset;
    const kind = readInstruction(r);
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
      const write = memoryWriteAt(bytes, at);
      if (write !== undefined) {
        writes = true;
        if (!write.bulk && innermost.length > 0) loops[innermost[innermost.length - 1]].stores.push(at);
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

function readLeb(bytes: Uint8Array, offset: number): { value: number; length: number } {
  let value = 0;
  let length = 0;
  let byte: number;
  do {
    byte = bytes[offset + length];
    value += (byte & 0x7f) * 2 ** (7 * length);
    length++;
  } while (byte & 0x80);
  return { value, length };
}
