import { ForgeOneError } from '@forgeone/contracts';
import {
  ABI_VERSION,
  ABI_VERSION_SIGNATURE,
  ALLOC_SIGNATURE,
  EXPORT_ABI_VERSION,
  EXPORT_ALLOC,
  EXPORT_MEMORY,
  HANDLER_SIGNATURE,
  HOST_FUNCTIONS_V1,
  HOST_MODULE,
  RESERVED_EXPORTS,
  isHostFunctionName,
  type HostFunctionName,
  type PluginCapability,
} from './abi-v1.contract.js';
import { WasmBinaryReader, WasmFormatError } from './wasm-binary.reader.js';
import { formatSignature, inspectWasmModule, readFunctionBody } from './wasm-module.inspector.js';
import type { WasmExport, WasmFuncType, WasmFunctionBody, WasmMemoryLimits, WasmModuleInfo } from './wasm-module.types.js';

export interface ValidatePluginModuleOptions {
  /** Handler names from the manifest; each must be exported as `(i32, i32) -> i64`. */
  readonly handlers: readonly string[];
  /** The `abi` field of the manifest. */
  readonly abi: number;
  /** Name used in messages; defaults to `plugin.wasm`. */
  readonly fileName?: string;
}

export type PluginModuleProblemKind =
  | 'compile'
  | 'missing_export'
  | 'export_kind'
  | 'export_signature'
  | 'abi_version'
  | 'abi_not_constant'
  | 'memory'
  | 'handler_name'
  | 'import_kind'
  | 'import_module'
  | 'import_unknown'
  | 'import_signature';

/** One reason a module was refused; `name` is the offending export, import (`module.name`) or file. */
export interface PluginModuleProblem {
  readonly kind: PluginModuleProblemKind;
  readonly name: string;
  readonly message: string;
}

/** Memory the plugin exports, in 64 KiB pages; the sandbox caps it whether or not a maximum is declared. */
export interface PluginMemoryInfo {
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
  readonly hasMaximum: boolean;
}

/** What a module that passed {@link validatePluginModule} needs from the host. */
export interface PluginModuleReport {
  readonly abi: typeof ABI_VERSION;
  readonly sizeBytes: number;
  readonly handlers: readonly string[];
  /** Host functions the module imports, sorted. */
  readonly hostImports: readonly HostFunctionName[];
  /** Capabilities the manifest must grant for those imports (`error` needs none), sorted. */
  readonly requiredCapabilities: readonly PluginCapability[];
  readonly memory: PluginMemoryInfo;
  /** A start function runs on every instantiation, before any handler. */
  readonly hasStartFunction: boolean;
  /** Exports beyond the ABI's and the handlers' (toolchain leftovers); the host never calls them. */
  readonly otherExports: readonly string[];
}

const CAPABILITY_ORDER: readonly PluginCapability[] = ['log', 'metrics', 'clock', 'config', 'storage', 'http', 'auth'];

// Only the compiler is needed; typed locally so the lib does not depend on DOM typings.
const engine = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => unknown } }).WebAssembly;

/**
 * Checks that a binary is a ForgeOne plugin for ABI v1 (docs/abi.md) without running it:
 * a well-formed core module that compiles, exports `memory`, `forgeone_abi_version` returning the
 * constant 1, `forgeone_alloc` and every manifest handler with the ABI signatures, and imports
 * only ForgeOne host functions with their exact signatures.
 *
 * @returns the host functions and capabilities the module needs and its memory limits.
 * @throws {ForgeOneError} `REGISTRY.ABI_MISMATCH` when the manifest or the module declares another
 *   ABI version, otherwise `REGISTRY.WASM_INVALID`; the message lists every problem found and
 *   `details.problems` holds them one by one.
 */
