import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema } from './manifest.js';
import { tenantAggregateId } from './subjects.js';

/**
 * Configuration of one plugin in one environment (docs/environments.md): the values its `config_get`
 * answers. One aggregate per plugin and environment of a tenant (`plugin-config`, id
 * `<tenant>:<publisher>/<plugin>@<environment>`), written by the registry. Secret values are stored
 * sealed (AES-256-GCM under the platform's configuration key), never in clear.
 */
export const PLUGIN_CONFIG_AGGREGATE = 'plugin-config';

export const PLUGIN_CONFIG_EVENT_TYPES = {
  /** A value applied: at once in an ungated environment, or by an approval of a proposed change (`approval`). */
  valueSet: 'io.forgeone.plugin_config.value_set.v1',
  valueUnset: 'io.forgeone.plugin_config.value_unset.v1',
  /** A change of a gated environment's configuration, waiting for another principal's approval. */
  changeProposed: 'io.forgeone.plugin_config.change_proposed.v1',
  /** A proposed change discarded by an approver; it never applies. */
  changeRejected: 'io.forgeone.plugin_config.change_rejected.v1',
} as const;

export function pluginConfigAggregateId(tenant: string, name: string, environment: string): string {
  return tenantAggregateId(tenant, `${name}@${environment}`);
}

/** Keys a plugin asks `config_get` for: letters, digits, `_`, `.` and `-`, starting with a letter or `_`. */
export const ConfigKeySchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be a configuration key: a letter or "_" then up to 63 letters, digits, "_", "." or "-"');
/** A value as the plugin reads it (UTF-8 text). */
export const ConfigValueSchema = z.string().max(4096, 'must be at most 4096 characters');

/** A secret as stored: AES-256-GCM, the key's id, a fresh 12-byte nonce, ciphertext and tag (base64). */
export const SealedSecretSchema = z
  .object({
    alg: z.literal('A256GCM'),
    keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits'),
    nonce: z.base64().length(16),
    ciphertext: z.base64().max(8192),
    tag: z.base64().length(24),
  })
  .strict();
export type SealedSecret = z.infer<typeof SealedSecretSchema>;

/** Ids of proposed configuration changes (the registry makes them, as it makes event ids). */
export const ConfigChangeIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a change id as config list shows it');
export const ConfigChangeNotesSchema = z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters');

/**
 * On a value applied by approval: which proposal, and who proposed it. The approver is the event's actor,
 * the writer's record, as on `environment.weakening_confirmed`.
 */
export const ConfigChangeApprovalSchema = z.object({ changeId: ConfigChangeIdSchema, proposedBy: z.string().min(1).max(256), notes: ConfigChangeNotesSchema.optional() }).strict();
export type ConfigChangeApproval = z.infer<typeof ConfigChangeApprovalSchema>;

const ConfigAt = { name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema };

export const PluginConfigValueSetSchema = z.union([
  z.object({ ...ConfigAt, secret: z.literal(false), value: ConfigValueSchema, approval: ConfigChangeApprovalSchema.optional() }).strict(),
  z.object({ ...ConfigAt, secret: z.literal(true), sealed: SealedSecretSchema, approval: ConfigChangeApprovalSchema.optional() }).strict(),
]);
export const PluginConfigValueUnsetSchema = z.object({ ...ConfigAt, secret: z.boolean(), approval: ConfigChangeApprovalSchema.optional() }).strict();

/** A proposed change carries what it would apply: a value in clear, a secret sealed exactly as `value_set` holds it, or a removal. */
export const PluginConfigChangeProposedSchema = z.union([
  z.object({ ...ConfigAt, changeId: ConfigChangeIdSchema, change: z.literal('set'), secret: z.literal(false), value: ConfigValueSchema }).strict(),
  z.object({ ...ConfigAt, changeId: ConfigChangeIdSchema, change: z.literal('set'), secret: z.literal(true), sealed: SealedSecretSchema }).strict(),
  z.object({ ...ConfigAt, changeId: ConfigChangeIdSchema, change: z.literal('unset'), secret: z.boolean() }).strict(),
]);
export const PluginConfigChangeRejectedSchema = z
  .object({ ...ConfigAt, changeId: ConfigChangeIdSchema, secret: z.boolean(), proposedBy: z.string().min(1).max(256), notes: ConfigChangeNotesSchema })
  .strict();

