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
  valueSet: 'io.forgeone.plugin_config.value_set.v1',
  valueUnset: 'io.forgeone.plugin_config.value_unset.v1',
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

export const PluginConfigValueSetSchema = z.union([
  z.object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema, secret: z.literal(false), value: ConfigValueSchema }).strict(),
  z.object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema, secret: z.literal(true), sealed: SealedSecretSchema }).strict(),
]);
export const PluginConfigValueUnsetSchema = z.object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema, secret: z.boolean() }).strict();

export type PluginConfigEvent =
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.valueSet; readonly data: z.infer<typeof PluginConfigValueSetSchema> }
  | { readonly type: typeof PLUGIN_CONFIG_EVENT_TYPES.valueUnset; readonly data: z.infer<typeof PluginConfigValueUnsetSchema> };

export type PluginConfigEntry =
  | { readonly secret: false; readonly value: string; readonly setBy: string | null; readonly setAt: string | null }
  | { readonly secret: true; readonly sealed: SealedSecret; readonly setBy: string | null; readonly setAt: string | null };

export interface PluginConfigState {
  readonly entries: Readonly<Record<string, PluginConfigEntry>>;
}

export function initialPluginConfigState(): PluginConfigState {
  return { entries: {} };
}

/** evolve for `plugin-config`; shared by the registry's decider and the sandbox-runner, which serves the values. */
export function evolvePluginConfig(state: PluginConfigState, event: PluginConfigEvent & { readonly actor?: string; readonly time?: string }): PluginConfigState {
  switch (event.type) {
    case PLUGIN_CONFIG_EVENT_TYPES.valueSet: {
      const who = { setBy: event.actor ?? null, setAt: event.time ?? null };
      const entry: PluginConfigEntry = event.data.secret ? { secret: true, sealed: event.data.sealed, ...who } : { secret: false, value: event.data.value, ...who };
      return { entries: { ...state.entries, [event.data.key]: entry } };
    }
    case PLUGIN_CONFIG_EVENT_TYPES.valueUnset: {
      const { [event.data.key]: _gone, ...rest } = state.entries;
      return { entries: rest };
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
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

/** One entry as `config list` shows it: a secret's value is never shown again, only that it is set. */
export const PluginConfigEntryViewSchema = z
  .object({ key: ConfigKeySchema, secret: z.boolean(), value: z.string().nullable(), setBy: z.string().nullable(), setAt: z.string().nullable() })
  .strict();
export const PluginConfigListReplySchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, entries: z.array(PluginConfigEntryViewSchema) })
  .strict();
export type PluginConfigListReply = z.infer<typeof PluginConfigListReplySchema>;
export const PluginConfigChangeReplySchema = z
  .object({ name: PluginNameSchema, environment: EnvironmentSchema, key: ConfigKeySchema, secret: z.boolean(), outcome: z.enum(['set', 'unset', 'unchanged']), sequence: z.number().int().min(0) })
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
  };
}
