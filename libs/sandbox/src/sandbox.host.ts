import { createHash } from 'node:crypto';
import { ERROR_CODES, ForgeOneError, type Capabilities, type ErrorCode } from '@forgeone/contracts';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { validatePluginModule, type PluginCapability } from '@forgeone/plugin-abi';
import { grantedFunctions, isGranted, narrow } from './capability.grants.js';
import { createGuestRuntime, INLINE_ABANDONED, type GuestCallOutcome, type GuestCallRequest, type GuestHostBridge, type GuestModulePlan } from './guest.runtime.js';
import { hostCallHandler } from './host-call.handler.js';
import { inlinePlanOf, type InlinePlan } from './inline-call.policy.js';
import { PluginWorkerPool, type PoolFailure } from './plugin-worker.pool.js';
import { compileMetered, type CompiledPlugin } from './plugin-module.compiler.js';
import {
  type HostCallContext,
  type HostHooks,
  type LoadedPlugin,
  type LoadPluginSpec,
  type SandboxCallOptions,
  type SandboxCallResult,
  type SandboxCaps,
  type SandboxLimits,
  type SandboxViolation,
} from './sandbox.types.js';
import { sandboxTracer } from './sandbox.tracer.js';

export interface SandboxHostOptions {
  /** Answers kv, http and auth host calls; without hooks those calls answer -3 (failed). */
  readonly hooks?: HostHooks;
  /** Environment caps; each manifest limit is lowered to its cap. */
  readonly caps?: Partial<SandboxCaps>;
  /** Calls that may wait for a worker, per plugin version, before calls are refused as overloaded. */
  readonly maxQueuedCalls?: number;
  /** Stack of each worker thread; bounds recursion depth (not deterministic across engine tiers). */
  readonly workerStackSizeMb?: number;
  /** Largest host call answer (kv value, HTTP response) a guest can receive, in bytes. */
  readonly hostChannelBytes?: number;
  /** Start one worker per plugin version during load (default true), so the first call does not pay ~30 ms. */
  readonly prewarm?: boolean;
  /**
   * Microseconds the calling thread may busy-wait for a short call's result when the plugin's pool
   * has no other call, and a worker may watch for its next call before sleeping when calls come that
   * close together (default 100; 0 turns both off). Saves thread wake-ups per call at low load.
   */
  readonly spinMicros?: number;
  /**
   * Run short calls on the calling thread (default true): a call of a version whose module fuel
   * bounds in time, under a fuel slice that bounds it to a few milliseconds at worst, that needs
   * no blocking host call; anything more is run again in a worker with its whole budget.
   */
  readonly inlineCalls?: boolean;
}

/** Caps used where the environment sets none. */
export const DEFAULT_SANDBOX_CAPS: SandboxCaps = {
  memoryMiB: 256,
  fuel: 10_000_000_000,
  timeoutMs: 10_000,
  maxInputBytes: 16 * 1024 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  maxConcurrency: 8,
};

const DEFAULT_MAX_CONCURRENCY = 4;
const PAGES_PER_MIB = 16;

const VIOLATIONS: Partial<Record<string, SandboxViolation>> = {
  'SANDBOX.FUEL_EXHAUSTED': 'fuel',
  'SANDBOX.MEMORY_LIMIT': 'memory',
  'SANDBOX.STACK_OVERFLOW': 'stack',
  'SANDBOX.TIMEOUT': 'timeout',
  'SANDBOX.INPUT_TOO_LARGE': 'input_size',
  'SANDBOX.OUTPUT_TOO_LARGE': 'output_size',
  'SANDBOX.OUT_OF_BOUNDS': 'memory_access',
  'SANDBOX.CAPABILITY_DENIED': 'capability',
  'SANDBOX.OVERLOADED': 'concurrency',
};

interface LoadedEntry {
  readonly info: LoadedPlugin;
  readonly module: unknown;
  readonly plan: GuestModulePlan;
  readonly capabilities: Capabilities;
  /** Host functions the manifest's capabilities allow, computed once. */
  readonly granted: readonly string[];
  /** Capabilities the module's imports need that the manifest does not grant, computed once. */
  readonly missing: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly pool: PluginWorkerPool;
  /** How this version's calls may run on the calling thread; undefined when they never do. */
  readonly inline: InlineState | undefined;
}

interface InlineState {
  readonly plan: InlinePlan;
  /** Moving average of the fuel an inline attempt used. */
  meanFuel: number;
  /** Attempts in a row handed to a worker. */
  misses: number;
  off: boolean;
}