export type PluginConfigEvent =
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.valueSet; readonly data: z.infer<typeof PluginConfigValueSetSchema> }
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.valueUnset; readonly data: z.infer<typeof PluginConfigValueUnsetSchema> }
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.changeProposed; readonly data: z.infer<typeof PluginConfigChangeProposedSchema> }
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.changeRejected; readonly data: z.infer<typeof PluginConfigChangeRejectedSchema> };

/** A change waiting for approval, as the fold keeps it (one per key: a newer proposal for a key replaces the older). */
export type PendingConfigChange = {
  readonly changeId: string;
  readonly proposedBy: string;
  readonly proposedAt: string | null;
} & (
  | { readonly change: 'set'; readonly secret: false; readonly value: string }
  | { readonly change: 'set'; readonly secret: true; readonly sealed: SealedSecret }
  | { readonly change: 'unset'; readonly secret: boolean }
);

export type PluginConfigEntry =
  | { readonly secret: false; readonly value: string; readonly setBy: string | null; readonly setAt: string | null }
  | { readonly secret: true; readonly sealed: SealedSecret; readonly setBy: string | null; readonly setAt: string | null };

export interface PluginConfigState {
  readonly entries: Readonly<Record<string, PluginConfigEntry>>;
  /** Changes waiting for approval, by key; what `config_get` serves never depends on them. */
  readonly pending: Readonly<Record<string, PendingConfigChange>>;
}

export function initialPluginConfigState(): PluginConfigState {
  return { entries: {}, pending: {} };
}

/** evolve for `plugin-config`; shared by the registry's decider and the sandbox-runner, which serves the values. */
export function evolvePluginConfig(state: PluginConfigState, event: PluginConfigEvent & { readonly actor?: string; readonly time?: string }): PluginConfigState {
  switch (event.type) {
    case PLUGIN_CONFIG_EVENT_TYPES.valueSet: {
      const who = { setBy: event.actor ?? null, setAt: event.time ?? null };
      const entry: PluginConfigEntry = event.data.secret ? { secret: true, sealed: event.data.sealed, ...who } : { secret: false, value: event.data.value, ...who };
      // A value applied (approved, or at once) leaves no change of that key pending.
      return { entries: { ...state.entries, [event.data.key]: entry }, pending: without(state.pending, event.data.key) };
    }
    case PLUGIN_CONFIG_EVENT_TYPES.valueUnset:
      return { entries: without(state.entries, event.data.key), pending: without(state.pending, event.data.key) };
    case PLUGIN_CONFIG_EVENT_TYPES.changeProposed: {
      const { data } = event;
      const who = { changeId: data.changeId, proposedBy: event.actor ?? '', proposedAt: event.time ?? null };
      const change: PendingConfigChange =
        data.change === 'unset'
          ? { ...who, change: 'unset', secret: data.secret }
          : data.secret
            ? { ...who, change: 'set', secret: true, sealed: data.sealed }
            : { ...who, change: 'set', secret: false, value: data.value };
      return { entries: state.entries, pending: { ...state.pending, [data.key]: change } };
    }
    case PLUGIN_CONFIG_EVENT_TYPES.changeRejected:
      return state.pending[event.data.key]?.changeId === event.data.changeId ? { entries: state.entries, pending: without(state.pending, event.data.key) } : state;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

export function isPluginConfigEvent(event: { readonly type: string }): event is PluginConfigEvent {
  return (Object.values(PLUGIN_CONFIG_EVENT_TYPES) as string[]).includes(event.type);
}

/**
 * What a sealed secret is bound to (the AES-GCM additional data): a ciphertext copied to another
 * key, plugin, environment or tenant does not open.
 */
export function sealedSecretBinding(tenant: string, name: string, environment: string, key: string): string {
  return `forgeone.plugin-config.v1\n${tenant}\n${name}\n${environment}\n${key}`;
}

export const SetPluginConfigRequestSchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema, value: ConfigValueSchema, secret: z.boolean().default(false) })
  .strict();
