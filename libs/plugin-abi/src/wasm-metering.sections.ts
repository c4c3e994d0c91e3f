import { WasmBinaryReader } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, WasmInstructionIterator, WasmRewriteError } from './wasm-instruction.decoder.js';
import { METERING_EXPORTS, type MeteredWasmModule, type MeteringGlobals } from './wasm-metering.contract.js';
import { writeTrackingFor } from './wasm-metering.write-tracking.js';
import type { WasmModuleInfo, WasmSection } from './wasm-module.types.js';
import { IF_EMPTY, OP, VALUE_TYPE } from './wasm-opcodes.js';

/** Refuses what the sandbox cannot meter or cap, before anything is rewritten. */
export function refuseUnsupportedStructure(info: WasmModuleInfo): void {
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

/**
 * The globals the rewriter appends, after the imported and defined ones so no index moves, and how
 * writes are tracked (which depends on the memory and on whether global 0 looks like a stack pointer).
 */
export function meteringGlobals(bytes: Uint8Array, info: WasmModuleInfo): MeteringGlobals {
  const importedGlobals = info.imports.filter((i) => i.kind === 'global').length;
  const section = info.sections.find((s) => s.name === 'global');
  const defined = section === undefined ? { count: 0, mutable: [] } : definedGlobals(bytes, section);
  const base = importedGlobals + defined.count;
  const initialPages = info.memories[0]?.limits.initialPages ?? 0;
  const pivot = section === undefined ? undefined : stackPointerStart(bytes, section, initialPages);
  return {
    fuel: base,
    outOfFuel: base + 1,
    growRefused: base + 2,
    growScratch: base + 3,
    written: base + 4,
    tracking: writeTrackingFor(initialPages, pivot),
    mutable: defined.mutable.map((i) => importedGlobals + i),
  };
}

/** How many globals the section defines, and the indices (within it) of those declared mutable. */
function definedGlobals(bytes: Uint8Array, section: WasmSection): { count: number; mutable: number[] } {
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, 'global section');
  const count = r.count('global');
  const code = new WasmInstructionIterator(r);
  const mutable: number[] = [];
  for (let i = 0; i < count; i++) {
    r.valueType(`type of global ${i}`);
    if (r.u8(`mutability of global ${i}`) === 1) mutable.push(i);
    // The initialiser is a constant expression: instructions up to its end opcode.
    while (code.next() !== InstructionKind.end);
  }
  return { count, mutable };
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
  if (r.u8('initialiser of global 0') !== OP.i32Const) return undefined;
  const start = r.varInt32('initial value of global 0');
  if (r.u8('initialiser of global 0') !== OP.end) return undefined;
  return start >= 65536 && start % 16 === 0 && start <= initialPages * 65536 ? start : undefined;
}

/** A vector section's entry count and the bytes of its entries, so entries can be appended; none when absent. */
export function vectorEntries(section: WasmSection | undefined, bytes: Uint8Array, entry: string): { count: number; rest: Uint8Array } {
  if (section === undefined) return { count: 0, rest: new Uint8Array(0) };
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, `${entry} section`);
  const count = r.count(entry);
  return { count, rest: bytes.subarray(r.offset, section.offset + section.size) };
}

export function globalSectionContent(section: WasmSection | undefined, bytes: Uint8Array): Uint8Array {
  const w = new WasmBinaryWriter();
  const { count, rest } = vectorEntries(section, bytes, 'global');
  w.varUint(count + 5).bytes(rest);
  // The order fixes the indices in MeteringGlobals: fuel, outOfFuel, growRefused, growScratch, written.
  w.bytes([0x7e, 0x01, OP.i64Const, 0x00, OP.end]); // fuel: mut i64 = 0
  w.bytes([0x7f, 0x01, OP.i32Const, 0x00, OP.end]); // outOfFuel: mut i32 = 0
  w.bytes([0x7f, 0x01, OP.i32Const, 0x00, OP.end]); // growRefused: mut i32 = 0
  w.bytes([0x7f, 0x01, OP.i32Const, 0x00, OP.end]); // growScratch: mut i32 = 0
  w.bytes([0x7f, 0x01, OP.i32Const, 0x00, OP.end]); // written: mut i32 = 0
  return w.toBytes();
}

export function exportSectionContent(section: WasmSection | undefined, bytes: Uint8Array, globals: MeteringGlobals, start: number | undefined): Uint8Array {
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

/** Each defined memory with its maximum lowered to the cap (also when it declared none). */
export function memorySectionContent(info: WasmModuleInfo, cap: number): { content: Uint8Array; limits: MeteredWasmModule['memory'] } {
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
 * After memory.grow: keeps its result on the stack and, when it is -1 (the cap was hit), raises the
 * flag and sets the write record to all ones, so the host clears the flag only after a call whose
 * record says so instead of after every call (a refused grow is rare; restoring all memory then is cheap).
 */
export function writeGrowCheck(w: WasmBinaryWriter, g: MeteringGlobals): void {
  w.byte(OP.globalSet).varUint(g.growScratch).byte(OP.globalGet).varUint(g.growScratch).byte(OP.globalGet).varUint(g.growScratch)
    .byte(OP.i32Const).varInt(-1).byte(OP.i32Eq).bytes(IF_EMPTY).byte(OP.i32Const).varInt(1).byte(OP.globalSet).varUint(g.growRefused)
    .byte(OP.i32Const).varInt(-1).byte(OP.globalSet).varUint(g.written).byte(OP.end);
}
