// Reads a WebAssembly module's header and sections (types, imports, functions, memories, exports, code) in one
// pass. Over 400 lines: one small reader per section, all filling one draft; apart they would only pass it around.
import { hex, WasmBinaryReader, WasmFormatError } from './wasm-binary.reader.js';
import type {
  WasmCodeEntry,
  WasmExport,
  WasmExternKind,
  WasmFuncType,
  WasmFunction,
  WasmFunctionBody,
  WasmImport,
  WasmMemory,
  WasmMemoryLimits,
  WasmModuleInfo,
  WasmSection,
  WasmSectionName,
  WasmTableLimits,
  WasmValueType,
} from './wasm-module.types.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const CORE_VERSION = 1;

// Section ids with their required position: the tag and data count sections have ids that
// do not follow their place in the file, so order is checked by rank, not by id.
const SECTIONS: Readonly<Record<number, { name: WasmSectionName; rank: number }>> = {
  1: { name: 'type', rank: 1 },
  2: { name: 'import', rank: 2 },
  3: { name: 'function', rank: 3 },
  4: { name: 'table', rank: 4 },
  5: { name: 'memory', rank: 5 },
  13: { name: 'tag', rank: 6 },
  6: { name: 'global', rank: 7 },
  7: { name: 'export', rank: 8 },
  8: { name: 'start', rank: 9 },
  9: { name: 'element', rank: 10 },
  12: { name: 'datacount', rank: 11 },
  10: { name: 'code', rank: 12 },
  11: { name: 'data', rank: 13 },
};

const EXTERN_KINDS: readonly WasmExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

/** Mutable accumulator while walking the sections; frozen into a {@link WasmModuleInfo} at the end. */
interface Draft {
  sections: WasmSection[];
  types: WasmFuncType[];
  imports: WasmImport[];
  functionTypeIndices: number[];
  importedFunctionCount: number;
  memories: WasmMemory[];
  exports: { name: string; kind: WasmExternKind; index: number; offset: number }[];
  startFunction: number | undefined;
  tableCount: number;
  globalCount: number;
  tagCount: number;
  definedFunctionCount: number | undefined;
  code: { offset: number; size: number }[] | undefined;
}

/**
 * Reads the structure of a WebAssembly core module without compiling or instantiating it:
 * header, types, imports, functions, memories, exports, start function and where each
 * function body lives. Custom sections are listed, not interpreted; the table, global,
 * element and data sections are skipped.
 *
 * @throws {WasmFormatError} naming the defect and its byte offset when the binary is not a
 *   well-formed core module (wrong magic or version, truncated or oversized section, bad LEB128,
 *   sections out of order or duplicated, section size mismatch, index out of range).
 */
