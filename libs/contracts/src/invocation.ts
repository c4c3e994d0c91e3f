import { z } from 'zod';
import { TenantIdSchema } from './authz.js';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { DigestSchema } from './plugin.events.js';
import { parseOrThrow } from './validation.js';

const HANDLER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const HandlerSchema = z.string().regex(HANDLER_NAME, 'must be a handler name of the plugin');

/**
 * Body of `forgeone.invoke.<env>.<plugin>`: the handler and its input, as UTF-8 text (`input`) or
 * as bytes (`inputBase64`), exactly one of them. The caller's token travels in the Authorization header.
 */
export const InvokeRequestSchema = z
  .object({
    handler: HandlerSchema,
    input: z.string().optional(),
    inputBase64: z.base64().optional(),
  })
  .strict()
  .refine((r) => (r.input === undefined) !== (r.inputBase64 === undefined), { message: 'send exactly one of input (UTF-8 text) or inputBase64 (bytes)', path: ['input'] });
export type InvokeRequest = z.infer<typeof InvokeRequestSchema>;

/**
 * The invoke request in `body`, as InvokeRequestSchema parses it. The common shape, exactly
 * `{ handler, input }` with UTF-8 text, is recognised without zod because it is on every call's path;
 * everything else, including every invalid body, goes through the schema, so refusals read the same.
 */
export function parseInvokeRequest(body: unknown): InvokeRequest {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 2 && Object.hasOwn(body, 'handler') && Object.hasOwn(body, 'input')) {
    const { handler, input } = body as { handler: unknown; input: unknown };
    if (typeof handler === 'string' && typeof input === 'string' && HANDLER_NAME.test(handler)) return { handler, input };
  }
  return parseOrThrow(InvokeRequestSchema, body, 'COMMAND.INVALID', 'the invoke request');
}

/** Reply of a successful invocation; `output` when the bytes are valid UTF-8, otherwise `outputBase64`. */
export const InvokeReplySchema = z
  .object({
    plugin: PluginNameSchema,
    handler: HandlerSchema,
    environment: EnvironmentSchema,
    version: SemverSchema,
    digest: DigestSchema,
    output: z.string().optional(),
    outputBase64: z.base64().optional(),
    fuelUsed: z.number().int().nonnegative().optional(),
    durationMs: z.number().nonnegative(),
  })
  .strict();
export type InvokeReply = z.infer<typeof InvokeReplySchema>;

export const INVOCATION_EVENT_TYPES = {
  invocationFailed: 'io.forgeone.plugin.invocation_failed.v1',
  sandboxViolation: 'io.forgeone.plugin.sandbox_violation.v1',
  /** One runner's summary of the calls of one (tenant, plugin, version, environment, caller) in one window. */
  invocationsRecorded: 'io.forgeone.plugin.invocations_recorded.v1',
  /** One call, when the tenant or environment records every call on its own. */
  invocationRecorded: 'io.forgeone.plugin.invocation_recorded.v1',
} as const;

/**
 * The aggregate of invocation events: `forgeone.evt.invocation.<tenant>`. Only the sandbox-runner may
 * publish there, so no other client can write (or hide) a failure or a violation.
 */
export const INVOCATION_AGGREGATE = 'invocation';

/** Which sandbox limit a call broke; `capability` also covers a host hook denied by manifest or policy. */
export const SandboxLimitSchema = z.enum(['fuel', 'memory', 'timeout', 'stack', 'input_size', 'output_size', 'memory_access', 'capability', 'concurrency']);

const InvocationFacts = {
  plugin: PluginNameSchema,
  handler: HandlerSchema,
  environment: EnvironmentSchema,
  tenant: TenantIdSchema,
  /** Pseudonymous id of the caller (as in the envelope's `actor`). */
  principal: z.string().min(1).max(256),
  /** Absent when the call failed before a version was chosen (not installed, not authorised). */
  version: SemverSchema.optional(),
  digest: DigestSchema.optional(),
};

export const InvocationFailedSchema = z
  .object({
    ...InvocationFacts,
    /** The error code the caller received (`SANDBOX.*`, `AUTHZ.DENIED`, ...). */
    code: z.string().min(1).max(64),
    message: z.string().max(2048),
    durationMs: z.number().nonnegative().optional(),
  })
  .strict();

