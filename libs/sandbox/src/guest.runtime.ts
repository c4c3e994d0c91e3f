// The ABI v1 call sequence, shared by the inline path and the worker threads.
// `createGuestRuntime` must stay self-contained (no imports, no outer references, no dynamic import):
// the worker runs its source text, so everything it needs is declared inside it.

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
  readonly logs: { level: number; message: string }[];
  readonly metrics: { name: string; value: number }[];
}

export interface GuestRuntime {
  invoke(module: unknown, request: GuestCallRequest, bridge: GuestHostBridge): GuestCallOutcome;
}

/** Builds the runtime; see the file comment for why it is one closed function. */
export function createGuestRuntime(): GuestRuntime {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const MAX_MESSAGE_BYTES = 4096;
  const MAX_LOG_ENTRIES = 256;
  const MAX_METRICS = 256;
  const PAGE = 65536;
  // Exports added by the metering rewriter (METERING_EXPORTS in @forgeone/plugin-abi).
  const FUEL = '__forgeone_fuel';
  const OUT_OF_FUEL = '__forgeone_out_of_fuel';
  const GROW_REFUSED = '__forgeone_grow_refused';
  const START = '__forgeone_start';

  interface WasmApi {
    Instance: new (module: unknown, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
    RuntimeError: new () => Error;
  }
  interface Fault extends Error {
    sandboxCode: string;
    details?: Record<string, unknown>;
  }
  interface GuestExports {
    memory: { buffer: ArrayBuffer };
    forgeone_abi_version(): number;
    forgeone_alloc(size: number): number;
    [FUEL]: { value: bigint };
    [OUT_OF_FUEL]: { value: number };
    [GROW_REFUSED]: { value: number };
    [START]?: () => void;
    [handler: string]: unknown;
  }

  function fault(code: string, message: string, details?: Record<string, unknown>): Fault {
    const error = new Error(message) as Fault;
    error.sandboxCode = code;
    if (details !== undefined) error.details = details;
    return error;
  }

  function invoke(module: unknown, request: GuestCallRequest, bridge: GuestHostBridge): GuestCallOutcome {
    const logs: { level: number; message: string }[] = [];
    const metrics: { name: string; value: number }[] = [];
    const granted = new Set(request.granted);
    const budget = BigInt(request.fuel);
    let exports: GuestExports | undefined;
    let guestError: string | undefined;
    let droppedLogs = 0;

    const memoryBytes = (): number => (exports === undefined ? 0 : exports.memory.buffer.byteLength);
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
      return new Uint8Array(exports!.memory.buffer, start, length).slice();
    };
    const text = (ptr: number, len: number, what: string): string => decoder.decode(read(ptr, Math.min(len >>> 0, MAX_MESSAGE_BYTES), what));
    const guard = (fn: string, capability: string): void => {
      if (!granted.has(fn)) {
        throw fault('SANDBOX.CAPABILITY_DENIED', `the plugin called forgeone.${fn}, which needs the "${capability}" capability, and it is not granted for this call`, {
          hostFunction: fn,
          capability,
        });
      }
    };
    // Copies host data into guest memory through forgeone_alloc and packs (ptr << 32) | len.
    const give = (data: Uint8Array): bigint => {
      const ptr = exports!.forgeone_alloc(data.length) >>> 0;
      if (ptr === 0 && data.length > 0) return -4n;
      if (ptr + data.length > memoryBytes()) {
        throw fault('SANDBOX.OUT_OF_BOUNDS', `forgeone_alloc returned ${ptr} for ${data.length} bytes, beyond the plugin's memory (${memoryBytes()} bytes)`);
      }
      new Uint8Array(exports!.memory.buffer, ptr, data.length).set(data);
      return (BigInt(ptr) << 32n) | BigInt(data.length);
    };
    const hostCall = (fn: string, args: Uint8Array[]): { status: number; data: Uint8Array | undefined } => bridge.call(fn, args);

    const imports = {
      forgeone: {
        error(ptr: number, len: number): void {
          guestError = text(ptr, len, 'an error message');
        },
        log(level: number, ptr: number, len: number): void {
          guard('log', 'log');
          const message = text(ptr, len, 'a log message');
          if (logs.length < MAX_LOG_ENTRIES) logs.push({ level, message });
          else droppedLogs++;
        },
        metric(namePtr: number, nameLen: number, value: number): void {
          guard('metric', 'metrics');
          const name = text(namePtr, nameLen, 'a metric name');
          if (metrics.length < MAX_METRICS) metrics.push({ name, value });
        },
        now_ms(): bigint {
          guard('now_ms', 'clock');
          return BigInt(Math.floor(request.nowMs));
        },
        config_get(keyPtr: number, keyLen: number): bigint {
          guard('config_get', 'config');
          const key = text(keyPtr, keyLen, 'a config key');
          const value = Object.prototype.hasOwnProperty.call(request.config, key) ? request.config[key] : undefined;
          return value === undefined ? -1n : give(encoder.encode(value));
        },
        kv_get(keyPtr: number, keyLen: number): bigint {
          guard('kv_get', 'storage');
          const r = hostCall('kv_get', [read(keyPtr, keyLen, 'a storage key')]);
          return r.status === 0 ? give(r.data ?? new Uint8Array(0)) : BigInt(r.status);
        },
        kv_set(keyPtr: number, keyLen: number, valuePtr: number, valueLen: number): number {
          guard('kv_set', 'storage');
          return hostCall('kv_set', [read(keyPtr, keyLen, 'a storage key'), read(valuePtr, valueLen, 'a storage value')]).status;
        },
        kv_delete(keyPtr: number, keyLen: number): number {
          guard('kv_delete', 'storage');
          return hostCall('kv_delete', [read(keyPtr, keyLen, 'a storage key')]).status;
        },
        http_request(reqPtr: number, reqLen: number): bigint {
          guard('http_request', 'http');
          const r = hostCall('http_request', [read(reqPtr, reqLen, 'an HTTP request')]);
          return r.status === 0 ? give(r.data ?? new Uint8Array(0)) : BigInt(r.status);
        },
        auth_check(reqPtr: number, reqLen: number): number {
          guard('auth_check', 'auth');
          return hostCall('auth_check', [read(reqPtr, reqLen, 'an authorisation request')]).status;
        },
      },
    };

    const fuelLeft = (): bigint => (exports === undefined ? budget : exports[FUEL].value);
    const used = (): number => {
      const left = fuelLeft();
      return Number(left < 0n ? budget : budget - left);
    };
    const finish = (outcome: Omit<GuestCallOutcome, 'fuelUsed' | 'logs' | 'metrics'>): GuestCallOutcome => {
      if (droppedLogs > 0) logs.push({ level: 2, message: `${droppedLogs} more log entries were dropped (limit ${MAX_LOG_ENTRIES} per call)` });
      return { ...outcome, fuelUsed: used(), logs, metrics };
    };
    const failure = (code: string, message: string, details?: Record<string, unknown>): GuestCallOutcome =>
      finish({ ok: false, code, message, ...(details !== undefined ? { details } : {}) });
    const outOfFuel = (): GuestCallOutcome =>
      failure('SANDBOX.FUEL_EXHAUSTED', `the plugin used its whole fuel budget of ${request.fuel} instructions; raise limits.fuel or make the handler do less work per call`, {
        fuel: request.fuel,
      });

    try {
      const instance = new wasm.Instance(module, imports);
      exports = instance.exports as unknown as GuestExports;
      exports[FUEL].value = budget;
      const start = exports[START];
      if (typeof start === 'function') start();
      const version = exports.forgeone_abi_version();
      if (version !== 1) {
        return failure('REGISTRY.ABI_MISMATCH', `the plugin reports ABI version ${version}; this host runs ABI 1`, { abi: version });
      }
      const handler = exports[request.handler];
      if (typeof handler !== 'function') {
        return failure('SANDBOX.NOT_FOUND', `the plugin does not export a handler named ${request.handler}`);
      }
      const input = request.input;
      const inPtr = exports.forgeone_alloc(input.length) >>> 0;
      if (inPtr === 0 && input.length > 0) {
        return failure('SANDBOX.MEMORY_LIMIT', `the plugin could not allocate ${input.length} bytes for the input within its memory limit (${request.memoryMaxPages} pages of 64 KiB)`, {
          inputBytes: input.length,
          memoryMaxPages: request.memoryMaxPages,
        });
      }
      if (inPtr + input.length > memoryBytes()) {
        return failure('SANDBOX.OUT_OF_BOUNDS', `forgeone_alloc returned ${inPtr} for ${input.length} input bytes, beyond the plugin's memory (${memoryBytes()} bytes)`);
      }
      new Uint8Array(exports.memory.buffer, inPtr, input.length).set(input);
      const result = (handler as (ptr: number, len: number) => bigint)(inPtr, input.length);
      if (fuelLeft() < 0n) return outOfFuel();
      if (result < 0n) {
        const detail = exports[GROW_REFUSED].value === 1 ? { result: Number(result), memoryGrowRefused: true } : { result: Number(result) };
        return failure('SANDBOX.GUEST_ERROR', guestError ?? `${request.handler} failed with code ${result} and reported no message`, detail);
      }
      const outPtr = Number(result >> 32n);
      const outLen = Number(result & 0xffffffffn);
      if (outLen > request.maxOutputBytes) {
        return failure('SANDBOX.OUTPUT_TOO_LARGE', `${request.handler} returned ${outLen} bytes; the limit is ${request.maxOutputBytes} (limits.maxOutputBytes)`, {
          outputBytes: outLen,
          maxOutputBytes: request.maxOutputBytes,
        });
      }
      if (outPtr + outLen > memoryBytes()) {
        return failure('SANDBOX.OUT_OF_BOUNDS', `${request.handler} returned output at [${outPtr}, ${outPtr + outLen}) but the plugin's memory is ${memoryBytes()} bytes`, {
          ptr: outPtr,
          len: outLen,
          memoryBytes: memoryBytes(),
        });
      }
      return finish({ ok: true, output: new Uint8Array(exports.memory.buffer, outPtr, outLen).slice() });
    } catch (error) {
      const f = error as Partial<Fault>;
      if (typeof f.sandboxCode === 'string') return failure(f.sandboxCode, f.message ?? f.sandboxCode, f.details);
      if (exports !== undefined && exports[OUT_OF_FUEL].value === 1) return outOfFuel();
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof RangeError && /call stack/i.test(message)) {
        return failure('SANDBOX.STACK_OVERFLOW', `the plugin exceeded the call stack (deep or unbounded recursion): ${message}`);
      }
      if (exports !== undefined && error instanceof wasm.RuntimeError) {
        const pages = memoryBytes() / PAGE;
        if (exports[GROW_REFUSED].value === 1 || pages >= request.memoryMaxPages) {
          return failure('SANDBOX.MEMORY_LIMIT', `the plugin trapped (${message}) after reaching its memory limit of ${request.memoryMaxPages} pages of 64 KiB; raise limits.memoryMiB or use less memory`, {
            memoryPages: pages,
            memoryMaxPages: request.memoryMaxPages,
          });
        }
      }
      const phase = exports === undefined ? 'while instantiating' : 'during the call';
      return failure('SANDBOX.TRAP', `the plugin trapped ${phase}: ${message}`, { trap: message });
    }
  }

  return { invoke };
}
