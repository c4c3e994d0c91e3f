// @forgeone/plugin-sdk-assemblyscript: write ForgeOne plugins (ABI v1) in AssemblyScript.
// A plugin's entry file re-exports the ABI functions and exports its handlers:
//
//   export { forgeone_abi_version, forgeone_alloc } from "@forgeone/plugin-sdk-assemblyscript";
//   export function greet(ptr: i32, len: i32): i64 {
//     return handle(ptr, len, (name: string): string => "hello, " + name);
//   }
//
// Compile with: asc assembly/index.ts --runtime stub --initialMemory 1 --maximumMemory <16 × memoryMiB>
//   --use abort=~lib/@forgeone/plugin-sdk-assemblyscript/assembly/abi/forgeone_abort -O3 --noAssert -o plugin.wasm
// (README.md explains each option.)
export { forgeone_abi_version, forgeone_alloc, forgeone_abort } from "./abi";
export { handle, handleBytes, fail, pack } from "./handler";
export {
  HostStatus,
  LogLevel,
  hostStatus,
  error,
  log,
  metric,
  nowMs,
  configGet,
  kvGet,
  kvGetString,
  kvSet,
  kvSetString,
  kvPut,
  kvPutString,
  kvDelete,
  storageError,
  StorageError,
  StorageQuotaExceeded,
  StorageValueTooLarge,
  StorageDenied,
  StorageFailed,
  authCheck,
  jsonString,
} from "./host";
export { HttpRequest, HttpResponse, httpRequest, parseHttpResponse } from "./http";