export function validatePluginModule(bytes: Uint8Array, options: ValidatePluginModuleOptions): PluginModuleReport {
  const file = options.fileName ?? 'plugin.wasm';
  if (options.abi !== ABI_VERSION) {
    throw new ForgeOneError(
      'REGISTRY.ABI_MISMATCH',
      `the manifest asks for plugin ABI ${options.abi}, but this ForgeOne supports only ABI ${ABI_VERSION}; set "abi": ${ABI_VERSION} and build the plugin for ABI ${ABI_VERSION}`,
      { file, abi: options.abi, supported: [ABI_VERSION] },
    );
  }

  let info: WasmModuleInfo;
  try {
    info = inspectWasmModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    throw new ForgeOneError('REGISTRY.WASM_INVALID', `${file} is not a valid WebAssembly module: ${error.message}`, {
      file,
      reason: error.reason,
      offset: error.offset,
    });
  }

  const problems: PluginModuleProblem[] = [];
  try {
    new engine.Module(bytes);
  } catch (error) {
    problems.push({
      kind: 'compile',
      name: file,
      message: `WebAssembly compilation failed: ${error instanceof Error ? error.message : String(error)}`,
    });
  }

  const exports = new Map(info.exports.map((e) => [e.name, e]));
  const memory = checkMemoryExport(exports.get(EXPORT_MEMORY), info, problems);
  checkAbiVersionExport(bytes, info, exports.get(EXPORT_ABI_VERSION), problems);
  checkFunctionExport(EXPORT_ALLOC, exports.get(EXPORT_ALLOC), ALLOC_SIGNATURE, '', problems);
  const handlers = checkHandlers(options.handlers, exports, problems);
  const hostImports = checkImports(info, problems);

  if (problems.length > 0) {
    const code = problems.some((p) => p.kind === 'abi_version') ? 'REGISTRY.ABI_MISMATCH' : 'REGISTRY.WASM_INVALID';
    throw new ForgeOneError(
      code,
      `${file} is not a valid ForgeOne ABI v${ABI_VERSION} module: ${problems.map((p) => p.message).join('; ')}`,
      { file, names: [...new Set(problems.map((p) => p.name))], problems },
    );
  }

  const known = new Set([...RESERVED_EXPORTS, ...handlers]);
  const requiredCapabilities = new Set(hostImports.map((name) => HOST_FUNCTIONS_V1[name].capability));
  return {
    abi: ABI_VERSION,
    sizeBytes: bytes.length,
    handlers,
    hostImports,
    requiredCapabilities: CAPABILITY_ORDER.filter((c) => requiredCapabilities.has(c)),
    memory: memory ?? { initialPages: 0, maximumPages: undefined, hasMaximum: false },
    hasStartFunction: info.startFunction !== undefined,
    otherExports: info.exports.map((e) => e.name).filter((name) => !known.has(name)),
  };
}

/**
 * Limits of the memory a module exports as `memory` (the declared maximum, or none), for the
 * sandbox to cap growth; undefined when there is no such memory export.
 */
export function exportedMemoryLimits(info: WasmModuleInfo): WasmMemoryLimits | undefined {
  const exported = info.exports.find((e) => e.name === EXPORT_MEMORY && e.kind === 'memory');
  return exported === undefined ? undefined : info.memories[exported.index]?.limits;
}

function sameSignature(a: WasmFuncType, b: WasmFuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}

function checkMemoryExport(
  exported: WasmExport | undefined,
  info: WasmModuleInfo,
  problems: PluginModuleProblem[],
): PluginMemoryInfo | undefined {
  if (exported === undefined) {
    problems.push({ kind: 'missing_export', name: EXPORT_MEMORY, message: `missing export ${EXPORT_MEMORY} (the module's linear memory)` });
    return undefined;
  }
  if (exported.kind !== 'memory') {
    problems.push({ kind: 'export_kind', name: EXPORT_MEMORY, message: `export ${EXPORT_MEMORY} is a ${exported.kind}, not a memory` });
    return undefined;
  }
  const limits = info.memories[exported.index].limits;
  if (limits.memory64) {
    problems.push({ kind: 'memory', name: EXPORT_MEMORY, message: `export ${EXPORT_MEMORY} is a 64-bit memory; ABI v${ABI_VERSION} is wasm32` });
  }
  if (limits.shared) {
    problems.push({ kind: 'memory', name: EXPORT_MEMORY, message: `export ${EXPORT_MEMORY} is a shared memory; plugins run single-threaded and must not share memory` });
  }
  return { initialPages: limits.initialPages, maximumPages: limits.maximumPages, hasMaximum: limits.hasMaximum };
}

function checkFunctionExport(
  name: string,
  exported: WasmExport | undefined,
  signature: WasmFuncType,
  role: string,
  problems: PluginModuleProblem[],
): boolean {
  const required = formatSignature(signature);
  if (exported === undefined) {
    problems.push({ kind: 'missing_export', name, message: `missing export ${name} (${role}required: ${required})` });
    return false;
  }
  if (exported.kind !== 'function' || exported.signature === undefined) {
    problems.push({ kind: 'export_kind', name, message: `export ${name} is a ${exported.kind}, not a function ${required}` });
    return false;
  }
  if (!sameSignature(exported.signature, signature)) {
    problems.push({
      kind: 'export_signature',
      name,
      message: `export ${name} has signature ${formatSignature(exported.signature)} but ABI v${ABI_VERSION} requires ${required}`,
    });
    return false;
  }
  return true;
}

