// Writes plugin storage through the SDK's kvPut and reports its typed errors, for the sandbox-runner's
// storage quota tests (apps/sandbox-runner/test).
import {
  fail, handle, kvDelete, kvPut, StorageDenied, StorageError, StorageQuotaExceeded, StorageValueTooLarge,
} from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

// The kind comes from instanceof, not from the error's name field: the typed classes are what is tested.
function describe(error: StorageError): string {
  let kind = "StorageFailed";
  if (error instanceof StorageQuotaExceeded) kind = "StorageQuotaExceeded";
  else if (error instanceof StorageValueTooLarge) kind = "StorageValueTooLarge";
  else if (error instanceof StorageDenied) kind = "StorageDenied";
  return kind + " " + error.status.toString() + ": " + error.message;
}

// "<count>:<size>:<prefix>": stores <count> values of <size> bytes under <prefix>0, <prefix>1, ...
// until the host refuses one; answers "stored <n>" and, after a refusal, the typed error.
export function fill(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (input: string): string => {
    const parts = input.split(":");
    if (parts.length != 3) return fail("fill expects <count>:<size>:<prefix>");
    const count = I32.parseInt(parts[0]);
    const size = I32.parseInt(parts[1]);
    for (let i = 0; i < count; i++) {
      const error = kvPut(parts[2] + i.toString(), new Uint8Array(size));
      if (error !== null) return "stored " + i.toString() + "; " + describe(error);
    }
    return "stored " + count.toString();
  });
}

// "<key>:<size>": stores one value of <size> bytes; answers "ok" or the typed error.
export function put(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (input: string): string => {
    const colon = input.lastIndexOf(":");
    if (colon < 1) return fail("put expects <key>:<size>");
    const error = kvPut(input.substring(0, colon), new Uint8Array(I32.parseInt(input.substring(colon + 1))));
    return error === null ? "ok" : describe(error);
  });
}

// Deletes a key; answers the host status (0 deleted, -1 did not exist).
export function remove(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (key: string): string => kvDelete(key).toString());
}