// A version whose inline attempts average more fuel than this (~100-300 µs here) goes to workers: a
// longer call is better run beside the calling thread, which serves no other caller while it runs.
// Fuel rather than time: a sample is not inflated when the machine deschedules this thread.
const INLINE_MAX_MEAN_FUEL = 100_000;
// A version whose calls keep needing more than the slice (or a host call past the cap) goes to workers.
const INLINE_MAX_MISSES = 8;

interface Prepared {
  readonly entry: LoadedEntry;
  readonly request: GuestCallRequest;
  /** The call's grant (the manifest's, or narrowed by the call's options). */
  readonly capabilities: Capabilities;
}

const inlineRuntime = createGuestRuntime();

/**
 * Runs ForgeOne plugins (ABI v1): validates and meters each plugin version once (cached by digest),
 * then serves every call on an instance in its initial state (a snapshot restored after each call, or
 * a fresh instance for modules whose state cannot be restored), in a worker thread of that version's pool, with a fuel
 * budget, a memory cap, input/output limits and a wall-clock deadline that terminates the worker.
 * Failures come back as {@link SandboxCallResult} values naming the limit that was hit.
 */
export class SandboxHost {
  private readonly compiled = new Map<string, Promise<CompiledPlugin>>();
  private readonly plugins = new Map<string, LoadedEntry>();
  private readonly caps: SandboxCaps;

  constructor(private readonly options: SandboxHostOptions = {}) {
    this.caps = { ...DEFAULT_SANDBOX_CAPS, ...options.caps };
  }

  /**
   * Validates, meters, compiles and starts a pool for one plugin version.
   *
   * @throws {ForgeOneError} `REGISTRY.WASM_INVALID` / `REGISTRY.ABI_MISMATCH` when the module breaks ABI v1
   *   (unknown import, missing export, other ABI version), `SANDBOX.MODULE_REJECTED` when it uses a feature
   *   the sandbox does not run or its memory starts above the cap, `SANDBOX.CAPABILITY_DENIED` never (that
   *   is checked per call), `COMMAND.INVALID` when the key is already loaded with other code.
   */
  async load(spec: LoadPluginSpec): Promise<LoadedPlugin> {
    const digest = spec.digest ?? createHash('sha256').update(spec.wasm).digest('hex');
    const existing = this.plugins.get(spec.key);
    if (existing !== undefined) {
      if (existing.info.digest === digest) return existing.info;
      throw new ForgeOneError('COMMAND.INVALID', `plugin ${spec.key} is already loaded with other code (digest ${existing.info.digest}); unload it first or load the new version under its own key`);
    }
    const report = validatePluginModule(spec.wasm, { handlers: spec.handlers, abi: spec.abi ?? 1, fileName: `${spec.key} (plugin.wasm)` });
    const limits = this.effectiveLimits(spec.limits);
    const capPages = limits.memoryMiB * PAGES_PER_MIB;
    const cacheKey = `${digest}:${capPages}`;
    const compiledFromCache = this.compiled.has(cacheKey);
    let compiling = this.compiled.get(cacheKey);
    if (compiling === undefined) {
      compiling = compileMetered(spec.key, spec.wasm, capPages);
      this.compiled.set(cacheKey, compiling);
      compiling.catch(() => this.compiled.delete(cacheKey));
    }
    const { module, memoryMaxPages, plan } = await compiling;
    const pool = new PluginWorkerPool(module, plan, {
      maxWorkers: limits.maxConcurrency,
      maxQueued: this.options.maxQueuedCalls ?? 64,
      stackSizeMb: this.options.workerStackSizeMb ?? 4,
      channelBytes: this.options.hostChannelBytes ?? 1024 * 1024,
      spinMicros: this.options.spinMicros ?? 100,
    });
    const info: LoadedPlugin = {
      key: spec.key,
      digest,
      handlers: report.handlers,
      hostImports: report.hostImports,
      requiredCapabilities: report.requiredCapabilities,
      limits,
      memoryMaxPages,
      compiledFromCache,
    };
    const missing = report.requiredCapabilities.filter((c) => !isGranted(spec.capabilities, c as PluginCapability));
    const inlinePlan = this.options.inlineCalls === false ? undefined : inlinePlanOf(spec.wasm, memoryMaxPages);
    const inline = inlinePlan === undefined || 'reason' in inlinePlan ? undefined : { plan: inlinePlan, meanFuel: -1, misses: 0, off: false };
    this.plugins.set(spec.key, { info, module, plan, capabilities: spec.capabilities, granted: grantedFunctions(spec.capabilities), missing, config: spec.config ?? {}, pool, inline });
    if (this.options.prewarm !== false) await pool.prewarm(spec.warmWorkers ?? 1);
    return info;
  }

