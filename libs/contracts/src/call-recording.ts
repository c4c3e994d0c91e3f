import { z } from 'zod';
import { TenantIdSchema } from './authz.js';
import { EnvironmentSchema } from './manifest.js';

/**
 * How a tenant's plugin calls are recorded: `windows` (the default) counts them in each runner's
 * window summaries; `per-call` records every call as its own `invocation_recorded` event instead
 * (one more append per call). Set per tenant, or per environment of a tenant, by the policy
 * service after Cedar allowed `configure-recording` on the tenant.
 */
export const CallRecordingModeSchema = z.enum(['windows', 'per-call']);
export type CallRecordingMode = z.infer<typeof CallRecordingModeSchema>;

export const CALL_RECORDING_EVENT_TYPES = {
  set: 'io.forgeone.policy.call_recording_set.v1',
} as const;

/** `forgeone.evt.call-recording.<tenant>`: one instance per tenant, written by the policy service. */
export const CALL_RECORDING_AGGREGATE = 'call-recording';

export const CallRecordingSetSchema = z
  .object({
    tenant: TenantIdSchema,
    /** null: the tenant's default, for environments without a setting of their own. */
    environment: EnvironmentSchema.nullable(),
    before: CallRecordingModeSchema,
    mode: CallRecordingModeSchema,
    /** Who changed it (also the envelope's actor). */
    setBy: z.string().min(1).max(256),
  })
  .strict();
export type CallRecordingSet = { readonly type: typeof CALL_RECORDING_EVENT_TYPES.set; readonly data: z.infer<typeof CallRecordingSetSchema> };

/** Body of `forgeone.cmd.policy.call_recording_set`; the tenant is the caller's unless a platform administrator names another. */
export const SetCallRecordingRequestSchema = z
  .object({
    mode: CallRecordingModeSchema,
    environment: EnvironmentSchema.optional(),
    tenant: TenantIdSchema.optional(),
  })
  .strict();

export const CallRecordingReplySchema = z.object({
  tenant: TenantIdSchema,
  environment: EnvironmentSchema.nullable().describe("null: the tenant's default"),
  before: CallRecordingModeSchema,
  mode: CallRecordingModeSchema,
  changed: z.boolean().describe('false when the mode was already in force: nothing was recorded'),
  settings: z.object({ tenantDefault: CallRecordingModeSchema, environments: z.record(z.string(), CallRecordingModeSchema) }),
  sequence: z.number().int().positive().optional().describe('stream sequence of the call_recording_set event'),
});

/** The settings of one tenant: its default and the environments that differ. */
export interface CallRecordingSettings {
  readonly tenantDefault: CallRecordingMode;
  readonly environments: Readonly<Record<string, CallRecordingMode>>;
}

export const DEFAULT_CALL_RECORDING: CallRecordingSettings = { tenantDefault: 'windows', environments: {} };

/** The mode that applies to one environment: its own setting, else the tenant's default. */
export function callRecordingFor(settings: CallRecordingSettings, environment: string): CallRecordingMode {
  return Object.hasOwn(settings.environments, environment) ? settings.environments[environment] : settings.tenantDefault;
}

/** Folds one `call_recording_set` event into a tenant's settings (pure; shared by the decider and the runner). */
export function evolveCallRecording(settings: CallRecordingSettings, event: CallRecordingSet): CallRecordingSettings {
  const { environment, mode } = event.data;
  return environment === null ? { ...settings, tenantDefault: mode } : { ...settings, environments: { ...settings.environments, [environment]: mode } };
}
