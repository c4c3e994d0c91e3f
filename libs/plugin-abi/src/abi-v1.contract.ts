import type { WasmFuncType } from './wasm-module.types.js';

/** The plugin ABI version this code implements (docs/abi.md). */
export const ABI_VERSION = 1;

/** The module every host import must come from. */
export const HOST_MODULE = 'forgeone';

export const EXPORT_MEMORY = 'memory';
export const EXPORT_ABI_VERSION = 'forgeone_abi_version';
export const EXPORT_ALLOC = 'forgeone_alloc';

/** Export names the ABI reserves; a handler may not use them. */
export const RESERVED_EXPORTS: readonly string[] = [EXPORT_MEMORY, EXPORT_ABI_VERSION, EXPORT_ALLOC];

export const ABI_VERSION_SIGNATURE: WasmFuncType = { params: [], results: ['i32'] };
export const ALLOC_SIGNATURE: WasmFuncType = { params: ['i32'], results: ['i32'] };
/** `(ptr, len) -> i64`: a result >= 0 packs `(out_ptr << 32) | out_len`, a negative one is an error. */
export const HANDLER_SIGNATURE: WasmFuncType = { params: ['i32', 'i32'], results: ['i64'] };

/** A manifest capability that unlocks host functions (the keys of the manifest's `capabilities`). */
export type PluginCapability = 'log' | 'metrics' | 'clock' | 'config' | 'storage' | 'http' | 'auth';

export type HostFunctionName =
  | 'error'
  | 'log'
  | 'metric'
  | 'now_ms'
  | 'config_get'
  | 'kv_get'
  | 'kv_set'
  | 'kv_delete'
  | 'http_request'
  | 'auth_check';

export interface HostFunctionSpec {
  readonly signature: WasmFuncType;
  /** The capability the manifest must grant; undefined when the function is always available. */
  readonly capability: PluginCapability | undefined;
}

const fn = (params: WasmFuncType['params'], results: WasmFuncType['results'], capability?: PluginCapability): HostFunctionSpec => ({
  signature: { params, results },
  capability,
});

/** Every host function of ABI v1, in module `forgeone`, with its exact signature and capability. */
export const HOST_FUNCTIONS_V1: Readonly<Record<HostFunctionName, HostFunctionSpec>> = {
  error: fn(['i32', 'i32'], []),
  log: fn(['i32', 'i32', 'i32'], [], 'log'),
  metric: fn(['i32', 'i32', 'f64'], [], 'metrics'),
  now_ms: fn([], ['i64'], 'clock'),
  config_get: fn(['i32', 'i32'], ['i64'], 'config'),
  kv_get: fn(['i32', 'i32'], ['i64'], 'storage'),
  kv_set: fn(['i32', 'i32', 'i32', 'i32'], ['i32'], 'storage'),
  kv_delete: fn(['i32', 'i32'], ['i32'], 'storage'),
  http_request: fn(['i32', 'i32'], ['i64'], 'http'),
  auth_check: fn(['i32', 'i32'], ['i32'], 'auth'),
};

/**
 * Results of host functions as the guest sees them: an i32 result is the status itself, an i64
 * result is a status when negative. 0 is ok (for i32 results); every negative value is named here.
 */
export const HOST_STATUS = {
  ok: 0,
  /** The config key or storage key does not exist. */
  notFound: -1,
  /** Policy, the manifest or the http allow-list refused this use. */
  denied: -2,
  /** The host could not answer (storage or network error, malformed request, no hook). */
  failed: -3,
  /** `forgeone_alloc` returned 0 for the answer. */
  guestOutOfMemory: -4,
  /** The answer, or the value given to `kv_set`, is larger than the host can carry. */
  tooLarge: -5,
  /** `kv_set` would take the plugin's or its tenant's storage past its quota; nothing was written. */
  quotaExceeded: -6,
} as const;

export type HostStatus = (typeof HOST_STATUS)[keyof typeof HOST_STATUS];

export function isHostFunctionName(name: string): name is HostFunctionName {
  return Object.prototype.hasOwnProperty.call(HOST_FUNCTIONS_V1, name);
}
