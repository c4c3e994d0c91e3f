// The exports every ForgeOne plugin needs (ABI v1). A plugin's entry file re-exports them:
//   export { forgeone_abi_version, forgeone_alloc } from "@forgeone/plugin-sdk-assemblyscript";
// Build with `--runtime stub`: each call runs on a fresh instance, so memory is never freed and the
// smallest allocator is the right one.
import { forgeone_error } from "./imports";

/** The plugin ABI version; its body must stay the constant `i32.const 1` (the registry checks). */
export function forgeone_abi_version(): i32 {
  return 1;
}

// Header the stub runtime keeps in front of every block, and its alignment (std/assembly/rt/common.ts).
const BLOCK_OVERHEAD: usize = 4;
const AL_MASK: usize = 15;
const BLOCK_MAXSIZE: usize = (1 << 30) - BLOCK_OVERHEAD;

/**
 * Allocates `size` bytes for the host (the input, host call answers). Returns 0 when memory cannot
 * grow that far, as the ABI requires; the runtime's own allocator would trap instead, so the memory is
 * grown here first and the runtime then finds it large enough.
 */
export function forgeone_alloc(size: i32): usize {
  if (size < 0 || <usize>size > BLOCK_MAXSIZE) return 0;
  // Where the next block goes: allocating and freeing the last block leaves the bump offset unchanged.
  const probe = heap.alloc(0);
  heap.free(probe);
  const end = probe + (((<usize>size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD);
  const available = <usize>memory.size() << 16;
  if (end > available) {
    const pages = <i32>((end - available + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  return heap.alloc(<usize>size);
}

/**
 * Replaces AssemblyScript's `env.abort` import (`--use abort=...`): reports the failed assertion or
 * `throw` through `forgeone.error`, then traps, so a plugin imports nothing outside `forgeone`.
 */
export function forgeone_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = message !== null ? message : "abort";
  if (fileName !== null) text += " (" + fileName + ":" + line.toString() + ":" + column.toString() + ")";
  const bytes = String.UTF8.encode(text);
  forgeone_error(changetype<usize>(bytes), bytes.byteLength);
  unreachable();
}
