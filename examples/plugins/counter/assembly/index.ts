// counter: counts calls per key in plugin storage (capability "storage").
// The input names the counter; the output is its new value.
import { fail, handle, hostStatus, HostStatus, kvGetString, kvSetString } from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

export function increment(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (name: string): string => {
    if (name.length == 0) return fail("increment needs a counter name as input");
    const key = "count:" + name;
    const stored = kvGetString(key);
    if (stored === null && hostStatus() != HostStatus.NOT_FOUND) {
      return fail("could not read counter " + name + " (host status " + hostStatus().toString() + ")");
    }
    const next = (stored === null ? 0 : I64.parseInt(stored)) + 1;
    const status = kvSetString(key, next.toString());
    if (status != HostStatus.OK) return fail("could not store counter " + name + " (host status " + status.toString() + ")");
    return next.toString();
  });
}