export const UnsetPluginConfigRequestSchema = z.object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema }).strict();
export const ListPluginConfigRequestSchema = z.object({ name: PluginNameSchema, environment: EnvironmentSchema }).strict();
/** `plugin config approve NAME --env ENV --change ID [--notes TEXT]`. */
export const ApprovePluginConfigRequestSchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, changeId: ConfigChangeIdSchema, notes: ConfigChangeNotesSchema.optional() })
  .strict();
/** `plugin config reject NAME --env ENV --change ID --notes TEXT`. */
export const RejectPluginConfigRequestSchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, changeId: ConfigChangeIdSchema, notes: ConfigChangeNotesSchema })
  .strict();

/** A change waiting for approval as `config list` and `promote` show it: a secret's value never. */
export const PendingConfigChangeViewSchema = z
  .object({
    changeId: ConfigChangeIdSchema,
    key: ConfigKeySchema,
    change: z.enum(['set', 'unset']),
    secret: z.boolean(),
    /** The proposed value; null for a secret and for a removal. */
    value: z.string().nullable(),
    proposedBy: z.string(),
    proposedAt: z.string().nullable(),
  })
  .strict();
export type PendingConfigChangeView = z.infer<typeof PendingConfigChangeViewSchema>;

/** One entry as `config list` shows it: a secret's value is never shown again, only that it is set. */
export const PluginConfigEntryViewSchema = z
  .object({ key: ConfigKeySchema, secret: z.boolean(), value: z.string().nullable(), setBy: z.string().nullable(), setAt: z.string().nullable() })
  .strict();
export const PluginConfigListReplySchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, entries: z.array(PluginConfigEntryViewSchema), pending: z.array(PendingConfigChangeViewSchema) })
  .strict();
export type PluginConfigListReply = z.infer<typeof PluginConfigListReplySchema>;
export const PluginConfigChangeReplySchema = z
  .object({
    name: PluginNameSchema,
    environment: EnvironmentSchema,
    key: ConfigKeySchema,
    secret: z.boolean(),
    /** `proposed`: the environment is gated, the change waits for approval (`changeId`) and config_get still serves the old value. */
    outcome: z.enum(['set', 'unset', 'unchanged', 'proposed', 'rejected']),
    changeId: ConfigChangeIdSchema.optional(),
    sequence: z.number().int().min(0),
  })
  .strict();
export type PluginConfigChangeReply = z.infer<typeof PluginConfigChangeReplySchema>;

export function pluginConfigListOf(name: string, environment: string, state: PluginConfigState): PluginConfigListReply {
  return {
    name,
    environment,
    entries: Object.keys(state.entries)
      .sort()
      .map((key) => {
        const entry = state.entries[key];
        return { key, secret: entry.secret, value: entry.secret ? null : entry.value, setBy: entry.setBy, setAt: entry.setAt };
      }),
    pending: pendingConfigChangesOf(state),
  };
}

/** The changes waiting for approval, by key; a secret's sealed value stays out. */
export function pendingConfigChangesOf(state: PluginConfigState): PendingConfigChangeView[] {
  return Object.keys(state.pending)
    .sort()
    .map((key) => {
      const p = state.pending[key];
      const value = p.change === 'set' && !p.secret ? p.value : null;
      return { changeId: p.changeId, key, change: p.change, secret: p.secret, value, proposedBy: p.proposedBy, proposedAt: p.proposedAt };
    });
}
