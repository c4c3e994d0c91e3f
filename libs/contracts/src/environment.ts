import { z } from 'zod';
import { EnvironmentSchema } from './manifest.js';
import { signaturePolicyFor, SignatureModeSchema, type SignaturePolicy } from './signing.js';

/**
 * Environments as configuration changed through the platform (docs/environments.md): one aggregate per
 * environment of a tenant (`environment`, id `<tenant>:<name>`), written by the registry, which enforces it.
 */
export const ENVIRONMENT_AGGREGATE = 'environment';

export const ENVIRONMENT_EVENT_TYPES = {
  /** Settings that applied at once (a first setting, a strengthening, any change of an ungated environment). */
  settingsChanged: 'io.forgeone.environment.settings_changed.v1',
  /** A weakening of a gated environment, waiting for a second administrator. */
  weakeningProposed: 'io.forgeone.environment.weakening_proposed.v1',
  /** A second administrator confirmed a proposed weakening; it applies from this event on. */
  weakeningConfirmed: 'io.forgeone.environment.weakening_confirmed.v1',
} as const;

/** Upper bounds a plugin's manifest limits are held to in one environment; absent: no cap beyond the platform's. */
export const EnvironmentLimitCapsSchema = z
  .object({
    memoryMiB: z.number().int().min(1).max(4096).optional(),
    fuel: z.number().int().min(1000).max(1e12).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();
export type EnvironmentLimitCaps = z.infer<typeof EnvironmentLimitCapsSchema>;

/** A manifest's limits held to an environment's caps: each capped limit is the lower of the two. */
export function capLimits<L extends { readonly memoryMiB: number; readonly fuel: number; readonly timeoutMs: number }>(limits: L, caps: EnvironmentLimitCaps): L {
  return {
    ...limits,
    memoryMiB: Math.min(limits.memoryMiB, caps.memoryMiB ?? Infinity),
    fuel: Math.min(limits.fuel, caps.fuel ?? Infinity),
    timeoutMs: Math.min(limits.timeoutMs, caps.timeoutMs ?? Infinity),
  };
}

/** Soak times are whole seconds, at most a year. */
export const SoakSecondsSchema = z.number().int().min(0, 'must be 0 or more seconds').max(366 * 86_400, 'must be at most a year');

/** Everything one environment decides, as it stands after an event. */
export const EnvironmentSettingsSchema = z
  .object({
    mode: SignatureModeSchema,
    threshold: z.number().int().min(1).max(16),
    /** Installs into a gated environment will go through promotion from `promotedFrom` (not enforced yet). */
    gated: z.boolean(),
    promotedFrom: EnvironmentSchema.nullable(),
    approvals: z.number().int().min(0).max(16),
    soakSeconds: SoakSecondsSchema,
    limitCaps: EnvironmentLimitCapsSchema,
  })
  .strict();
export type EnvironmentSettings = z.infer<typeof EnvironmentSettingsSchema>;

/** The settings fields a weakening may touch, named in events and messages. */
export const ENVIRONMENT_SETTING_FIELDS = ['mode', 'threshold', 'gated', 'promotedFrom', 'approvals', 'soakSeconds', 'limitCaps'] as const;
export type EnvironmentSettingField = (typeof ENVIRONMENT_SETTING_FIELDS)[number];
const FieldsSchema = z.array(z.enum(ENVIRONMENT_SETTING_FIELDS)).min(1);

export const EnvironmentSettingsChangedSchema = z
  .object({ environment: EnvironmentSchema, before: EnvironmentSettingsSchema, after: EnvironmentSettingsSchema, changed: FieldsSchema })
  .strict();

export const EnvironmentWeakeningProposedSchema = z
  .object({
    environment: EnvironmentSchema,
    proposalId: z.string().min(1).max(128),
    before: EnvironmentSettingsSchema,
    after: EnvironmentSettingsSchema,
    changed: FieldsSchema,
    /** The fields that weaken the environment, and so wait for a second administrator. */
    weakened: FieldsSchema,
  })
  .strict();

export const EnvironmentWeakeningConfirmedSchema = z
  .object({
    environment: EnvironmentSchema,
    proposalId: z.string().min(1).max(128),
    /** Who proposed it; the event's actor is who confirmed it. */
    proposedBy: z.string().min(1).max(256),
    before: EnvironmentSettingsSchema,
    after: EnvironmentSettingsSchema,
  })
  .strict();

export type EnvironmentEvent =
  | { readonly type: typeof ENVIRONMENT_EVENT_TYPES.settingsChanged; readonly data: z.infer<typeof EnvironmentSettingsChangedSchema> }
  | { readonly type: typeof ENVIRONMENT_EVENT_TYPES.weakeningProposed; readonly data: z.infer<typeof EnvironmentWeakeningProposedSchema> }
  | { readonly type: typeof ENVIRONMENT_EVENT_TYPES.weakeningConfirmed; readonly data: z.infer<typeof EnvironmentWeakeningConfirmedSchema> };

/** A weakening waiting for a second administrator. */
export interface PendingWeakening {
  readonly proposalId: string;
  readonly proposedBy: string;
  readonly proposedAt: string | null;
  readonly before: EnvironmentSettings;
  readonly after: EnvironmentSettings;
  readonly weakened: readonly EnvironmentSettingField[];
}

/** One environment as its events leave it; `settings` null while it was never set (its defaults apply). */
export interface EnvironmentState {
  readonly settings: EnvironmentSettings | null;
  readonly pending: PendingWeakening | null;
  /** Who changed it last, and when (from the envelope), for `env show`. */
  readonly changedBy: string | null;
  readonly changedAt: string | null;
}

export function initialEnvironmentState(): EnvironmentState {
  return { settings: null, pending: null, changedBy: null, changedAt: null };
}

/**
 * evolve(state, event) → state for the environment aggregate. Here rather than in a domain library
 * because the sandbox-runner folds environments too (it verifies modules in the environment's mode),
 * and the registry's decider uses the same fold.
 */
export function evolveEnvironment(state: EnvironmentState, event: EnvironmentEvent & { readonly actor?: string; readonly time?: string }): EnvironmentState {
  const who = { changedBy: event.actor ?? null, changedAt: event.time ?? null };
  switch (event.type) {
    case ENVIRONMENT_EVENT_TYPES.settingsChanged:
      // A change that applied at once leaves a proposal made against other settings without a base.
      return { settings: event.data.after, pending: null, ...who };
    case ENVIRONMENT_EVENT_TYPES.weakeningProposed:
      return {
        ...state,
        settings: state.settings ?? event.data.before,
        pending: {
          proposalId: event.data.proposalId,
          proposedBy: event.actor ?? '',
          proposedAt: event.time ?? null,
          before: event.data.before,
          after: event.data.after,
          weakened: event.data.weakened,
        },
      };
    case ENVIRONMENT_EVENT_TYPES.weakeningConfirmed:
      return { settings: event.data.after, pending: null, ...who };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The environment events among a stream of envelopes (others are ignored). */
export function isEnvironmentEvent(event: { readonly type: string }): event is EnvironmentEvent {
  return (Object.values(ENVIRONMENT_EVENT_TYPES) as string[]).includes(event.type);
}

/**
 * The settings of an environment that was never set: its signature mode and threshold from the
 * first-start signature policy (FORGEONE_SIGNATURE_POLICY over production strict, staging audit,
 * every other environment strict with threshold 1), `production` gated from `staging` with one
 * approval and no soak, every other environment not gated.
 */
export function defaultEnvironmentSettings(environment: string, policy: SignaturePolicy): EnvironmentSettings {
  const { mode, threshold } = signaturePolicyFor(policy, environment);
  const production = environment === 'production';
  return { mode, threshold, gated: production, promotedFrom: production ? 'staging' : null, approvals: production ? 1 : 0, soakSeconds: 0, limitCaps: {} };
}

/** The environments a fresh platform shows before anyone set one. */
export function defaultEnvironmentNames(policy: SignaturePolicy): string[] {
  return [...new Set(['staging', 'production', ...Object.keys(policy)])].sort();
}

/** The fields in which `after` differs from `before`. */
export function changedSettingFields(before: EnvironmentSettings, after: EnvironmentSettings): EnvironmentSettingField[] {
  return ENVIRONMENT_SETTING_FIELDS.filter((field) => JSON.stringify(canonicalCaps(before)[field]) !== JSON.stringify(canonicalCaps(after)[field]));
}

/**
 * The fields in which `after` is weaker than `before`: audit instead of strict, a lower threshold,
 * no longer gated, promoted from another environment, fewer approvals, a shorter soak, a cap raised
 * or removed. Only a gated environment's weakenings wait for a second administrator.
 */
export function weakenedSettingFields(before: EnvironmentSettings, after: EnvironmentSettings): EnvironmentSettingField[] {
  const weaker: EnvironmentSettingField[] = [];
  if (before.mode === 'strict' && after.mode === 'audit') weaker.push('mode');
  if (after.threshold < before.threshold) weaker.push('threshold');
  if (before.gated && !after.gated) weaker.push('gated');
  if (before.gated && after.gated && before.promotedFrom !== after.promotedFrom) weaker.push('promotedFrom');
  if (after.approvals < before.approvals) weaker.push('approvals');
  if (after.soakSeconds < before.soakSeconds) weaker.push('soakSeconds');
  const caps = ['memoryMiB', 'fuel', 'timeoutMs'] as const;
  if (caps.some((cap) => before.limitCaps[cap] !== undefined && (after.limitCaps[cap] === undefined || after.limitCaps[cap] > before.limitCaps[cap]))) weaker.push('limitCaps');
  return weaker;
}

// Caps compare by value whatever order their keys were written in.
function canonicalCaps(settings: EnvironmentSettings): EnvironmentSettings {
  const { memoryMiB, fuel, timeoutMs } = settings.limitCaps;
  return {
    ...settings,
    limitCaps: { ...(memoryMiB !== undefined ? { memoryMiB } : {}), ...(fuel !== undefined ? { fuel } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
  };
}

/** Verbs of `forgeone.cmd.registry.<verb>` for environments and plugin configuration. */
export const ENVIRONMENT_VERBS = {
  listEnvironments: 'environments.list',
  showEnvironment: 'environments.show',
  setEnvironment: 'environments.set',
  confirmEnvironment: 'environments.confirm',
  setPluginConfig: 'plugin-config.set',
  unsetPluginConfig: 'plugin-config.unset',
  listPluginConfig: 'plugin-config.list',
  approvePluginConfig: 'plugin-config.approve',
  rejectPluginConfig: 'plugin-config.reject',
} as const;

/**
 * A change of settings: only the fields given change. `gated: true` needs `promotedFrom` (given now or
 * already set); `gated: false` clears it.
 */
export const SetEnvironmentRequestSchema = z
  .object({
    environment: EnvironmentSchema,
    mode: SignatureModeSchema.optional(),
    threshold: z.number().int().min(1, 'must be 1 or more').max(16, 'must be at most 16').optional(),
    gated: z.boolean().optional(),
    promotedFrom: EnvironmentSchema.optional(),
    approvals: z.number().int().min(0, 'must be 0 or more').max(16, 'must be at most 16').optional(),
    soakSeconds: SoakSecondsSchema.optional(),
    limitCaps: EnvironmentLimitCapsSchema.optional(),
  })
  .strict();
export type SetEnvironmentRequest = z.infer<typeof SetEnvironmentRequestSchema>;

export const EnvironmentNameRequestSchema = z.object({ environment: EnvironmentSchema }).strict();
export const ListEnvironmentsRequestSchema = z.object({}).strict();

/** One environment as `env show` and `env list` answer it. */
export const EnvironmentViewSchema = z
  .object({
    environment: EnvironmentSchema,
    settings: EnvironmentSettingsSchema,
    /** false: never set, its defaults apply. */
    configured: z.boolean(),
    changedBy: z.string().nullable(),
    changedAt: z.string().nullable(),
    pending: z
      .object({
        proposalId: z.string(),
        proposedBy: z.string(),
        proposedAt: z.string().nullable(),
        after: EnvironmentSettingsSchema,
        weakened: z.array(z.enum(ENVIRONMENT_SETTING_FIELDS)),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type EnvironmentView = z.infer<typeof EnvironmentViewSchema>;

export const EnvironmentListReplySchema = z.object({ environments: z.array(EnvironmentViewSchema) }).strict();

/** What a change answers: `applied` at once, `proposed` (waiting for a second administrator), or `unchanged`. */
export const EnvironmentChangeReplySchema = z
  .object({
    outcome: z.enum(['applied', 'proposed', 'confirmed', 'unchanged']),
    environment: EnvironmentViewSchema,
    sequence: z.number().int().min(0),
  })
  .strict();
export type EnvironmentChangeReply = z.infer<typeof EnvironmentChangeReplySchema>;

export function environmentView(environment: string, state: EnvironmentState, defaults: EnvironmentSettings): EnvironmentView {
  const { pending } = state;
  return {
    environment,
    settings: state.settings ?? defaults,
    configured: state.settings !== null,
    changedBy: state.changedBy,
    changedAt: state.changedAt,
    pending: pending ? { proposalId: pending.proposalId, proposedBy: pending.proposedBy, proposedAt: pending.proposedAt, after: pending.after, weakened: [...pending.weakened] } : null,
  };
}
