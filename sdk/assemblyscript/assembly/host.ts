// Typed wrappers over the host functions. Strings cross the boundary as UTF-8 (ptr, len); answers
// the host writes into guest memory come back packed as (ptr << 32) | len, negatives are statuses.
import {
  forgeone_auth_check,
  forgeone_config_get,
  forgeone_error,
  forgeone_kv_delete,
  forgeone_kv_get,
  forgeone_kv_set,
  forgeone_log,
  forgeone_metric,
  forgeone_now_ms,
} from "./imports";

/** Results of host functions (HOST_STATUS in the sandbox): 0 ok, negatives are failures. */
export namespace HostStatus {
  export const OK: i32 = 0;
  /** The key or value does not exist. */
  export const NOT_FOUND: i32 = -1;
  /** Policy or the capability allow-list refused the call. */
  export const DENIED: i32 = -2;
  /** The host could not answer (storage down, bad request JSON, network error). */
  export const FAILED: i32 = -3;
  /** The answer did not fit: forgeone_alloc returned 0. */
  export const GUEST_OUT_OF_MEMORY: i32 = -4;
  /** The answer, or the value given to kvSet, was larger than the host carries. */
  export const TOO_LARGE: i32 = -5;
  /** kvSet would take the plugin's storage in this environment, or its tenant's, past its quota; nothing was written. */
  export const QUOTA_EXCEEDED: i32 = -6;
}

/**
 * Why kvPut refused a value. AssemblyScript has no catchable exceptions, so the error is returned:
 * test its kind with `instanceof` (StorageQuotaExceeded, StorageValueTooLarge, StorageDenied,
 * StorageFailed); `status` is the HostStatus, `name` the class name, `message` says what happened.
 */
export class StorageError {
  status: i32;
  name: string;
  message: string;
  constructor(status: i32, name: string, message: string) {
    this.status = status;
    this.name = name;
    this.message = message;
  }
}

/** The plugin's quota in this environment, or its tenant's total, has no room for the value (-6). Delete keys or store less. */
export class StorageQuotaExceeded extends StorageError {
  constructor(message: string) {
    super(HostStatus.QUOTA_EXCEEDED, "StorageQuotaExceeded", message);
  }
}

/** The value is larger than the host carries to storage and back (-5). Split it over several keys. */
export class StorageValueTooLarge extends StorageError {
  constructor(message: string) {
    super(HostStatus.TOO_LARGE, "StorageValueTooLarge", message);
  }
}

/** Policy refused storage to this call (-2). */
export class StorageDenied extends StorageError {
  constructor(message: string) {
    super(HostStatus.DENIED, "StorageDenied", message);
  }
}

/** The host could not store the value (-3 or another status): storage unavailable, an empty or over-long key. */
export class StorageFailed extends StorageError {
  constructor(status: i32, message: string) {
    super(status, "StorageFailed", message);
  }
}

/** The typed error for a kv_set status about `key`, or null when it is OK. */
export function storageError(status: i32, key: string, valueBytes: i32): StorageError | null {
  if (status == HostStatus.OK) return null;
  const what = "storing " + valueBytes.toString() + " bytes under \"" + key + "\"";
  if (status == HostStatus.QUOTA_EXCEEDED) return new StorageQuotaExceeded(what + " would exceed the storage quota (host status -6)");
  if (status == HostStatus.TOO_LARGE) return new StorageValueTooLarge(what + ": the value is larger than the host stores (host status -5)");
  if (status == HostStatus.DENIED) return new StorageDenied(what + " was refused by policy (host status -2)");
  return new StorageFailed(status, what + " failed (host status " + status.toString() + ")");
}

/** Levels of `log`; the host maps them to its logger. */
export enum LogLevel {
  DEBUG = 0,
  INFO = 1,
  WARN = 2,
  ERROR = 3,
}

let lastStatus: i32 = 0;

/** Status of the last host call that can fail (configGet, kv*, httpRequest, authCheck). */
export function hostStatus(): i32 {
  return lastStatus;
}

// @ts-ignore: decorator
@inline function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

/** Sets the message the host reports when the handler returns a negative result. */
export function error(message: string): void {
  const bytes = utf8(message);
  forgeone_error(changetype<usize>(bytes), bytes.byteLength);
}

/** Writes a log entry (capability `log`). */
export function log(level: LogLevel, message: string): void {
  const bytes = utf8(message);
  forgeone_log(<i32>level, changetype<usize>(bytes), bytes.byteLength);
}

