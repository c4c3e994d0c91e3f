// Which calls of a plugin version may run on the calling thread instead of a worker. A thread that is
// already awake answers a short call in microseconds; handing it to a sleeping worker costs two thread
// wake-ups (100-250 µs p50 on a loaded 2-core VM). Nothing can interrupt wasm on the calling thread, so
// a call runs there only under a fuel budget that bounds its time well under its deadline.
import { InstructionKind, WasmBinaryReader, WasmInstructionIterator, inspectWasmModule, readFunctionBody } from '@forgeone/plugin-abi';

/** Host functions answered on the calling thread without I/O; kv, http and auth need a worker (they block on the main thread). */
const SYNCHRONOUS_HOST_FUNCTIONS = new Set(['error', 'log', 'metric', 'now_ms', 'config_get']);

// Worst wall time one fuel unit can take, measured on the project's 2-core VMs: plain instructions
// with cache misses over a large memory stay under 50 ns; `memory.grow` is charged one unit but costs
// ~3.2 µs even when it grows by 0 pages (V8 replaces the memory's buffer), ~1.1 µs a unit with its operand.
const WORST_NS_PER_FUEL = 50;
const WORST_NS_PER_FUEL_WITH_GROW = 1_100;
// A page a successful grow adds, and a host call (a 4 KiB message decoded, a config value copied).
const WORST_NS_PER_GROWN_PAGE = 10_000;
const WORST_NS_PER_HOST_CALL = 10_000;
/** Most host calls an inline attempt may make before it is handed to a worker. */
export const INLINE_MAX_HOST_CALLS = 64;
/** Longest an inline attempt can hold the calling thread, in the worst case (a hostile module). */
export const INLINE_WORST_MS = 20;
// Below this many fuel units an inline attempt would rarely finish a call: not worth trying.
const MIN_INLINE_FUEL = 1_000;

export interface InlinePlan {
  /** Fuel an inline attempt gets; a call that needs more is run again in a worker with its whole budget. */
  readonly fuel: number;
  readonly maxHostCalls: number;
  /** Calls with a shorter deadline always go to a worker: an inline attempt is bounded only by fuel. */
  readonly minTimeoutMs: number;
}

/**
 * The inline plan of a module, or why it has none: a module whose time fuel does not bound (bulk
 * memory and table operations copy or fill any length for one unit), or that imports a host
 * function needing a worker, always runs in a worker.
 */
export function inlinePlanOf(wasm: Uint8Array, memoryMaxPages: number): InlinePlan | { readonly reason: string } {
  const info = inspectWasmModule(wasm);
  const blocking = info.imports.filter((i) => i.kind === 'function' && !SYNCHRONOUS_HOST_FUNCTIONS.has(i.name)).map((i) => i.name);
  if (blocking.length > 0) return { reason: `imports ${blocking.join(', ')}, answered only in a worker` };
  let grows = false;
  for (const fn of info.functions) {
    if (fn.imported) continue;
    const body = readFunctionBody(wasm, info, fn.index);
    const instructions = new WasmInstructionIterator(new WasmBinaryReader(body.instructions, 0, body.instructions.length, `body of function ${fn.index}`));
    while (!instructions.atEnd) {
      const kind = instructions.next();
      const { op, sub } = instructions.current;
      if (kind === InstructionKind.memoryGrow) grows = true;
      else if (op === 0xfc && sub >= 8 && sub <= 17) return { reason: 'uses bulk memory or table operations, whose time fuel does not bound' };
    }
  }
  const budgetNs = INLINE_WORST_MS * 1e6 - memoryMaxPages * WORST_NS_PER_GROWN_PAGE - INLINE_MAX_HOST_CALLS * WORST_NS_PER_HOST_CALL;
  const fuel = Math.floor(budgetNs / (grows ? WORST_NS_PER_FUEL_WITH_GROW : WORST_NS_PER_FUEL));
  if (fuel < MIN_INLINE_FUEL) return { reason: `its memory (${memoryMaxPages} pages) could take longer to grow than an inline call may run` };
  return { fuel, maxHostCalls: INLINE_MAX_HOST_CALLS, minTimeoutMs: 2 * INLINE_WORST_MS };
}
