import { createHash } from 'node:crypto';
import type { PluginManifest, TestVectorResult } from '@forgeone/contracts';

type ManifestTest = PluginManifest['tests'][number];
import type { SandboxCallResult } from './sandbox.types.js';

const decoder = new TextDecoder();

/** Whether one manifest test vector passed, as `plugin test --local` and the platform's test runs judge it. */
export interface TestVectorJudgement {
  readonly passed: boolean;
  /** The output as text (invalid UTF-8 replaced), when the call succeeded. */
  readonly output?: string;
  /** `SANDBOX.*` code and message, when the call failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** A vector passes when the call succeeded and its output, read as UTF-8, equals `expect` exactly. */
export function judgeTestVector(vector: Pick<ManifestTest, 'expect'>, call: SandboxCallResult): TestVectorJudgement {
  if (!call.ok) return { passed: false, error: { code: call.error.code, message: call.error.message } };
  const output = decoder.decode(call.output);
  return { passed: output === vector.expect, output };
}

const MAX_ERROR_MESSAGE = 2000;

/**
 * One vector as a test run records it: the verdict, what it cost (duration, fuel, the memory's
 * high-water mark, output size) and the output's sha256, never the input or output themselves
 * (they may hold personal data, and events cannot be erased).
 */
export function testVectorResultOf(index: number, vector: Pick<ManifestTest, 'handler' | 'expect'>, call: SandboxCallResult): TestVectorResult {
  const judged = judgeTestVector(vector, call);
  const message = judged.error?.message ?? '';
  return {
    index,
    handler: vector.handler,
    passed: judged.passed,
    outputSha256: call.ok ? createHash('sha256').update(call.output).digest('hex') : null,
    error: judged.error ? { code: judged.error.code, message: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message } : null,
    durationMs: Math.max(0, call.durationMs),
    fuel: call.fuelUsed ?? 0,
    memoryPeakBytes: call.memoryBytes,
    outputBytes: call.ok ? call.output.length : 0,
  };
}