  /** The loaded plugin versions. */
  loaded(): LoadedPlugin[] {
    return [...this.plugins.values()].map((e) => e.info);
  }

  /** Workers, running and queued calls of one plugin version's pool. */
  poolStats(key: string): { workers: number; busy: number; queued: number } | undefined {
    const pool = this.plugins.get(key)?.pool;
    return pool === undefined ? undefined : { workers: pool.size, busy: pool.busy, queued: pool.queued };
  }

  /**
   * Calls a handler in a worker thread under every limit, including the wall-clock deadline.
   * Never rejects: a failure is a result with `ok: false`, an error and the violated limit.
   */
  async call(key: string, handler: string, input: Uint8Array, options: SandboxCallOptions = {}): Promise<SandboxCallResult> {
    const started = performance.now();
    const parent = otelContext.active();
    const span = sandboxTracer().startSpan('plugin.invoke', { kind: SpanKind.INTERNAL }, parent);
    // A span that records nothing (no exporter) is not handed attributes it would drop.
    if (span.isRecording()) span.setAttributes({ 'forgeone.plugin.key': key, 'forgeone.plugin.handler': handler, ...options.spanAttributes });
    const prepared = this.prepare(key, handler, input, options);
    if ('failure' in prepared) return endInvokeSpan(span, this.result(key, handler, started, prepared.failure), undefined);
    const { entry, request, capabilities } = prepared;
    const timeoutMs = Math.min(options.timeoutMs ?? entry.info.limits.timeoutMs, entry.info.limits.timeoutMs);
    const inline = entry.inline;
    if (inline !== undefined && !inline.off && timeoutMs >= inline.plan.minTimeoutMs) {
      const answered = attemptInline(entry.module, entry.plan, request, inline);
      if (answered !== undefined) {
        span.setAttribute('forgeone.plugin.inline', true);
        const result = endInvokeSpan(span, this.result(key, handler, started, answered), request.fuel);
        // Answered on the next turn of the event loop, as a worker's answer is: a caller looping on
        // call() must not starve timers and I/O by resolving on microtasks alone.
        return answerNextTurn(result);
      }
    }
    const context: HostCallContext = { plugin: key, handler, capabilities, metadata: options.metadata ?? {} };
    // Host calls arrive as worker messages, outside this call's async context: they are answered
    // in the invocation span's context, so hook spans (and the queries and requests hooks make) are its children.
    const result = await entry.pool.run(request, timeoutMs, hostCallHandler(this.options.hooks ?? {}, context, trace.setSpan(parent, span)));
    const outcome = result.ok ? result.outcome : poolFailureOutcome(result.failure, key, timeoutMs);
    return endInvokeSpan(span, this.result(key, handler, started, outcome), request.fuel);
  }

  /**
   * Calls a handler on the calling thread: metered and memory-capped with the same ABI and limits,
   * but with no deadline backstop (nothing can interrupt wasm running on this thread, so a host
   * call cannot block either: kv, http and auth fail with `SANDBOX.CAPABILITY_DENIED`). Use it for
   * trusted plugins and benchmarks; fuel alone bounds a call, so keep the fuel limit tight.
   */
  runInline(key: string, handler: string, input: Uint8Array, options: SandboxCallOptions = {}): SandboxCallResult {
    const started = performance.now();
    const prepared = this.prepare(key, handler, input, options);
    if ('failure' in prepared) return this.result(key, handler, started, prepared.failure);
    const { module, plan } = prepared.entry;
    const outcome = inlineRuntime.invoke(module, plan, prepared.request, INLINE_BRIDGE);
    inlineRuntime.recycle();
    return this.result(key, handler, started, outcome);
  }

  /** Lets running and queued calls of a plugin version finish, then stops its workers. */
  async unload(key: string): Promise<void> {
    const entry = this.plugins.get(key);
    if (entry === undefined) return;
    this.plugins.delete(key);
    inlineRuntime.forget(entry.module);
    await entry.pool.drain();
  }

  /** Stops every worker at once; calls in flight end with `SANDBOX.OVERLOADED`. */
  async close(): Promise<void> {
    const entries = [...this.plugins.values()];
    this.plugins.clear();
    this.compiled.clear();
    for (const e of entries) inlineRuntime.forget(e.module);
    await Promise.all(entries.map((e) => e.pool.close()));
  }

