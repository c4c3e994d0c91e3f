import { z } from 'zod';

const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9][a-z0-9-]{0,62}$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const HANDLER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$/;

export const PluginNameSchema = z.string().regex(PLUGIN_NAME, 'must be "<publisher>/<plugin>" in lowercase letters, digits and "-"');
export const SemverSchema = z.string().max(64).regex(SEMVER, 'must be a semantic version such as 1.4.2');
export const EnvironmentSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a lowercase environment name such as staging or production');

export const CapabilitiesSchema = z
  .object({
    log: z.boolean().optional(),
    metrics: z.boolean().optional(),
    clock: z.boolean().optional(),
    config: z.boolean().optional(),
    storage: z.boolean().optional(),
    auth: z.boolean().optional(),
    http: z
      .object({ allow: z.array(z.string().regex(HOST, 'must be a host name, optionally *.domain or host:port')).min(1).max(64) })
      .strict()
      .optional(),
  })
  .strict();

/** The most any manifest may ask for (`limits.maxStorageBytes` / `maxStorageKeys`); the platform cap may be lower (storage-quota.ts). */
export const STORAGE_QUOTA_CEILING = { maxBytes: 1024 * 1024 * 1024, maxKeys: 1_000_000 } as const;

export const LimitsSchema = z
  .object({
    memoryMiB: z.number().int().min(1).max(4096),
    fuel: z.number().int().min(1000).max(1e12),
    timeoutMs: z.number().int().min(1).max(60_000),
    maxInputBytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
    maxOutputBytes: z.number().int().min(1).max(64 * 1024 * 1024),
    maxConcurrency: z.number().int().min(1).max(1024).optional(),
    // Plugin storage per environment; the platform caps both (FORGEONE_STORAGE_MAX_QUOTA_*), publish refuses more.
    maxStorageBytes: z
      .number()
      .int()
      .min(1)
      .max(STORAGE_QUOTA_CEILING.maxBytes, `must be at most ${STORAGE_QUOTA_CEILING.maxBytes} bytes (1 GiB); the platform's cap may be lower`)
      .optional(),
    maxStorageKeys: z
      .number()
      .int()
      .min(1)
      .max(STORAGE_QUOTA_CEILING.maxKeys, `must be at most ${STORAGE_QUOTA_CEILING.maxKeys} keys; the platform's cap may be lower`)
      .optional(),
  })
  .strict();

export const ManifestTestSchema = z
  .object({ handler: z.string().regex(HANDLER), input: z.string().max(1024 * 1024), expect: z.string().max(1024 * 1024) })
  .strict();

/** `forgeone.plugin.json` (docs/abi.md). Unknown fields are refused. */
export const PluginManifestSchema = z
  .object({
    $schema: z.string().optional(),
    name: PluginNameSchema,
    version: SemverSchema,
    abi: z.literal(1),
    description: z.string().min(1).max(1024),
    handlers: z.array(z.string().regex(HANDLER, 'must be a valid export name')).min(1).max(64),
    capabilities: CapabilitiesSchema,
    limits: LimitsSchema,
    tests: z.array(ManifestTestSchema).max(256).default([]),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    const handlers = new Set(manifest.handlers);
    if (handlers.size !== manifest.handlers.length) {
      ctx.addIssue({ code: 'custom', path: ['handlers'], message: 'handlers must be unique' });
    }
    for (const field of ['maxStorageBytes', 'maxStorageKeys'] as const) {
      if (manifest.limits[field] !== undefined && manifest.capabilities.storage !== true) {
        ctx.addIssue({ code: 'custom', path: ['limits', field], message: 'is a storage quota, but the manifest does not grant the "storage" capability' });
      }
    }
    manifest.tests.forEach((test, i) => {
      if (!handlers.has(test.handler)) {
        ctx.addIssue({ code: 'custom', path: ['tests', i, 'handler'], message: `"${test.handler}" is not one of the manifest's handlers` });
      }
    });
  });

export type PluginManifest = z.infer<typeof PluginManifestSchema>;
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** The manifest's JSON Schema, published at /schemas/forgeone.plugin.schema.json by the gateway. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PluginManifestSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://forgeone.dev/schemas/forgeone.plugin.schema.json',
    title: 'ForgeOne plugin manifest',
  };
}
