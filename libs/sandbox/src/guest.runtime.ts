// The ABI v1 call sequence, shared by the inline path and the worker threads.
// `createGuestRuntime` must stay self-contained (no imports, no outer references, no dynamic import):
// the worker runs its source text, so everything it needs is declared inside it. That is also why this
// file is over 400 lines: the call, the host functions and the snapshot reset cannot live in other modules.

/** The code of an outcome abandoned at `maxHostCalls`: never a caller's answer (the inline path reruns the call in a worker). */
export const INLINE_ABANDONED = 'SANDBOX.HOST_CALL_CAP';

/** One call as the runtime sees it; plain data so it can cross a worker boundary. */
export interface GuestCallRequest {
  readonly handler: string;
  readonly input: Uint8Array;
  readonly fuel: number;
  readonly maxOutputBytes: number;
  /** Host functions this call may use (`error` is always allowed). */
  readonly granted: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly nowMs: number;
  readonly memoryMaxPages: number;
  /** Most host calls (error included) before the call is abandoned with {@link INLINE_ABANDONED}; unbounded when absent. */
  readonly maxHostCalls?: number;
}

/** Answers the asynchronous host functions synchronously (the worker blocks; the inline path refuses). */
export interface GuestHostBridge {
  call(fn: string, args: readonly Uint8Array[]): { status: number; data: Uint8Array | undefined };
}

export interface GuestCallOutcome {
  readonly ok: boolean;
  readonly output?: Uint8Array;
  /** A `SANDBOX.*` code (or another ForgeOne code) when not ok. */
  readonly code?: string;
  readonly message?: string;
  readonly details?: Record<string, unknown>;
  readonly fuelUsed: number;
  /** Size of the instance's memory when the call ended, in bytes: its high-water mark, since memory never shrinks (0: no instance ran). */
  readonly memoryBytes?: number;
  readonly logs: { level: number; message: string }[];
  readonly metrics: { name: string; value: number }[];
}

/** What the host knows about a metered module's state (MeteredWasmModule.reset in @forgeone/plugin-abi). */
export interface GuestModulePlan {
  /** When false every call gets a fresh instance. */
  readonly resettable: boolean;
  /** Exported mutable globals to restore between calls. */
  readonly globals: readonly string[];
  /**
   * How `__forgeone_written` records a call's writes (MeteredWasmModule.reset.writeTracking):
   * the OR of the addresses written, one bit per bucket of `2 ** shift` bytes (32 buckets), or the
   * OR of the sign-folded distances of the addresses from `pivot`.
   */
  readonly writeTracking:
    | { readonly kind: 'high-water' }
    | { readonly kind: 'buckets'; readonly shift: number }
    | { readonly kind: 'distance'; readonly pivot: number };
}

export interface GuestRuntime {
  /** Runs one call. The instance it used is reset by {@link recycle}, or before the next call at the latest. */
  invoke(module: unknown, plan: GuestModulePlan, request: GuestCallRequest, bridge: GuestHostBridge): GuestCallOutcome;
  /** Returns the last call's instance to its pristine state (off the caller's critical path when called after replying). */
  recycle(): void;
  /** Drops the instance kept for a module (its version was unloaded). */
  forget(module: unknown): void;
}