export function inspectWasmModule(bytes: Uint8Array): WasmModuleInfo {
  const file = new WasmBinaryReader(bytes, 0, bytes.length, 'file');
  const version = readHeader(file, bytes);
  const draft: Draft = {
    sections: [],
    types: [],
    imports: [],
    functionTypeIndices: [],
    importedFunctionCount: 0,
    memories: [],
    exports: [],
    startFunction: undefined,
    tableCount: 0,
    globalCount: 0,
    tagCount: 0,
    definedFunctionCount: undefined,
    code: undefined,
  };

  let lastRank = 0;
  let lastName: WasmSectionName | undefined;
  while (!file.atEnd) {
    const headerOffset = file.offset;
    const id = file.u8('section id');
    const size = file.varUint('section size');
    const offset = file.offset;
    const known = id === 0 ? { name: 'custom' as const, rank: 0 } : SECTIONS[id];
    if (known === undefined) file.fail(`unknown section id ${id}`, headerOffset);
    if (size > file.remaining) {
      file.fail(
        `${known.name} section declares ${size} byte(s) but only ${file.remaining} remain: the file is truncated`,
        headerOffset,
      );
    }
    if (known.rank !== 0) {
      if (known.rank === lastRank) file.fail(`duplicate ${known.name} section`, headerOffset);
      if (known.rank < lastRank) {
        file.fail(`${known.name} section appears after the ${lastName} section; sections must be in order`, headerOffset);
      }
      lastRank = known.rank;
      lastName = known.name;
    }

    const section = new WasmBinaryReader(bytes, offset, offset + size, `${known.name} section`);
    let customName: string | undefined;
    switch (known.name) {
      case 'custom':
        customName = section.name('custom section name');
        section.skip(section.remaining, 'custom section contents');
        break;
      case 'type':
        readTypeSection(section, draft);
        break;
      case 'import':
        readImportSection(section, draft);
        break;
      case 'function':
        readFunctionSection(section, draft);
        break;
      case 'memory':
        readMemorySection(section, draft);
        break;
      case 'export':
        readExportSection(section, draft);
        break;
      case 'start':
        draft.startFunction = section.varUint('start function index');
        break;
      case 'code':
        readCodeSection(section, draft);
        break;
      case 'table':
        draft.tableCount += section.count('table');
        section.skip(section.remaining, 'table definitions');
        break;
      case 'global':
        draft.globalCount += section.count('global');
        section.skip(section.remaining, 'global definitions');
        break;
      case 'tag':
        draft.tagCount += section.count('tag');
        section.skip(section.remaining, 'tag definitions');
        break;
      default:
        // element, datacount and data: validated by the engine, not needed here.
        section.skip(section.remaining, `${known.name} section contents`);
    }
    if (!section.atEnd) {
      section.fail(
        `${known.name} section size mismatch: it declares ${size} byte(s) but its contents end after ${section.offset - offset}`,
        headerOffset,
      );
    }
    draft.sections.push({ id, name: known.name, offset, size, ...(customName !== undefined ? { customName } : {}) });
    file.skip(size, `${known.name} section`);
  }

  return finish(version, bytes.length, draft);
}

/**
 * Decodes the body of a function the module defines: its locals and its instruction bytes.
 *
 * @throws {WasmFormatError} when the index is an imported function, out of range, or the body is malformed.
 */
export function readFunctionBody(bytes: Uint8Array, info: WasmModuleInfo, functionIndex: number): WasmFunctionBody {
  const fn = info.functions[functionIndex];
  if (fn === undefined) throw new WasmFormatError(`function ${functionIndex} does not exist`, 0);
  if (fn.imported) throw new WasmFormatError(`function ${functionIndex} is imported and has no body in this module`, 0);
  const entry = info.code.find((c) => c.functionIndex === functionIndex);
  if (entry === undefined) throw new WasmFormatError(`function ${functionIndex} has no body in the code section`, 0);
  const body = new WasmBinaryReader(bytes, entry.offset, entry.offset + entry.size, `body of function ${functionIndex}`);
  const locals: { count: number; type: WasmValueType }[] = [];
  const groups = body.count('local group');
  for (let i = 0; i < groups; i++) {
    const count = body.varUint('local count');
    locals.push({ count, type: body.valueType('local type') });
  }
  const instructionsOffset = body.offset;
  const instructions = body.bytesOf(body.remaining, 'instructions');
  if (instructions.length === 0 || instructions[instructions.length - 1] !== 0x0b) {
    throw new WasmFormatError(`body of function ${functionIndex} does not end with the end opcode (0x0b)`, instructionsOffset);
  }
  return { functionIndex, locals, instructions, instructionsOffset };
}

function readHeader(file: WasmBinaryReader, bytes: Uint8Array): number {
  if (bytes.length === 0) file.fail('empty file: a WebAssembly module starts with the bytes \\0asm', 0);
  for (let i = 0; i < Math.min(MAGIC.length, bytes.length); i++) {
    if (bytes[i] !== MAGIC[i]) {
      file.fail('not a WebAssembly module: the file does not start with the magic bytes \\0asm', 0);
    }
  }
  if (bytes.length < 8) file.fail(`truncated header: ${bytes.length} byte(s), a module header has 8`, 0);
  file.skip(4, 'magic');
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  file.skip(4, 'version');
  if (version !== CORE_VERSION) {
    // Components share the magic but carry version 0x0d with layer 1 in the upper half.
    if ((version & 0xffff0000) === 0x00010000) {
      file.fail('this is a WebAssembly component, not a core module; build a core wasm32 module', 4);
    }
    file.fail(`unsupported WebAssembly binary version ${version >>> 0}; only version 1 (core modules) is supported`, 4);
  }
  return version;
}