function checkAbiVersionExport(
  bytes: Uint8Array,
  info: WasmModuleInfo,
  exported: WasmExport | undefined,
  problems: PluginModuleProblem[],
): void {
  if (!checkFunctionExport(EXPORT_ABI_VERSION, exported, ABI_VERSION_SIGNATURE, '', problems) || exported === undefined) return;
  const notConstant = (why: string): void => {
    problems.push({
      kind: 'abi_not_constant',
      name: EXPORT_ABI_VERSION,
      message: `${EXPORT_ABI_VERSION} must return a constant (its body must be just i32.const ${ABI_VERSION}); ${why}`,
    });
  };
  if (info.functions[exported.index].imported) {
    notConstant('it re-exports an imported function');
    return;
  }
  let body: WasmFunctionBody;
  try {
    body = readFunctionBody(bytes, info, exported.index);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    notConstant(`its body cannot be read: ${error.message}`);
    return;
  }
  const declared = constantI32Result(body);
  if (declared === undefined) {
    notConstant('its body computes the value');
  } else if (declared !== ABI_VERSION) {
    problems.push({
      kind: 'abi_version',
      name: EXPORT_ABI_VERSION,
      message: `the module declares ABI version ${declared}, but this ForgeOne supports only ABI ${ABI_VERSION}; build it against the ABI v${ABI_VERSION} SDK`,
    });
  }
}

/** The value of a body that is exactly `i32.const N` (optionally followed by `return`) and `end`. */
function constantI32Result(body: WasmFunctionBody): number | undefined {
  const code = body.instructions;
  if (code[0] !== 0x41) return undefined;
  const reader = new WasmBinaryReader(code, 1, code.length, 'function body');
  let value: number;
  try {
    value = reader.varInt32('i32.const immediate');
  } catch (error) {
    if (error instanceof WasmFormatError) return undefined;
    throw error;
  }
  const rest = code.subarray(reader.offset);
  const isEnd = rest.length === 1 && rest[0] === 0x0b;
  const isReturnEnd = rest.length === 2 && rest[0] === 0x0f && rest[1] === 0x0b;
  return isEnd || isReturnEnd ? value : undefined;
}

function checkHandlers(
  handlers: readonly string[],
  exports: ReadonlyMap<string, WasmExport>,
  problems: PluginModuleProblem[],
): string[] {
  const seen = new Set<string>();
  for (const handler of handlers) {
    if (seen.has(handler)) {
      problems.push({ kind: 'handler_name', name: handler, message: `handler ${handler} is listed twice in the manifest` });
      continue;
    }
    seen.add(handler);
    if (RESERVED_EXPORTS.includes(handler)) {
      problems.push({ kind: 'handler_name', name: handler, message: `handler name ${handler} is reserved by the ABI; rename the handler` });
      continue;
    }
    checkFunctionExport(handler, exports.get(handler), HANDLER_SIGNATURE, 'handler named in the manifest; ', problems);
  }
  return [...seen];
}

function checkImports(info: WasmModuleInfo, problems: PluginModuleProblem[]): HostFunctionName[] {
  const used = new Set<HostFunctionName>();
  for (const imp of info.imports) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind !== 'function') {
      problems.push({
        kind: 'import_kind',
        name,
        message: `import ${name} is a ${imp.kind} import; the host provides only functions (a plugin defines and exports its own memory)`,
      });
      continue;
    }
    if (imp.module !== HOST_MODULE) {
      problems.push({
        kind: 'import_module',
        name,
        message: `import ${name} is not from module "${HOST_MODULE}"; a plugin may import only ForgeOne host functions`,
      });
      continue;
    }
    if (!isHostFunctionName(imp.name)) {
      problems.push({
        kind: 'import_unknown',
        name,
        message: `import ${name} is not a ForgeOne host function (ABI v${ABI_VERSION} provides ${Object.keys(HOST_FUNCTIONS_V1).join(', ')})`,
      });
      continue;
    }
    const required = HOST_FUNCTIONS_V1[imp.name].signature;
    if (!sameSignature(imp.signature, required)) {
      problems.push({
        kind: 'import_signature',
        name,
        message: `import ${name} has signature ${formatSignature(imp.signature)} but ABI v${ABI_VERSION} defines ${formatSignature(required)}`,
      });
      continue;
    }
    used.add(imp.name);
  }
  return [...used].sort();
}
