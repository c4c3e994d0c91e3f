import type { PluginManifest } from '@forgeone/contracts';
import { judgeTestVector } from './test-vector.judge.js';
import { LocalHostHooks, type HttpFixtures, type LocalHookNote } from './local-host.hooks.js';
import { SandboxHost } from './sandbox.host.js';
import type { GuestLogEntry, SandboxCaps } from './sandbox.types.js';

export interface PluginTestVectorResult {
  readonly handler: string;
  readonly input: string;
  readonly expect: string;
  readonly passed: boolean;
  /** The output as text (invalid UTF-8 replaced), when the call succeeded. */
  readonly output?: string;
  /** `SANDBOX.*` code and message, when the call failed. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly durationMs: number;
  readonly fuelUsed: number | undefined;
  readonly logs: readonly GuestLogEntry[];
  readonly notes: readonly LocalHookNote[];
}

export interface RunPluginTestsInput {
  /** The manifest as validated by PluginManifestSchema (its `tests` are the vectors). */
  readonly manifest: PluginManifest;
  readonly wasm: Uint8Array;
  readonly httpFixtures?: HttpFixtures;
  /** Environment caps, as a sandbox-runner would apply them (default: the sandbox's defaults). */
  readonly caps?: Partial<SandboxCaps>;
  /** Called after each vector, e.g. to show progress. */
  readonly onResult?: (result: PluginTestVectorResult, index: number) => void;
}

const encoder = new TextEncoder();

/**
 * Runs the manifest's test vectors in the sandbox the platform uses (same validation, metering,
 * memory cap, limits and worker threads), one call each in order, with storage in memory and http
 * answered from fixtures only. A vector passes when the call succeeds and its output equals `expect`.
 *
 * @throws {ForgeOneError} when the module is refused at load (ABI, handlers, features, memory).
 */
export async function runPluginTests(input: RunPluginTestsInput): Promise<PluginTestVectorResult[]> {
  const { manifest } = input;
  const hooks = new LocalHostHooks(input.httpFixtures);
  const host = new SandboxHost({ hooks, ...(input.caps ? { caps: input.caps } : {}) });
  const key = `${manifest.name}@${manifest.version}`;
  try {
    await host.load({ key, wasm: input.wasm, handlers: manifest.handlers, abi: manifest.abi, capabilities: manifest.capabilities, limits: manifest.limits });
    const results: PluginTestVectorResult[] = [];
    for (const [index, vector] of manifest.tests.entries()) {
      const call = await host.call(key, vector.handler, encoder.encode(vector.input), { metadata: { environment: 'local' } });
      const base = { handler: vector.handler, input: vector.input, expect: vector.expect, durationMs: call.durationMs, fuelUsed: call.fuelUsed, logs: call.logs, notes: hooks.takeNotes() };
      const result: PluginTestVectorResult = { ...base, ...judgeTestVector(vector, call) };
      results.push(result);
      input.onResult?.(result, index);
    }
    return results;
  } finally {
    await host.close();
  }
}
