import { WasmBinaryReader } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, WasmInstructionIterator } from './wasm-instruction.decoder.js';
import type { MeteringGlobals } from './wasm-metering.contract.js';
import { vectorEntries } from './wasm-metering.sections.js';
import type { WasmFuncType, WasmModuleInfo, WasmSection } from './wasm-module.types.js';
import { OP, VALUE_TYPE } from './wasm-opcodes.js';

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
export interface ThreadingPlan {
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

export function threadingPlan(bytes: Uint8Array, info: WasmModuleInfo): ThreadingPlan {
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
    const code = new WasmInstructionIterator(r);
    while (!code.atEnd) {
      const kind = code.next();
      if (code.current.op === OP.refFunc) escaping.add(code.current.immediate);
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

export function typeSectionContent(section: WasmSection, bytes: Uint8Array, plan: ThreadingPlan): Uint8Array {
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

export function functionSectionContent(info: WasmModuleInfo, plan: ThreadingPlan): Uint8Array {
  const defined = info.functions.filter((f) => !f.imported);
  const w = new WasmBinaryWriter(defined.length * 3 + 8);
  w.varUint(defined.length + plan.entries.length);
  for (const f of defined) w.varUint(plan.threaded[f.index] === f.index ? plan.threadedType.get(f.typeIndex)! : f.typeIndex);
  for (const index of plan.entries) w.varUint(plan.threadedType.get(info.functions[index].typeIndex)!);
  return w.toBytes();
}

/**
 * Where the balance lives while a threaded body runs: its last parameter, which V8 keeps in a
 * register. `sync` stores it to the global and `reload` reads it back, around what can observe or
 * change the global: calls to imports (the host) and `call_indirect` (an entry), and traps.
 */
export class BalanceCell {
  constructor(
    readonly local: number,
    private readonly global: number,
  ) {}

  load(w: WasmBinaryWriter): WasmBinaryWriter {
    return w.byte(OP.localGet).varUint(this.local);
  }

  store(w: WasmBinaryWriter): WasmBinaryWriter {
    return w.byte(OP.localSet).varUint(this.local);
  }

  sync(w: WasmBinaryWriter): WasmBinaryWriter {
    return w.byte(OP.localGet).varUint(this.local).byte(OP.globalSet).varUint(this.global);
  }

  reload(w: WasmBinaryWriter): WasmBinaryWriter {
    return w.byte(OP.globalGet).varUint(this.global).byte(OP.localSet).varUint(this.local);
  }
}

/** The body left at an entry's index: balance from the global, call the threaded body, balance back. */
export function writeEntryBody(w: WasmBinaryWriter, threadedIndex: number, params: number, g: MeteringGlobals): void {
  w.byte(0x00);
  for (let i = 0; i < params; i++) w.byte(OP.localGet).varUint(i);
  w.byte(OP.globalGet).varUint(g.fuel).byte(OP.call).varUint(threadedIndex).byte(OP.globalSet).varUint(g.fuel).byte(OP.end);
}