/** Records a metric sample (capability `metrics`). */
export function metric(name: string, value: f64): void {
  const bytes = utf8(name);
  forgeone_metric(changetype<usize>(bytes), bytes.byteLength, value);
}

/** Milliseconds since the Unix epoch, as the host fixed it for this call (capability `clock`). */
export function nowMs(): i64 {
  return forgeone_now_ms();
}

/** Unpacks a host answer written through forgeone_alloc; null (and hostStatus() < 0) on a negative result. */
function takeBytes(result: i64): Uint8Array | null {
  if (result < 0) {
    lastStatus = <i32>result;
    return null;
  }
  lastStatus = HostStatus.OK;
  const ptr = <usize>(<u64>result >>> 32);
  const len = <i32>(result & 0xffffffff);
  const out = new Uint8Array(len);
  memory.copy(out.dataStart, ptr, <usize>len);
  return out;
}

function takeString(result: i64): string | null {
  if (result < 0) {
    lastStatus = <i32>result;
    return null;
  }
  lastStatus = HostStatus.OK;
  return String.UTF8.decodeUnsafe(<usize>(<u64>result >>> 32), <usize>(result & 0xffffffff));
}

/** A configuration value, or null when the key is not set (capability `config`). */
export function configGet(key: string): string | null {
  const k = utf8(key);
  return takeString(forgeone_config_get(changetype<usize>(k), k.byteLength));
}

/** The stored bytes, or null when the key does not exist or the call failed: see hostStatus() (capability `storage`). */
export function kvGet(key: string): Uint8Array | null {
  const k = utf8(key);
  return takeBytes(forgeone_kv_get(changetype<usize>(k), k.byteLength));
}

/** The stored value decoded as UTF-8, or null like {@link kvGet}. */
export function kvGetString(key: string): string | null {
  const k = utf8(key);
  return takeString(forgeone_kv_get(changetype<usize>(k), k.byteLength));
}

/** Stores bytes under a key; returns a HostStatus (0 when stored, -6 over quota, -5 too large). kvPut returns a typed error instead. */
export function kvSet(key: string, value: Uint8Array): i32 {
  const k = utf8(key);
  lastStatus = forgeone_kv_set(changetype<usize>(k), k.byteLength, value.dataStart, value.byteLength);
  return lastStatus;
}

/** Stores a string (UTF-8) under a key; returns a HostStatus (0 when stored). */
export function kvSetString(key: string, value: string): i32 {
  const k = utf8(key);
  const v = utf8(value);
  lastStatus = forgeone_kv_set(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  return lastStatus;
}

/** Stores bytes under a key; null when stored, else the typed {@link StorageError} (capability `storage`). */
export function kvPut(key: string, value: Uint8Array): StorageError | null {
  return storageError(kvSet(key, value), key, value.byteLength);
}

/** Stores a string (UTF-8) under a key; null when stored, else the typed {@link StorageError}. */
export function kvPutString(key: string, value: string): StorageError | null {
  const v = utf8(value);
  const k = utf8(key);
  lastStatus = forgeone_kv_set(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  return storageError(lastStatus, key, v.byteLength);
}

/** Deletes a key; returns 0 when it existed, -1 when it did not, another HostStatus on failure. */
export function kvDelete(key: string): i32 {
  const k = utf8(key);
  lastStatus = forgeone_kv_delete(changetype<usize>(k), k.byteLength);
  return lastStatus;
}

/** Takes an answer the host wrote into memory (internal; used by the http wrapper). */
export function _takeString(result: i64): string | null {
  return takeString(result);
}

/**
 * Asks the host's policy whether the current caller may do `action` (a ForgeOne policy action such
 * as "invoke" or "install") on a resource (capability `auth`). Sends
 * `{"action":…,"resource":{"type":…,"id":…}}`; with no resource type the resource is this plugin.
 * `resourceType` is "Plugin", "Environment" or "Tenant". Returns 1 allowed, 0 refused, a negative
 * HostStatus when the host could not decide (treat anything but 1 as refused).
 */
export function authCheck(action: string, resourceType: string = "", resourceId: string = ""): i32 {
  let json = '{"action":' + jsonString(action);
  if (resourceType.length > 0) json += ',"resource":{"type":' + jsonString(resourceType) + ',"id":' + jsonString(resourceId) + "}";
  const request = utf8(json + "}");
  lastStatus = forgeone_auth_check(changetype<usize>(request), request.byteLength);
  return lastStatus;
}

/** A JSON string literal for `value` (quotes, backslashes and control characters escaped). */
export function jsonString(value: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += value.substring(from, i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    from = i + 1;
  }
  return out + value.substring(from) + '"';
}
