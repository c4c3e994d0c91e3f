import { ForgeOneError } from '@forgeone/contracts';
import { ABI_VERSION, HANDLER_SIGNATURE, HOST_FUNCTIONS_V1, HOST_MODULE, RESERVED_EXPORTS, isHostFunctionName } from './abi-v1.contract.js';
import { exportedMemoryLimits, validatePluginModule, type PluginModuleProblem } from './plugin-module.validator.js';
import { WasmFormatError } from './wasm-binary.reader.js';
import { formatSignature, inspectWasmModule } from './wasm-module.inspector.js';
import type { WasmMemoryLimits, WasmModuleInfo } from './wasm-module.types.js';

/** One import of a module and the manifest capability it needs (undefined: always allowed, or not a host function). */
export interface InspectedImport {
  readonly module: string;
  readonly name: string;
  readonly kind: string;
  readonly signature?: string;
  readonly capability?: string;
  /** False when ABI v1 has no such host function, so publish refuses the module. */
  readonly known: boolean;
}

export interface PluginModuleInspection {
  readonly sizeBytes: number;
  /** The ABI the check was made against (the manifest's, else the one this platform speaks). */
  readonly abi: number;
  /** Handlers checked: the manifest's, else every export with the handler signature `(i32, i32) -> i64`. */
  readonly handlers: readonly string[];
  readonly exports: readonly { readonly name: string; readonly kind: string; readonly signature?: string }[];
  readonly imports: readonly InspectedImport[];
  /** Capabilities the imports need, in manifest order. */
  readonly requiredCapabilities: readonly string[];
  /** Capabilities the imports need that the manifest does not grant (only with a manifest). */
  readonly missingCapabilities?: readonly string[];
  readonly memory: WasmMemoryLimits | undefined;
  readonly hasStartFunction: boolean;
  /** The publish-time ABI check (validatePluginModule): passed, or the code and each problem. */
  readonly check: { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string; readonly problems: readonly string[] };
}

export interface InspectPluginModuleOptions {
  /** The manifest's handlers, ABI and capabilities, when the module comes with one. */
  readonly manifest?: { readonly handlers: readonly string[]; readonly abi: number; readonly capabilities: Readonly<Record<string, unknown>> };
  readonly fileName?: string;
}

/**
 * Describes a plugin module for its author: exports, imports and the capability each needs, memory
 * limits, and the result of the same ABI check publish runs. Never throws for a bad module: a file
 * that is not WebAssembly comes back with a failed check and nothing else.
 */
export function inspectPluginModule(bytes: Uint8Array, options: InspectPluginModuleOptions = {}): PluginModuleInspection {
  let info: WasmModuleInfo | undefined;
  try {
    info = inspectWasmModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
  }
  const exports = (info?.exports ?? []).map((e) => ({ name: e.name, kind: e.kind, ...(e.signature ? { signature: formatSignature(e.signature) } : {}) }));
  const handlers =
    options.manifest?.handlers ??
    (info?.exports ?? []).filter((e) => e.kind === 'function' && !RESERVED_EXPORTS.includes(e.name) && e.signature && formatSignature(e.signature) === formatSignature(HANDLER_SIGNATURE)).map((e) => e.name);
  const imports: InspectedImport[] = (info?.imports ?? []).map((i) => {
    const host = i.module === HOST_MODULE && i.kind === 'function' && isHostFunctionName(i.name) ? HOST_FUNCTIONS_V1[i.name] : undefined;
    return {
      module: i.module,
      name: i.name,
      kind: i.kind,
      ...(i.kind === 'function' ? { signature: formatSignature(i.signature) } : {}),
      ...(host?.capability ? { capability: host.capability } : {}),
      known: host !== undefined,
    };
  });
  const required = [...new Set(imports.flatMap((i) => (i.capability ? [i.capability] : [])))];
  const granted = options.manifest?.capabilities;
  const abi = options.manifest?.abi ?? ABI_VERSION;
  let check: PluginModuleInspection['check'] = { ok: true };
  try {
    validatePluginModule(bytes, { handlers, abi, ...(options.fileName ? { fileName: options.fileName } : {}) });
  } catch (error) {
    if (!(error instanceof ForgeOneError)) throw error;
    const problems = (error.details?.['problems'] as PluginModuleProblem[] | undefined)?.map((p) => p.message) ?? [error.message];
    check = { ok: false, code: error.code, message: error.message, problems };
  }
  return {
    sizeBytes: bytes.length,
    abi,
    handlers,
    exports,
    imports,
    requiredCapabilities: required,
    ...(granted ? { missingCapabilities: required.filter((c) => !isGrantedCapability(granted, c)) } : {}),
    memory: info ? exportedMemoryLimits(info) : undefined,
    hasStartFunction: info?.startFunction !== undefined,
    check,
  };
}

function isGrantedCapability(capabilities: Readonly<Record<string, unknown>>, capability: string): boolean {
  const value = capabilities[capability];
  return value === true || (typeof value === 'object' && value !== null);
}