  private effectiveLimits(limits: SandboxLimits): Required<SandboxLimits> {
    const c = this.caps;
    return {
      memoryMiB: Math.min(limits.memoryMiB, c.memoryMiB),
      fuel: Math.min(limits.fuel, c.fuel),
      timeoutMs: Math.min(limits.timeoutMs, c.timeoutMs),
      maxInputBytes: Math.min(limits.maxInputBytes ?? c.maxInputBytes, c.maxInputBytes),
      maxOutputBytes: Math.min(limits.maxOutputBytes, c.maxOutputBytes),
      maxConcurrency: Math.min(limits.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY, c.maxConcurrency),
    };
  }

  private prepare(key: string, handler: string, input: Uint8Array, options: SandboxCallOptions): Prepared | { failure: GuestCallOutcome } {
    const entry = this.plugins.get(key);
    if (entry === undefined) return { failure: outcome('SANDBOX.NOT_FOUND', `plugin ${key} is not loaded in this sandbox; load it first`) };
    const { info } = entry;
    if (!info.handlers.includes(handler)) {
      return { failure: outcome('SANDBOX.NOT_FOUND', `plugin ${key} has no handler ${handler}; its handlers are ${info.handlers.join(', ')}`, { handlers: info.handlers }) };
    }
    if (input.length > info.limits.maxInputBytes) {
      return {
        failure: outcome('SANDBOX.INPUT_TOO_LARGE', `the input is ${input.length} bytes; plugin ${key} accepts at most ${info.limits.maxInputBytes} (limits.maxInputBytes)`, {
          inputBytes: input.length,
          maxInputBytes: info.limits.maxInputBytes,
        }),
      };
    }
    const capabilities = options.capabilities === undefined ? entry.capabilities : narrow(entry.capabilities, options.capabilities);
    const missing = options.capabilities === undefined ? entry.missing : info.requiredCapabilities.filter((c) => !isGranted(capabilities, c as PluginCapability));
    if (missing.length > 0) {
      return {
        failure: outcome(
          'SANDBOX.CAPABILITY_DENIED',
          `plugin ${key} imports host functions that need ${missing.map((c) => `"${c}"`).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not granted; grant the capability in the manifest and policy, or rebuild the plugin without those imports`,
          { missing },
        ),
      };
    }
    const granted = options.capabilities === undefined ? entry.granted : grantedFunctions(capabilities);
    const request: GuestCallRequest = {
      handler,
      input,
      fuel: Math.min(options.fuel ?? info.limits.fuel, info.limits.fuel),
      maxOutputBytes: info.limits.maxOutputBytes,
      granted,
      config: options.config === undefined ? entry.config : { ...entry.config, ...options.config },
      // The clock is read only for a call that may ask for it: a clock read costs ~0.1 µs on these VMs,
      // a tenth of a short call; without the grant forgeone.now_ms is refused before it reads nowMs.
      nowMs: options.nowMs ?? (granted.includes('now_ms') ? Date.now() : 0),
      memoryMaxPages: info.memoryMaxPages,
    };
    // The deadline and the hooks' context are the worker path's (SandboxHost.call): the inline path builds neither.
    return { entry, request, capabilities };
  }

  private result(plugin: string, handler: string, started: number, o: GuestCallOutcome & { fuelUnknown?: boolean }): SandboxCallResult {
    const fuelUsed = o.fuelUnknown === true ? undefined : o.fuelUsed;
    const durationMs = performance.now() - started;
    const memoryBytes = o.memoryBytes ?? 0;
    if (o.ok) return { ok: true, plugin, handler, fuelUsed, durationMs, memoryBytes, logs: o.logs, metrics: o.metrics, output: o.output ?? new Uint8Array(0) };
    const code: ErrorCode = o.code !== undefined && o.code in ERROR_CODES ? (o.code as ErrorCode) : 'SERVICE.INTERNAL';
    const error = new ForgeOneError(code, o.message ?? code, { plugin, handler, ...o.details });
    return { ok: false, plugin, handler, fuelUsed, durationMs, memoryBytes, logs: o.logs, metrics: o.metrics, error, violation: VIOLATIONS[code] };
  }
}

// Inline answers of one turn are resolved together on the next: their callers' continuations then run
// in one microtask drain, so the replies they send leave in one socket write instead of one each.
let answersDue: { resolve: (result: SandboxCallResult) => void; result: SandboxCallResult }[] = [];