function readTypeSection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('type');
  for (let i = 0; i < n; i++) {
    const start = section.offset;
    const form = section.u8('type form');
    if (form !== 0x60) {
      section.fail(`type ${i} has form ${hex(form)}; only function types (0x60) are supported`, start);
    }
    const params = readValueTypes(section, `param of type ${i}`);
    const results = readValueTypes(section, `result of type ${i}`);
    draft.types.push({ params, results });
  }
}

function readValueTypes(section: WasmBinaryReader, what: string): WasmValueType[] {
  const n = section.count(what);
  const types: WasmValueType[] = [];
  for (let i = 0; i < n; i++) types.push(section.valueType(what));
  return types;
}

function readLimits(section: WasmBinaryReader, what: string, allowMemoryFlags: boolean): WasmMemoryLimits {
  const start = section.offset;
  const flags = section.u8(`${what} limits flags`);
  if (flags > (allowMemoryFlags ? 0x07 : 0x01)) section.fail(`unsupported ${what} limits flags ${hex(flags)}`, start);
  const memory64 = (flags & 0x04) !== 0;
  const shared = (flags & 0x02) !== 0;
  const bits = memory64 ? 64 : 32;
  const initialPages = section.varUint(`${what} initial size`, bits);
  const hasMaximum = (flags & 0x01) !== 0;
  const maximumPages = hasMaximum ? section.varUint(`${what} maximum size`, bits) : undefined;
  if (maximumPages !== undefined && maximumPages < initialPages) {
    section.fail(`${what} maximum (${maximumPages}) is below its initial size (${initialPages})`, start);
  }
  return { initialPages, maximumPages, hasMaximum, shared, memory64 };
}

function readTableType(section: WasmBinaryReader, what: string): WasmTableLimits {
  const elementType = section.valueType(`${what} element type`);
  const limits = readLimits(section, what, false);
  return { elementType, initial: limits.initialPages, maximum: limits.maximumPages };
}

function readImportSection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('import');
  for (let i = 0; i < n; i++) {
    const module = section.name(`module name of import ${i}`);
    const name = section.name(`field name of import ${i}`);
    const where = `import ${module}.${name}`;
    const kindOffset = section.offset;
    const kind = section.u8(`kind of ${where}`);
    switch (kind) {
      case 0x00: {
        const typeOffset = section.offset;
        const typeIndex = section.varUint(`type index of ${where}`);
        const signature = draft.types[typeIndex];
        if (signature === undefined) {
          section.fail(`${where} uses type ${typeIndex} but the module declares only ${draft.types.length} type(s)`, typeOffset);
        }
        draft.imports.push({ module, name, kind: 'function', typeIndex, signature });
        draft.functionTypeIndices.push(typeIndex);
        draft.importedFunctionCount++;
        break;
      }
      case 0x01:
        draft.imports.push({ module, name, kind: 'table', table: readTableType(section, where) });
        draft.tableCount++;
        break;
      case 0x02: {
        const memory = readLimits(section, where, true);
        draft.imports.push({ module, name, kind: 'memory', memory });
        draft.memories.push({ index: draft.memories.length, limits: memory, importedFrom: { module, name } });
        break;
      }
      case 0x03: {
        const valueType = section.valueType(`type of ${where}`);
        const mutOffset = section.offset;
        const mut = section.u8(`mutability of ${where}`);
        if (mut > 1) section.fail(`${where} has invalid mutability ${hex(mut)}`, mutOffset);
        draft.imports.push({ module, name, kind: 'global', valueType, mutable: mut === 1 });
        draft.globalCount++;
        break;
      }
      case 0x04: {
        section.u8(`attribute of ${where}`);
        const typeIndex = section.varUint(`type index of ${where}`);
        draft.imports.push({ module, name, kind: 'tag', typeIndex });
        draft.tagCount++;
        break;
      }
      default:
        section.fail(`${where} has unknown kind ${hex(kind)}`, kindOffset);
    }
  }
}

