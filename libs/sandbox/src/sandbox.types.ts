import type { Capabilities, ForgeOneError } from '@forgeone/contracts';

/** Per-plugin limits, as in the manifest's `limits` (docs/abi.md). */
export interface SandboxLimits {
  readonly memoryMiB: number;
  /** Instruction budget per call (start function, allocation and handler together). */
  readonly fuel: number;
  /** Wall-clock deadline per call; the backstop when fuel is not enough (e.g. a host call hangs). */
  readonly timeoutMs: number;
  readonly maxInputBytes?: number;
  readonly maxOutputBytes: number;
  /** Calls of this plugin running at once (one worker each); more wait in a bounded queue. */
  readonly maxConcurrency?: number;
}

/** Environment caps: each manifest limit is lowered to its cap. */
export interface SandboxCaps {
  readonly memoryMiB: number;
  readonly fuel: number;
  readonly timeoutMs: number;
  readonly maxInputBytes: number;
  readonly maxOutputBytes: number;
  readonly maxConcurrency: number;
}

/** What {@link SandboxHost.load} needs to know about one plugin version. */
export interface LoadPluginSpec {
  /** Identity of the plugin version, e.g. `acme/pii-redactor@1.4.2`; calls address it by this key. */
  readonly key: string;
  readonly wasm: Uint8Array;
  /** sha256 (hex) of `wasm`; computed when absent. Compiled modules are cached by digest. */
  readonly digest?: string;
  readonly handlers: readonly string[];
  /** The manifest's `abi`; defaults to 1. */
  readonly abi?: number;
  /** Capabilities the manifest grants (and the environment allows). */
  readonly capabilities: Capabilities;
  readonly limits: SandboxLimits;
  /** Values `config_get` answers. */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * Workers started before `load` resolves (default 1, at most the concurrency limit). A version that
   * replaces one under load asks for as many as the old one runs, so the switch spawns none.
   */
  readonly warmWorkers?: number;
}

/** What a loaded plugin version looks like to the host. */
export interface LoadedPlugin {
  readonly key: string;
  readonly digest: string;
  readonly handlers: readonly string[];
  readonly hostImports: readonly string[];
  readonly requiredCapabilities: readonly string[];
  /** Effective limits after applying the environment caps. */
  readonly limits: Required<SandboxLimits>;
  /** Memory pages the rewritten module may reach: min(declared maximum, memory cap). */
  readonly memoryMaxPages: number;
  /** True when another plugin version with the same digest had already been compiled. */
  readonly compiledFromCache: boolean;
}

export interface SandboxCallOptions {
  /** Lower fuel budget for this call (never above the plugin's limit). */
  readonly fuel?: number;
  /** Shorter deadline for this call (never above the plugin's limit). */
  readonly timeoutMs?: number;
  /** What `now_ms` answers; defaults to `Date.now()` when the call starts. */
  readonly nowMs?: number;
  /** Overrides values of `config_get` for this call. */
  readonly config?: Readonly<Record<string, string>>;
  /** Narrows the plugin's capabilities for this call (e.g. after a policy decision). */
  readonly capabilities?: Capabilities;
  /** Passed to every host hook (tenant, environment, principal, trace context…). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Added to the call's `plugin.invoke` span (plugin name, version, environment): never secrets. */
  readonly spanAttributes?: Readonly<Record<string, string | number | boolean>>;
}

/** Which sandbox limit a failed call ran into; undefined for an error the guest reported itself or a plain trap. */
export type SandboxViolation =
  | 'fuel'
  | 'memory'
  | 'timeout'
  | 'stack'
  | 'input_size'
  | 'output_size'
  | 'memory_access'
  | 'capability'
  | 'concurrency';

export interface GuestLogEntry {
  readonly level: number;
  readonly message: string;
}

export interface GuestMetric {
  readonly name: string;
  readonly value: number;
}

interface CallResultBase {
  readonly plugin: string;
  readonly handler: string;
  /** Fuel charged, deterministic for the same module, input and budget; undefined when a call was stopped by the deadline. */
  readonly fuelUsed: number | undefined;
  readonly durationMs: number;
  /**
   * The plugin's memory when the call ended, in bytes: its high-water mark for the call (memory only
   * grows, and an instance that grew is not reused); 0 when no instance ran (refused before the guest).
   */
  readonly memoryBytes: number;
  readonly logs: readonly GuestLogEntry[];
  readonly metrics: readonly GuestMetric[];
}

export interface SandboxCallSuccess extends CallResultBase {
  readonly ok: true;
  readonly output: Uint8Array;
}

export interface SandboxCallFailure extends CallResultBase {
  readonly ok: false;
  /** `SANDBOX.*` code, message and details, ready to reply with. */
  readonly error: ForgeOneError;
  /** The limit that ended the call, for the `sandbox_violation` event. */
  readonly violation: SandboxViolation | undefined;
}

/** The outcome of a plugin call; failures are values, never rejections, so usage and logs survive them. */
export type SandboxCallResult = SandboxCallSuccess | SandboxCallFailure;

/** Who is calling a host hook. */
export interface HostCallContext {
  readonly plugin: string;
  readonly handler: string;
  readonly capabilities: Capabilities;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Asynchronous host functions, answered on the main thread while the guest waits in its worker.
 * This is where the service puts policy checks, storage and HTTP. A hook that throws a
 * `ForgeOneError` with code `AUTHZ.DENIED` or `SANDBOX.CAPABILITY_DENIED` answers the guest with -2
 * (denied), `SANDBOX.STORAGE_VALUE_TOO_LARGE` -5 (too large), `SANDBOX.STORAGE_QUOTA_EXCEEDED` -6
 * (quota exceeded); any other throw answers -3 (failed). A missing hook answers -3. A `kv_set`
 * value larger than the host channel never reaches the hook: the guest gets -5.
 */
export interface HostHooks {
  kvGet?(ctx: HostCallContext, key: string): Promise<Uint8Array | undefined>;
  kvSet?(ctx: HostCallContext, key: string, value: Uint8Array): Promise<void>;
  /** Resolves false when the key did not exist (the guest sees -1). */
  kvDelete?(ctx: HostCallContext, key: string): Promise<boolean>;
  /** `request` is the guest's JSON, parsed; the response is serialised back to JSON. */
  httpRequest?(ctx: HostCallContext, request: unknown): Promise<unknown>;
  authCheck?(ctx: HostCallContext, request: unknown): Promise<boolean>;
}

/** Results of host functions as the guest sees them (ABI v1, `HOST_STATUS` in @forgeone/plugin-abi). */
export { HOST_STATUS } from '@forgeone/plugin-abi';