function answerNextTurn(result: SandboxCallResult): Promise<SandboxCallResult> {
  return new Promise((resolve) => {
    if (answersDue.length === 0) setImmediate(answerDue);
    answersDue.push({ resolve, result });
  });
}

function answerDue(): void {
  const due = answersDue;
  answersDue = [];
  for (const { resolve, result } of due) resolve(result);
}

/** Ends a call's `plugin.invoke` span with its fuel and outcome (the error code only: a guest's message may hold anything). */
function endInvokeSpan(span: Span, result: SandboxCallResult, fuelLimit: number | undefined): SandboxCallResult {
  if (span.isRecording()) {
    if (result.fuelUsed !== undefined) span.setAttribute('forgeone.plugin.fuel_used', result.fuelUsed);
    if (fuelLimit !== undefined) span.setAttribute('forgeone.plugin.fuel_limit', fuelLimit);
    span.setAttribute('forgeone.plugin.memory_bytes', result.memoryBytes);
    span.setAttribute('forgeone.plugin.outcome', result.ok ? 'ok' : result.error.code);
    if (!result.ok) {
      if (result.violation !== undefined) span.setAttribute('forgeone.plugin.violation', result.violation);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.code });
    }
  }
  span.end();
  return result;
}

/**
 * Runs a call on this thread under the version's inline fuel slice and host call cap. Undefined when
 * the call must run in a worker instead: it needed more fuel than the slice, more host calls, or more
 * stack than this thread has. Nothing it did is visible (no blocking hook ran; logs, metrics and its
 * instance's writes are dropped), so the worker's run is the call.
 */
function attemptInline(module: unknown, plan: GuestModulePlan, request: GuestCallRequest, inline: InlineState): GuestCallOutcome | undefined {
  const fuel = Math.min(request.fuel, inline.plan.fuel);
  const outcome = inlineRuntime.invoke(module, plan, { ...request, fuel, maxHostCalls: inline.plan.maxHostCalls }, INLINE_BRIDGE);
  inlineRuntime.recycle();
  inline.meanFuel = inline.meanFuel < 0 ? outcome.fuelUsed : inline.meanFuel * 0.9 + outcome.fuelUsed * 0.1;
  if (inline.meanFuel > INLINE_MAX_MEAN_FUEL) inline.off = true;
  const handOver = !outcome.ok && (outcome.code === INLINE_ABANDONED || outcome.code === 'SANDBOX.STACK_OVERFLOW' || (outcome.code === 'SANDBOX.FUEL_EXHAUSTED' && fuel < request.fuel));
  if (!handOver) {
    inline.misses = 0;
    return outcome;
  }
  if (++inline.misses >= INLINE_MAX_MISSES) inline.off = true;
  return undefined;
}

const INLINE_BRIDGE: GuestHostBridge = {
  call(fn) {
    throw Object.assign(new Error(`forgeone.${fn} is asynchronous and cannot be answered on the inline path; call the plugin through SandboxHost.call`), {
      sandboxCode: 'SANDBOX.CAPABILITY_DENIED',
      details: { hostFunction: fn, inline: true },
    });
  },
};

function outcome(code: string, message: string, details?: Record<string, unknown>): GuestCallOutcome {
  return { ok: false, code, message, ...(details !== undefined ? { details } : {}), fuelUsed: 0, logs: [], metrics: [] };
}

function poolFailureOutcome(failure: PoolFailure, key: string, timeoutMs: number): GuestCallOutcome & { fuelUnknown?: boolean } {
  switch (failure.kind) {
    case 'timeout':
      return {
        ...outcome('SANDBOX.TIMEOUT', `plugin ${key} did not answer within ${timeoutMs} ms and was stopped; raise limits.timeoutMs or make the handler faster`, { timeoutMs }),
        fuelUnknown: true,
      };
    case 'overloaded':
      return outcome('SANDBOX.OVERLOADED', `plugin ${key} is running its maximum number of concurrent calls and ${failure.queued} more are waiting; retry later or raise limits.maxConcurrency`, {
        queued: failure.queued,
      });
    case 'closed':
      return outcome('SANDBOX.OVERLOADED', `plugin ${key} was unloaded before the call could run; retry the call`);
    case 'crashed':
      return { ...outcome('SANDBOX.TRAP', `the worker running plugin ${key} failed: ${failure.message}`), fuelUnknown: true };
  }
}
