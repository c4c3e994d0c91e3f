import { WasmFormatError } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { WasmRewriteError } from './wasm-instruction.decoder.js';
import { codeSectionContent } from './wasm-metering.body.js';
import { METERING_EXPORTS, RESERVED_EXPORT_PREFIX, type MeteredWasmModule, type MeteringInput, type MeteringStats, type MeterWasmOptions } from './wasm-metering.contract.js';
import { exportSectionContent, globalSectionContent, memorySectionContent, meteringGlobals, refuseUnsupportedStructure } from './wasm-metering.sections.js';
import { functionSectionContent, threadingPlan, typeSectionContent } from './wasm-metering.threading.js';
import { inspectWasmModule } from './wasm-module.inspector.js';

// The rewrite in parts, one concern each: wasm-metering.sections (the sections the rewrite adds or
// changes, the memory cap), .fuel (basic-block charges and checks), .threading (the balance as a
// parameter of direct calls), .write-tracking (where the code writes memory) and .body (one walk of
// each function body over the instruction iterator, applying the three).
export { METERING_EXPORTS, RESERVED_EXPORT_PREFIX, type MeteredWasmModule, type MeterWasmOptions, type WriteTracking } from './wasm-metering.contract.js';

// Only the validator is needed; typed locally so the lib does not depend on DOM typings.
const engine = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

const SECTION_RANK: Readonly<Record<string, number>> = {
  custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, tag: 6, global: 7,
  export: 8, start: 9, element: 10, datacount: 11, code: 12, data: 13,
};
const SECTION_ID = { type: 1, function: 3, global: 6, export: 7, memory: 5, code: 10 } as const;

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
 *   `ThreadingPlan` in wasm-metering.threading.ts), so it stays in registers instead of a global written on every call;
 * - where the code writes memory is tracked in {@link METERING_EXPORTS.written} (see `WriteTracker` in wasm-metering.write-tracking.ts),
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

  const globals = meteringGlobals(bytes, info);
  const input: MeteringInput = { bytes, info, globals, checkEveryBlock: options.checkEveryBlock === true };
  const plan = threadingPlan(bytes, info);
  const stats: MeteringStats = { functions: 0, instructions: 0, checks: 0, charges: 0, trackedWrites: 0, untrackedLoops: 0, stateChanges: [] };
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
        out.section(SECTION_ID.code, codeSectionContent(section, input, plan, stats));
        break;
      default:
        out.byte(section.id).varUint(raw.length).bytes(raw);
    }
  }
  emitMissingBefore(Number.MAX_SAFE_INTEGER);

  const { stateChanges, ...counts } = stats;
  const reset = {
    resettable: stateChanges.length === 0,
    globals: globals.mutable.map((i) => `${METERING_EXPORTS.globalPrefix}${i}`),
    writeTracking: globals.tracking,
    ...(stateChanges.length > 0 ? { reason: `the code uses ${[...new Set(stateChanges)].join(', ')}` } : {}),
  };
  return { bytes: out.toBytes(), memory, hasStart: info.startFunction !== undefined, reset, stats: counts };
}