/** Builds the runtime; see the file comment for why it is one closed function. */
export function createGuestRuntime(): GuestRuntime {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const MAX_MESSAGE_BYTES = 4096;
  // The value of INLINE_ABANDONED: the worker runs this function's source, so it names nothing outside it.
  const HOST_CALL_CAP = 'SANDBOX.HOST_CALL_CAP';
  const MAX_LOG_ENTRIES = 256;
  const MAX_METRICS = 256;
  const PAGE = 65536;
  // Up to this many bytes a restore copies the snapshot in one go; a fill is cheaper than a copy only for long zero runs.
  const SINGLE_COPY_BYTES = 16384;
  // Exports added by the metering rewriter (METERING_EXPORTS in @forgeone/plugin-abi).
  const FUEL = '__forgeone_fuel';
  const OUT_OF_FUEL = '__forgeone_out_of_fuel';
  const GROW_REFUSED = '__forgeone_grow_refused';
  const START = '__forgeone_start';
  const WRITTEN = '__forgeone_written';

  interface WasmApi {
    Instance: new (module: unknown, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
    RuntimeError: new () => Error;
  }
  interface Fault extends Error {
    sandboxCode: string;
    details?: Record<string, unknown>;
  }
  interface WasmGlobal {
    value: unknown;
  }
  interface GuestExports {
    memory: { buffer: ArrayBuffer };
    forgeone_abi_version(): number;
    forgeone_alloc(size: number): number;
    [FUEL]: { value: bigint };
    [OUT_OF_FUEL]: { value: number };
    [GROW_REFUSED]: { value: number };
    [WRITTEN]: { value: number };
    [START]?: () => void;
    [handler: string]: unknown;
  }
  /** The state of the call in progress; the import functions of an instance read it, so they are built once per instance. */
  interface CallState {
    request: GuestCallRequest;
    bridge: GuestHostBridge;
    granted: Set<string>;
    logs: { level: number; message: string }[];
    metrics: { name: string; value: number }[];
    guestError: string | undefined;
    droppedLogs: number;
    /** Host functions called (other than error); a start function that calls any cannot be snapshotted. */
    hostCalls: number;
    /** Host functions called, error included, counted against request.maxHostCalls. */
    allCalls: number;
  }
  /** A non-zero range of a snapshot, with its bytes. */
  interface Island {
    readonly from: number;
    readonly to: number;
    readonly bytes: Uint8Array;
  }
  /**
   * An instance kept between calls of one module. After instantiation and the start function, its
   * memory and mutable globals are snapshotted; after each call they are restored, so every call sees
   * exactly what a fresh instance would, without paying for one (~10-50 µs) per call.
   */
  interface Warm {
    readonly exports: GuestExports;
    readonly holder: Holder;
    readonly snapshot: Uint8Array;
    /**
     * A view of the whole memory, made once: the memory's buffer changes only when it grows, and an
     * instance whose memory grew is dropped (its old buffer is then detached, of length 0).
     */
    readonly memory: Uint8Array;
    /** Where the snapshot is not zero, as sorted [start, end) ranges: copied back; the rest is filled with zeros. */
    readonly islands: readonly Island[];
    readonly globals: { readonly global: WasmGlobal; readonly value: unknown }[];
    /** Fuel the start function used; charged to every call as a fresh instance would. */
    readonly startFuel: bigint;
    /** `budget - startFuel` for the budget last asked for: the balance a call starts with (BigInt arithmetic allocates). */
    chargedFor: bigint;
    charged: bigint;
    dirty: boolean;
    /** The range last restored by one copy, and its view of the snapshot: calls of one handler restore the same range. */
    copiedFrom: number;
    copiedTo: number;
    copiedView: Uint8Array | undefined;
    /** What the guest's write record held at the last restore (see restore). */
    guestWritten: number;
    // The exports a call touches, looked up once: an instance's exports object answers a named load
    // through the generic load path, not an inline cache, and a call makes half a dozen of them.
    readonly fuel: { value: bigint };
    readonly written: { value: number };
    readonly growRefused: { value: number };
    readonly alloc: (size: number) => number;
    /** The handler last called on this instance, and its export. */
    handlerName: string | undefined;
    handlerFn: unknown;
  }

  /** What an instance's imports read: its exports and the call in progress. */
  interface Holder {
    exports: GuestExports | undefined;
    current: CallState | undefined;
    /** Where the host copied data in since the last reset, as the guest's tracker records it (see markHostWrite). */
    hostWritten: number;
    /**
     * 0: a high-water mark; otherwise the bytes per bit of a bucket bitmap; -1: nothing is known (the
     * memory outgrew the 32 buckets before the snapshot), restore everything; -2: distances from `pivot`.
     */
    bucketBytes: number;
    /** Where distances are measured from (bucketBytes -2). */
    pivot: number;
  }

  const warm = new Map<unknown, Warm>();
  const grantedSets = new WeakMap<readonly string[], Set<string>>();
  // The last call's instance, restored by recycle (two variables: no object per call).
  let lastModule: unknown;
  let lastWarm: Warm | undefined;
  // The budget as a BigInt, kept while calls ask for the same fuel (the common case).
  let lastFuel = -1;
  let lastBudget = 0n;

  function fault(code: string, message: string, details?: Record<string, unknown>): Fault {
    const error = new Error(message) as Fault;
    error.sandboxCode = code;
    if (details !== undefined) error.details = details;
    return error;
  }

  // The last grant and its set: calls of one plugin pass the same array, so most calls skip the WeakMap.
  let lastGranted: readonly string[] | undefined;
  let lastGrantedSet: Set<string> | undefined;

  function grantedSet(granted: readonly string[]): Set<string> {
    if (granted === lastGranted) return lastGrantedSet!;
    let set = grantedSets.get(granted);
    if (set === undefined) {
      set = new Set(granted);
      grantedSets.set(granted, set);
    }
    lastGranted = granted;
    lastGrantedSet = set;
    return set;
  }

  function newCallState(request: GuestCallRequest, bridge: GuestHostBridge): CallState {
    return { request, bridge, granted: grantedSet(request.granted), logs: [], metrics: [], guestError: undefined, droppedLogs: 0, hostCalls: 0, allCalls: 0 };
  }

  /** The `forgeone` imports of one instance, reading the call in progress from `holder`. */
  function importsFor(holder: Holder): Record<string, Record<string, unknown>> {
    const call = (): CallState => holder.current!;
    const memoryBytes = (): number => (holder.exports === undefined ? 0 : holder.exports.memory.buffer.byteLength);
    const read = (ptr: number, len: number, what: string): Uint8Array => {
      const start = ptr >>> 0;
      const length = len >>> 0;
      if (start + length > memoryBytes()) {
        throw fault('SANDBOX.OUT_OF_BOUNDS', `the plugin passed ${what} at [${start}, ${start + length}) but its memory is ${memoryBytes()} bytes`, {
          ptr: start,
          len: length,
          memoryBytes: memoryBytes(),
        });
      }
      return new Uint8Array(holder.exports!.memory.buffer, start, length).slice();
    };
    const text = (ptr: number, len: number, what: string): string => decoder.decode(read(ptr, Math.min(len >>> 0, MAX_MESSAGE_BYTES), what));
    // Past the cap the call is abandoned (the inline path reruns it in a worker): a host call costs
    // microseconds against a fuel unit's nanoseconds, so fuel alone does not bound its time.
    const counted = (c: CallState): CallState => {
      const max = c.request.maxHostCalls;
      if (max !== undefined && ++c.allCalls > max) throw fault(HOST_CALL_CAP, `the plugin made more than ${max} host calls`, { maxHostCalls: max });
      return c;
    };
    const guard = (fn: string, capability: string): CallState => {
      const c = counted(call());
      if (!c.granted.has(fn)) {
        throw fault('SANDBOX.CAPABILITY_DENIED', `the plugin called forgeone.${fn}, which needs the "${capability}" capability, and it is not granted for this call`, {
          hostFunction: fn,
          capability,
        });
      }
      c.hostCalls++;
      return c;
    };
    // Copies host data into guest memory through forgeone_alloc and packs (ptr << 32) | len.
    const give = (data: Uint8Array): bigint => {
      const ptr = holder.exports!.forgeone_alloc(data.length) >>> 0;
      if (ptr === 0 && data.length > 0) return -4n;
      if (ptr + data.length > memoryBytes()) {
        throw fault('SANDBOX.OUT_OF_BOUNDS', `forgeone_alloc returned ${ptr} for ${data.length} bytes, beyond the plugin's memory (${memoryBytes()} bytes)`);
      }
      new Uint8Array(holder.exports!.memory.buffer, ptr, data.length).set(data);
      markHostWrite(holder, ptr, data.length);
      return (BigInt(ptr) << 32n) | BigInt(data.length);
    };
    return {
      forgeone: {
        error(ptr: number, len: number): void {
          counted(call()).guestError = text(ptr, len, 'an error message');
        },
        log(level: number, ptr: number, len: number): void {
          const c = guard('log', 'log');
          const message = text(ptr, len, 'a log message');
          if (c.logs.length < MAX_LOG_ENTRIES) c.logs.push({ level, message });
          else c.droppedLogs++;
        },
        metric(namePtr: number, nameLen: number, value: number): void {
          const c = guard('metric', 'metrics');
          const name = text(namePtr, nameLen, 'a metric name');
          if (c.metrics.length < MAX_METRICS) c.metrics.push({ name, value });
        },
        now_ms(): bigint {
          return BigInt(Math.floor(guard('now_ms', 'clock').request.nowMs));
        },
        config_get(keyPtr: number, keyLen: number): bigint {
          const { config } = guard('config_get', 'config').request;
          const key = text(keyPtr, keyLen, 'a config key');
          const value = Object.prototype.hasOwnProperty.call(config, key) ? config[key] : undefined;
          return value === undefined ? -1n : give(encoder.encode(value));
        },
        kv_get(keyPtr: number, keyLen: number): bigint {
          const r = guard('kv_get', 'storage').bridge.call('kv_get', [read(keyPtr, keyLen, 'a storage key')]);
          return r.status === 0 ? give(r.data ?? new Uint8Array(0)) : BigInt(r.status);
        },
        kv_set(keyPtr: number, keyLen: number, valuePtr: number, valueLen: number): number {
          const c = guard('kv_set', 'storage');
          return c.bridge.call('kv_set', [read(keyPtr, keyLen, 'a storage key'), read(valuePtr, valueLen, 'a storage value')]).status;
        },
        kv_delete(keyPtr: number, keyLen: number): number {
          return guard('kv_delete', 'storage').bridge.call('kv_delete', [read(keyPtr, keyLen, 'a storage key')]).status;
        },
        http_request(reqPtr: number, reqLen: number): bigint {
          const r = guard('http_request', 'http').bridge.call('http_request', [read(reqPtr, reqLen, 'an HTTP request')]);
          return r.status === 0 ? give(r.data ?? new Uint8Array(0)) : BigInt(r.status);
        },
        auth_check(reqPtr: number, reqLen: number): number {
          return guard('auth_check', 'auth').bridge.call('auth_check', [read(reqPtr, reqLen, 'an authorisation request')]).status;
        },
      },
    };
  }

  /** Records a host copy of [ptr, ptr + length): its end as a high-water mark, the bits of the buckets it touches, or the distances of its ends. */
  function markHostWrite(holder: Holder, ptr: number, length: number): void {
    if (length === 0 || holder.bucketBytes === -1) return;
    if (holder.bucketBytes === -2) {
      const first = ptr - holder.pivot;
      const last = ptr + length - 1 - holder.pivot;
      holder.hostWritten |= (first ^ (first >> 31)) | (last ^ (last >> 31));
      return;
    }
    if (holder.bucketBytes === 0) {
      if (ptr + length > holder.hostWritten) holder.hostWritten = ptr + length;
      return;
    }
    const first = Math.floor(ptr / holder.bucketBytes);
    const last = Math.floor((ptr + length - 1) / holder.bucketBytes);
    holder.hostWritten |= last >= 31 ? -1 << first : ((1 << (last + 1)) - 1) & (-1 << first);
  }

  /**
   * Returns bytes [start, end) of a warm instance's memory to the snapshot: a short range in one copy,
   * a long one by copying its islands and zero-filling between them.
   */
  function restoreRange(w: Warm, memory: Uint8Array, start: number, end: number): void {
    if (end - start <= SINGLE_COPY_BYTES) {
      // One builtin call instead of a fill and a copy per island (each ~20 ns), with a view made once per range.
      if (start !== w.copiedFrom || end !== w.copiedTo || w.copiedView === undefined) {
        w.copiedFrom = start;
        w.copiedTo = end;
        w.copiedView = w.snapshot.subarray(start, end);
      }
      memory.set(w.copiedView, start);
      return;
    }
    let at = start;
    for (const island of w.islands) {
      const { from, to } = island;
      if (to <= at) continue;
      if (from >= end) break;
      const copyFrom = Math.max(from, at);
      const copyTo = Math.min(to, end);
      if (copyFrom > at) memory.fill(0, at, copyFrom);
      // A whole island (the usual case) is copied from its view, made once: no subarray per call.
      memory.set(copyFrom === from && copyTo === to ? island.bytes : w.snapshot.subarray(copyFrom, copyTo), copyFrom);
      at = copyTo;
    }
    if (at < end) memory.fill(0, at, end);
  }

  /**
   * The non-zero ranges of a snapshot, 4-byte aligned, with gaps under 1 KiB merged (a fill that
   * short is no cheaper than a copy); at most 256 of them, else one range from the first non-zero
   * byte to the last.
   */
  function islandsOf(snapshot: Uint8Array): Island[] {
    const words = new Uint32Array(snapshot.buffer, snapshot.byteOffset, snapshot.length >>> 2);
    const islands: [number, number][] = [];
    for (let i = 0; i < words.length; i++) {
      if (words[i] === 0) continue;
      const from = i * 4;
      while (i + 1 < words.length && words[i + 1] !== 0) i++;
      const to = (i + 1) * 4;
      const last = islands[islands.length - 1];
      if (last !== undefined && from - last[1] < 1024) last[1] = to;
      else islands.push([from, to]);
    }
    const ranges = islands.length > 256 ? [[islands[0][0], islands[islands.length - 1][1]]] : islands;
    return ranges.map(([from, to]) => ({ from, to, bytes: snapshot.subarray(from, to) }));
  }

  /**
   * Restores a warm instance; false when it cannot be (its memory grew) and must be dropped.
   * Only what the call can have written is restored: memory below its high-water mark, or the
   * buckets it wrote, each with the 7 bytes a store starting in it may reach into the next. The
   * guest's writes are tracked by the metering rewriter, the host's copies by the holder.
   */
  function restore(w: Warm): boolean {
    const memory = w.memory;
    // A memory that grew detached the view's buffer, and a detached view has length 0 (cheaper than reading
    // its buffer); a memory of 0 pages has an empty view either way, so its growth is read from the memory.
    if (memory.length !== w.snapshot.length || (memory.length === 0 && w.exports.memory.buffer.byteLength !== 0)) return false;
    const written = w.written;
    const { bucketBytes } = w.holder;
    const guest = written.value;
    const host = w.holder.hostWritten;
    // The guest's record is an OR, so left alone it still covers every write since it was cleared: it is
    // cleared only when it changed (one global write fewer per call while calls write the same places),
    // so a far write widens the next restores once, not for good.
    if (guest !== w.guestWritten) {
      written.value = 0;
      w.guestWritten = guest;
    }
    w.holder.hostWritten = 0;
    if (bucketBytes === 0) {
      // A store at the mark writes at most 8 bytes from it (a mark of 0 may be a store at 0); a bulk write ends at it.
      restoreRange(w, memory, 0, Math.min(memory.length, Math.max((guest >>> 0) + 8, host)));
    } else if (bucketBytes === -2 && (guest | host) !== -1) {
      // Every write lies within this distance of the pivot (a store runs up to 7 bytes past its address).
      const distance = guest | host;
      const { pivot } = w.holder;
      restoreRange(w, memory, Math.max(0, pivot - distance - 1), Math.min(memory.length, pivot + distance + 8));
    } else if (bucketBytes < 0 || (guest | host) === -1) {
      restoreRange(w, memory, 0, memory.length);
    } else {
      const bits = guest | host;
      for (let i = 0; i < 32; i++) {
        if ((bits & (1 << i)) === 0) continue;
        let j = i + 1;
        while (j < 32 && (bits & (1 << j)) !== 0) j++;
        restoreRange(w, memory, i * bucketBytes, Math.min(memory.length, j * bucketBytes + 8));
        i = j;
      }
    }
    for (const g of w.globals) g.global.value = g.value;
    // OUT_OF_FUEL needs no reset: the rewriter sets it only right before a trap, and an instance that trapped is never reused.
    // GROW_REFUSED is raised only with the guest's record set to all ones (writeGrowCheck in @forgeone/plugin-abi).
    if (guest === -1) w.growRefused.value = 0;
    w.dirty = false;
    return true;
  }

  function recycle(): void {
    const last = lastWarm;
    const module = lastModule;
    lastWarm = undefined;
    lastModule = undefined;
    if (last === undefined || !last.dirty) return;
    if (!restore(last) && warm.get(module) === last) warm.delete(module);
  }

  /**
   * A view of the whole memory: a warm instance's own, made once, while its buffer is the memory's
   * (a memory that grew detached it, and a detached view has length 0); else a new one.
   */
  function memoryView(w: Warm | undefined, exports: GuestExports): Uint8Array {
    return w !== undefined && w.memory.length !== 0 ? w.memory : new Uint8Array(exports.memory.buffer);
  }

  /** Fuel a call used: its whole budget when it ran out (the counter went below zero). */
  function fuelUsed(exports: GuestExports | undefined, budget: bigint): number {
    if (exports === undefined) return 0;
    return fuelLeftUsed(exports[FUEL].value, budget);
  }

  function fuelLeftUsed(left: bigint, budget: bigint): number {
    if (left < 0n) return Number(budget);
    // Subtracted as numbers (a BigInt difference allocates), exact while 0 <= left <= budget <= 2^53 - 1.
    return budget <= 9007199254740991n ? Number(budget) - Number(left) : Number(budget - left);
  }

  function noteDroppedLogs(state: CallState): void {
    if (state.droppedLogs > 0) state.logs.push({ level: 2, message: `${state.droppedLogs} more log entries were dropped (limit ${MAX_LOG_ENTRIES} per call)` });
  }

  // Outcomes are literals of one shape: spreading them was a third of a small call's cost.
  function succeeded(state: CallState, fuelLeft: bigint, budget: bigint, memoryBytes: number, output: Uint8Array): GuestCallOutcome {
    noteDroppedLogs(state);
    return { ok: true, output, fuelUsed: fuelLeftUsed(fuelLeft, budget), memoryBytes, logs: state.logs, metrics: state.metrics };
  }

  function failed(state: CallState, exports: GuestExports | undefined, budget: bigint, code: string, message: string, details?: Record<string, unknown>): GuestCallOutcome {
    noteDroppedLogs(state);
    return { ok: false, code, message, details, fuelUsed: fuelUsed(exports, budget), memoryBytes: exports === undefined ? 0 : exports.memory.buffer.byteLength, logs: state.logs, metrics: state.metrics };
  }

  function fuelExhausted(state: CallState, exports: GuestExports | undefined, budget: bigint, fuel: number): GuestCallOutcome {
    return failed(state, exports, budget, 'SANDBOX.FUEL_EXHAUSTED', `the plugin used its whole fuel budget of ${fuel} instructions; raise limits.fuel or make the handler do less work per call`, { fuel });
  }

  function invoke(module: unknown, plan: GuestModulePlan, request: GuestCallRequest, bridge: GuestHostBridge): GuestCallOutcome {
    recycle();
    if (request.fuel !== lastFuel) {
      lastFuel = request.fuel;
      lastBudget = BigInt(request.fuel);
    }
    const budget = lastBudget;
    const state = newCallState(request, bridge);
    let reused = plan.resettable ? warm.get(module) : undefined;
    if (reused !== undefined && reused.dirty && !restore(reused)) {
      warm.delete(module);
      reused = undefined;
    }
    // Failures are built by failed(state, exports, budget, ...) in place: closures over this frame
    // would be allocated on every call, a context for its variables with them.
    let exports: GuestExports | undefined;
    let current: Warm | undefined;
    let ok = false;
    try {
      if (reused !== undefined) {
        current = reused;
        exports = reused.exports;
        reused.holder.current = state;
        // Fuel the call is charged before its handler runs: the start function's, as on a fresh instance.
        if (reused.startFuel > budget) {
          exports[FUEL].value = -1n;
          return fuelExhausted(state, exports, budget, request.fuel);
        }
        if (reused.chargedFor !== budget) {
          reused.chargedFor = budget;
          reused.charged = budget - reused.startFuel;
        }
        reused.fuel.value = reused.charged;
      } else {
        const holder: Holder = { exports: undefined, current: state, hostWritten: 0, bucketBytes: 0, pivot: 0 };
        const instance = new wasm.Instance(module, importsFor(holder));
        exports = instance.exports as unknown as GuestExports;
        holder.exports = exports;
        exports[FUEL].value = budget;
        const start = exports[START];
        if (typeof start === 'function') start();
        const version = exports.forgeone_abi_version();
        if (version !== 1) {
          return failed(state, exports, budget, 'REGISTRY.ABI_MISMATCH', `the plugin reports ABI version ${version}; this host runs ABI 1`, { abi: version });
        }
        if (plan.resettable && state.hostCalls === 0 && exports[FUEL].value >= 0n) {
          // forgeone_abi_version ran too; its fuel belongs to every call like the start function's.
          const startFuel = budget - exports[FUEL].value;
          const snapshot = new Uint8Array(exports.memory.buffer).slice();
          // What the start function wrote is in the snapshot; tracking starts from here. A grow the start
          // function was refused leaves the record all ones, so the first restore clears its flag (see restore).
          exports[WRITTEN].value = exports[GROW_REFUSED].value === 1 ? -1 : 0;
          holder.hostWritten = 0;
          // 32 buckets must cover the memory, or a bit could stand for two places (see GuestModulePlan).
          const tracking = plan.writeTracking;
          if (tracking.kind === 'distance') {
            holder.bucketBytes = -2;
            holder.pivot = tracking.pivot;
          } else {
            holder.bucketBytes = tracking.kind === 'high-water' ? 0 : snapshot.length <= 32 * 2 ** tracking.shift ? 2 ** tracking.shift : -1;
          }
          current = {
            exports,
            holder,
            snapshot,
            memory: new Uint8Array(exports.memory.buffer),
            islands: islandsOf(snapshot),
            globals: plan.globals.map((name) => {
              const global = exports![name] as WasmGlobal;
              return { global, value: global.value };
            }),
            startFuel,
            chargedFor: budget,
            charged: budget - startFuel,
            dirty: false,
            copiedFrom: 0,
            copiedTo: 0,
            copiedView: undefined,
            guestWritten: 0,
            fuel: exports[FUEL],
            written: exports[WRITTEN],
            growRefused: exports[GROW_REFUSED],
            alloc: exports.forgeone_alloc,
            handlerName: undefined,
            handlerFn: undefined,
          };
          warm.set(module, current);
        }
      }
      let handler: unknown;
      if (current !== undefined) {
        current.dirty = true;
        if (current.handlerName !== request.handler) {
          current.handlerName = request.handler;
          current.handlerFn = exports[request.handler];
        }
        handler = current.handlerFn;
      } else handler = exports[request.handler];
      if (typeof handler !== 'function') {
        return failed(state, exports, budget, 'SANDBOX.NOT_FOUND', `the plugin does not export a handler named ${request.handler}`);
      }
      const input = request.input;
      const inPtr = (current !== undefined ? current.alloc(input.length) : exports.forgeone_alloc(input.length)) >>> 0;
      if (inPtr === 0 && input.length > 0) {
        return failed(state, exports, budget, 'SANDBOX.MEMORY_LIMIT', `the plugin could not allocate ${input.length} bytes for the input within its memory limit (${request.memoryMaxPages} pages of 64 KiB)`, {
          inputBytes: input.length,
          memoryMaxPages: request.memoryMaxPages,
        });
      }
      const inMemory = memoryView(current, exports);
      if (inPtr + input.length > inMemory.length) {
        return failed(state, exports, budget, 'SANDBOX.OUT_OF_BOUNDS', `forgeone_alloc returned ${inPtr} for ${input.length} input bytes, beyond the plugin's memory (${inMemory.length} bytes)`);
      }
      inMemory.set(input, inPtr);
      if (current !== undefined) markHostWrite(current.holder, inPtr, input.length);
      const result = (handler as (ptr: number, len: number) => bigint)(inPtr, input.length);
      // Read once: each read of an i64 global makes a BigInt.
      const fuelLeft = (current !== undefined ? current.fuel : exports[FUEL]).value;
      if (fuelLeft < 0n) return fuelExhausted(state, exports, budget, request.fuel);
      if (result < 0n) {
        ok = true;
        const detail = exports[GROW_REFUSED].value === 1 ? { result: Number(result), memoryGrowRefused: true } : { result: Number(result) };
        return failed(state, exports, budget, 'SANDBOX.GUEST_ERROR', state.guestError ?? `${request.handler} failed with code ${result} and reported no message`, detail);
      }
      // Below 2^53 the result converts exactly, and unpacking it as a number makes no BigInts (two per call).
      const packed = Number(result);
      const outPtr = packed < 2 ** 53 ? Math.floor(packed / 2 ** 32) : Number(result >> 32n);
      const outLen = packed < 2 ** 53 ? packed % 2 ** 32 : Number(result & 0xffffffffn);
      if (outLen > request.maxOutputBytes) {
        return failed(state, exports, budget, 'SANDBOX.OUTPUT_TOO_LARGE', `${request.handler} returned ${outLen} bytes; the limit is ${request.maxOutputBytes} (limits.maxOutputBytes)`, {
          outputBytes: outLen,
          maxOutputBytes: request.maxOutputBytes,
        });
      }
      // Taken again: the handler may have grown the memory.
      const outMemory = memoryView(current, exports);
      if (outPtr + outLen > outMemory.length) {
        return failed(state, exports, budget, 'SANDBOX.OUT_OF_BOUNDS', `${request.handler} returned output at [${outPtr}, ${outPtr + outLen}) but the plugin's memory is ${outMemory.length} bytes`, {
          ptr: outPtr,
          len: outLen,
          memoryBytes: outMemory.length,
        });
      }
      ok = true;
      return succeeded(state, fuelLeft, budget, outMemory.length, outMemory.slice(outPtr, outPtr + outLen));
    } catch (error) {
      return caught(error, state, exports, budget, request);
    } finally {
      if (current !== undefined) {
        current.holder.current = undefined;
        // A call that trapped or broke a limit may have left the instance mid-way: never reuse it.
        if (ok) {
          lastModule = module;
          lastWarm = current;
        } else if (warm.get(module) === current) warm.delete(module);
      }
    }
  }

  /** The outcome of a call that threw: a host fault, running out of fuel, a stack overflow, the memory limit, an abort or a trap. */
  function caught(error: unknown, state: CallState, exports: GuestExports | undefined, budget: bigint, request: GuestCallRequest): GuestCallOutcome {
    const f = error as Partial<Fault>;
    if (typeof f.sandboxCode === 'string') return failed(state, exports, budget, f.sandboxCode, f.message ?? f.sandboxCode, f.details);
    if (exports !== undefined && exports[OUT_OF_FUEL].value === 1) return fuelExhausted(state, exports, budget, request.fuel);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof RangeError && /call stack/i.test(message)) {
      return failed(state, exports, budget, 'SANDBOX.STACK_OVERFLOW', `the plugin exceeded the call stack (deep or unbounded recursion): ${message}`);
    }
    if (exports !== undefined && error instanceof wasm.RuntimeError) {
      const pages = exports.memory.buffer.byteLength / PAGE;
      if (exports[GROW_REFUSED].value === 1 || pages >= request.memoryMaxPages) {
        return failed(state, exports, budget, 'SANDBOX.MEMORY_LIMIT', `the plugin trapped (${message}) after reaching its memory limit of ${request.memoryMaxPages} pages of 64 KiB; raise limits.memoryMiB or use less memory`, {
          memoryPages: pages,
          memoryMaxPages: request.memoryMaxPages,
        });
      }
      // A message reported and then `unreachable`: the guest aborted on purpose (a Rust panic, an
      // AssemblyScript abort), so the call fails with its message; any other trap stays a trap.
      if (state.guestError !== undefined && message === 'unreachable') {
        return failed(state, exports, budget, 'SANDBOX.GUEST_ERROR', state.guestError, { trap: message, aborted: true });
      }
    }
    const phase = exports === undefined ? 'while instantiating' : 'during the call';
    return failed(state, exports, budget, 'SANDBOX.TRAP', `the plugin trapped ${phase}: ${message}`, { trap: message });
  }

  function forget(module: unknown): void {
    if (lastModule === module) recycle();
    warm.delete(module);
  }

  return { invoke, recycle, forget };
}

