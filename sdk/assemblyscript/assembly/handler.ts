// Handler plumbing: decode the input the host wrote, run the plugin's function, pack the output.
import { error } from "./host";

let failed = false;

/**
 * Ends the handler with an error: the host reports `message` (SANDBOX.GUEST_ERROR) and ignores the
 * returned string. Use as `return fail("why")` inside a handler body.
 */
export function fail(message: string): string {
  error(message);
  failed = true;
  return "";
}

/** `(ptr << 32) | len`, the ABI's packing of a result that lives in guest memory. */
// @ts-ignore: decorator
@inline export function pack(ptr: usize, len: i32): i64 {
  return <i64>((<u64>ptr << 32) | <u64><u32>len);
}

/**
 * Runs a text handler: the input is decoded from UTF-8, the returned string is encoded to UTF-8 and
 * packed for the host; a handler that called {@link fail} returns -1.
 *
 *   export function redact(ptr: i32, len: i32): i64 {
 *     return handle(ptr, len, (input: string): string => input.toUpperCase());
 *   }
 */
export function handle(ptr: i32, len: i32, fn: (input: string) => string): i64 {
  failed = false;
  const output = fn(String.UTF8.decodeUnsafe(<usize>ptr, <usize>len));
  if (failed) return -1;
  const bytes = String.UTF8.encode(output);
  return pack(changetype<usize>(bytes), bytes.byteLength);
}

/** Like {@link handle} for binary input and output; call `fail` and return any array to report an error. */
export function handleBytes(ptr: i32, len: i32, fn: (input: Uint8Array) => Uint8Array): i64 {
  failed = false;
  const input = new Uint8Array(len);
  memory.copy(input.dataStart, <usize>ptr, <usize>len);
  const output = fn(input);
  if (failed) return -1;
  return pack(output.dataStart, output.byteLength);
}
