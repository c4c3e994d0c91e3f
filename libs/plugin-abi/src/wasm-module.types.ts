/** A WebAssembly value type as it appears in signatures and locals. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

/** A function signature: `(params) -> (results)`. */
export interface WasmFuncType {
  readonly params: readonly WasmValueType[];
  readonly results: readonly WasmValueType[];
}

export type WasmExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

/**
 * Limits of a linear memory, in 64 KiB pages. `maximumPages` is undefined when the module
 * declares no maximum: such a memory can grow to the engine's limit unless the host caps it.
 */
export interface WasmMemoryLimits {
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
  readonly hasMaximum: boolean;
  readonly shared: boolean;
  readonly memory64: boolean;
}

export interface WasmTableLimits {
  readonly elementType: WasmValueType;
  readonly initial: number;
  readonly maximum: number | undefined;
}

interface WasmImportBase {
  readonly module: string;
  readonly name: string;
}

export type WasmImport =
  | (WasmImportBase & { readonly kind: 'function'; readonly typeIndex: number; readonly signature: WasmFuncType })
  | (WasmImportBase & { readonly kind: 'table'; readonly table: WasmTableLimits })
  | (WasmImportBase & { readonly kind: 'memory'; readonly memory: WasmMemoryLimits })
  | (WasmImportBase & { readonly kind: 'global'; readonly valueType: WasmValueType; readonly mutable: boolean })
  | (WasmImportBase & { readonly kind: 'tag'; readonly typeIndex: number });

/** An export; `signature` is set for functions. */
export interface WasmExport {
  readonly name: string;
  readonly kind: WasmExternKind;
  readonly index: number;
  readonly signature?: WasmFuncType;
}

/** One entry of the function index space (imports first, then functions defined by the module). */
export interface WasmFunction {
  readonly index: number;
  readonly typeIndex: number;
  readonly signature: WasmFuncType;
  readonly imported: boolean;
}

/** One entry of the memory index space (imports first). */
export interface WasmMemory {
  readonly index: number;
  readonly limits: WasmMemoryLimits;
  /** Where an imported memory comes from; undefined for a memory the module defines. */
  readonly importedFrom: { readonly module: string; readonly name: string } | undefined;
}

export type WasmSectionName =
  | 'custom'
  | 'type'
  | 'import'
  | 'function'
  | 'table'
  | 'memory'
  | 'tag'
  | 'global'
  | 'export'
  | 'start'
  | 'element'
  | 'datacount'
  | 'code'
  | 'data';

/** Where a section sits in the file: `offset` is the first byte of its contents. */
export interface WasmSection {
  readonly id: number;
  readonly name: WasmSectionName;
  readonly offset: number;
  readonly size: number;
  /** The name of a custom section. */
  readonly customName?: string;
}

/** Location of a defined function's body (locals and instructions) in the file. */
export interface WasmCodeEntry {
  readonly functionIndex: number;
  readonly offset: number;
  readonly size: number;
}

/** What {@link inspectWasmModule} learns from a core module without compiling or running it. */
export interface WasmModuleInfo {
  readonly version: number;
  readonly sizeBytes: number;
  readonly sections: readonly WasmSection[];
  readonly types: readonly WasmFuncType[];
  readonly imports: readonly WasmImport[];
  readonly functions: readonly WasmFunction[];
  readonly memories: readonly WasmMemory[];
  readonly exports: readonly WasmExport[];
  /** Index of the start function, which runs on instantiation; undefined when there is none. */
  readonly startFunction: number | undefined;
  readonly code: readonly WasmCodeEntry[];
}

/** A decoded function body: its local declarations and its raw instruction bytes (ending in `end`). */
export interface WasmFunctionBody {
  readonly functionIndex: number;
  readonly locals: readonly { readonly count: number; readonly type: WasmValueType }[];
  readonly instructions: Uint8Array;
  /** File offset of the first instruction byte. */
  readonly instructionsOffset: number;
}