export const SandboxViolationSchema = z
  .object({
    ...InvocationFacts,
    version: SemverSchema,
    digest: DigestSchema,
    limit: SandboxLimitSchema,
    code: z.string().min(1).max(64),
    message: z.string().max(2048),
    /** For `capability`: the host hook refused (`storage`, `http`, ...). */
    hook: z.string().max(32).optional(),
  })
  .strict();

export type InvocationFailed = { readonly type: typeof INVOCATION_EVENT_TYPES.invocationFailed; readonly data: z.infer<typeof InvocationFailedSchema> };
export type SandboxViolationRecorded = { readonly type: typeof INVOCATION_EVENT_TYPES.sandboxViolation; readonly data: z.infer<typeof SandboxViolationSchema> };

/** A runner's identity as it appears in window summaries: stable across restarts of one installation. */
export const RunnerIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a runner id: lowercase letters, digits, "_" and "-", at most 64');

const DurationsSchema = z
  .object({ p50: z.number().nonnegative(), p95: z.number().nonnegative(), p99: z.number().nonnegative(), max: z.number().nonnegative() })
  .strict();

/**
 * Where a summary sits in its runner's numbering: `sequence` counts the runner's windows from 1 and
 * is taken when the window opens, so a window that never got written leaves a missing number; a
 * window that saw several (tenant, plugin, version, environment, caller) groups is written as
 * `parts` events, `part` 1..parts, so a window written only in part shows too.
 */
export const CallWindowSchema = z
  .object({
    runner: RunnerIdSchema,
    sequence: z.number().int().positive(),
    part: z.number().int().positive(),
    parts: z.number().int().positive(),
    start: z.iso.datetime(),
    end: z.iso.datetime(),
  })
  .strict()
  .refine((w) => w.part <= w.parts, { message: 'part must be at most parts', path: ['part'] })
  .refine((w) => Date.parse(w.start) <= Date.parse(w.end), { message: 'the window must not end before it starts', path: ['end'] });

export const InvocationsRecordedSchema = z
  .object({
    plugin: InvocationFacts.plugin,
    environment: InvocationFacts.environment,
    tenant: InvocationFacts.tenant,
    principal: InvocationFacts.principal,
    /** Absent for calls refused before a version was chosen (not installed, not authorised). */
    version: InvocationFacts.version,
    /** Calls in the window, failed ones included. */
    count: z.number().int().positive(),
    /** Failed calls by the error code the caller received. */
    failures: z.record(z.string().min(1).max(64), z.number().int().positive()),
    /** Of the calls that ran in the sandbox; null when none did (all refused before). */
    durationMs: DurationsSchema.nullable(),
    fuelTotal: z.number().int().nonnegative(),
    bytesIn: z.number().int().nonnegative(),
    bytesOut: z.number().int().nonnegative(),
    window: CallWindowSchema,
  })
  .strict()
  .refine((d) => Object.values(d.failures).reduce((a, b) => a + b, 0) <= d.count, { message: 'more failures than calls', path: ['failures'] });

export const InvocationRecordedSchema = z
  .object({
    ...InvocationFacts,
    ok: z.boolean(),
    /** The error code the caller received, for a failed call. */
    code: z.string().min(1).max(64).optional(),
    durationMs: z.number().nonnegative().optional(),
    fuelUsed: z.number().int().nonnegative().optional(),
    bytesIn: z.number().int().nonnegative(),
    bytesOut: z.number().int().nonnegative(),
    runner: RunnerIdSchema,
  })
  .strict()
  .refine((d) => d.ok === (d.code === undefined), { message: 'a failed call carries its code, a successful one none', path: ['code'] });

export type InvocationsRecorded = { readonly type: typeof INVOCATION_EVENT_TYPES.invocationsRecorded; readonly data: z.infer<typeof InvocationsRecordedSchema> };
export type InvocationRecorded = { readonly type: typeof INVOCATION_EVENT_TYPES.invocationRecorded; readonly data: z.infer<typeof InvocationRecordedSchema> };