function readFunctionSection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('function');
  for (let i = 0; i < n; i++) {
    const start = section.offset;
    const typeIndex = section.varUint(`type index of function ${draft.functionTypeIndices.length}`);
    if (typeIndex >= draft.types.length) {
      section.fail(
        `function ${draft.functionTypeIndices.length} uses type ${typeIndex} but the module declares only ${draft.types.length} type(s)`,
        start,
      );
    }
    draft.functionTypeIndices.push(typeIndex);
  }
  draft.definedFunctionCount = n;
}

function readMemorySection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('memory');
  for (let i = 0; i < n; i++) {
    const limits = readLimits(section, `memory ${draft.memories.length}`, true);
    draft.memories.push({ index: draft.memories.length, limits, importedFrom: undefined });
  }
}

function readExportSection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('export');
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const offset = section.offset;
    const name = section.name(`name of export ${i}`);
    if (seen.has(name)) section.fail(`duplicate export name "${name}"`, offset);
    seen.add(name);
    const kindOffset = section.offset;
    const kindByte = section.u8(`kind of export "${name}"`);
    const kind = EXTERN_KINDS[kindByte];
    if (kind === undefined) section.fail(`export "${name}" has unknown kind ${hex(kindByte)}`, kindOffset);
    const index = section.varUint(`index of export "${name}"`);
    draft.exports.push({ name, kind, index, offset });
  }
}

function readCodeSection(section: WasmBinaryReader, draft: Draft): void {
  const n = section.count('function body');
  const code: { offset: number; size: number }[] = [];
  for (let i = 0; i < n; i++) {
    const size = section.varUint(`size of function body ${i}`);
    const offset = section.offset;
    section.skip(size, `function body ${i}`);
    code.push({ offset, size });
  }
  draft.code = code;
}

function finish(version: number, sizeBytes: number, draft: Draft): WasmModuleInfo {
  const defined = draft.definedFunctionCount ?? 0;
  const bodies = draft.code ?? [];
  if (defined !== bodies.length) {
    const codeSection = draft.sections.find((s) => s.name === 'code');
    throw new WasmFormatError(
      `the function section declares ${defined} function(s) but the code section has ${bodies.length} bod${bodies.length === 1 ? 'y' : 'ies'}`,
      codeSection?.offset ?? sizeBytes,
    );
  }

  const functions: WasmFunction[] = draft.functionTypeIndices.map((typeIndex, index) => ({
    index,
    typeIndex,
    signature: draft.types[typeIndex],
    imported: index < draft.importedFunctionCount,
  }));
  const code: WasmCodeEntry[] = bodies.map((b, i) => ({ functionIndex: draft.importedFunctionCount + i, ...b }));

  const spaces: Record<WasmExternKind, number> = {
    function: functions.length,
    table: draft.tableCount,
    memory: draft.memories.length,
    global: draft.globalCount,
    tag: draft.tagCount,
  };
  const exports: WasmExport[] = draft.exports.map((e) => {
    if (e.index >= spaces[e.kind]) {
      throw new WasmFormatError(
        `export "${e.name}" refers to ${e.kind} ${e.index} but the module has only ${spaces[e.kind]} ${e.kind}(s)`,
        e.offset,
      );
    }
    return e.kind === 'function'
      ? { name: e.name, kind: e.kind, index: e.index, signature: functions[e.index].signature }
      : { name: e.name, kind: e.kind, index: e.index };
  });

  if (draft.startFunction !== undefined && draft.startFunction >= functions.length) {
    const startSection = draft.sections.find((s) => s.name === 'start');
    throw new WasmFormatError(
      `the start section names function ${draft.startFunction} but the module has only ${functions.length} function(s)`,
      startSection?.offset ?? 0,
    );
  }

  return {
    version,
    sizeBytes,
    sections: draft.sections,
    types: draft.types,
    imports: draft.imports,
    functions,
    memories: draft.memories,
    exports,
    startFunction: draft.startFunction,
    code,
  };
}

/** `(i32, i32) -> i64`, the way signatures are written in messages. */
export function formatSignature(type: WasmFuncType): string {
  const results = type.results.length === 1 ? type.results[0] : `(${type.results.join(', ')})`;
  return `(${type.params.join(', ')}) -> ${results}`;
}
