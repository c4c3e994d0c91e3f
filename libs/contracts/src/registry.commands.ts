import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { DigestSchema, RollbackReasonSchema } from './plugin.events.js';

/** Verbs of `forgeone.cmd.registry.<verb>`. */
export const REGISTRY_VERBS = { publish: 'publish', install: 'install', upgrade: 'upgrade', rollback: 'rollback', remove: 'remove' } as const;

/**
 * Publish a version. The manifest stays untyped here: the registry validates it and names
 * the field that is wrong. `wasm` is the module's bytes in base64.
 */
export const PublishPluginVersionRequestSchema = z
  .object({
    manifest: z.unknown().refine((m) => typeof m === 'object' && m !== null && !Array.isArray(m), 'must be a JSON object'),
    wasm: z.base64('must be the module bytes in base64').min(1, 'must not be empty'),
    /**
     * plugin.sig.json as sent: a DSSE envelope as UTF-8 JSON text (docs/signing.md), at most
     * SIGNATURE_LIMITS.envelopeBytes. The registry checks size and shape itself so that the refusal
     * carries the signature's own code (SIGNATURE.TOO_LARGE, SIGNATURE.MALFORMED).
     */
    signature: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

export const InstallPluginRequestSchema = z
  .object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema })
  .strict();

export const UpgradePluginRequestSchema = InstallPluginRequestSchema;

/** Go back to a lower version than the one installed; the reason is recorded with the event. */
export const RollbackPluginRequestSchema = z
  .object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema, reason: RollbackReasonSchema })
  .strict();

export const RemovePluginRequestSchema = z.object({ name: PluginNameSchema, environment: EnvironmentSchema }).strict();

export const PublishPluginVersionResultSchema = z.object({
  name: PluginNameSchema,
  version: SemverSchema,
  digest: DigestSchema,
  sizeBytes: z.number().int(),
  eventId: z.string(),
  sequence: z.number().int(),
  /** True when the same version with the same content was already published: nothing was appended. */
  unchanged: z.boolean().optional(),
  /**
   * How the signature sent with the version verified at publish, against the tenant's trust store
   * then (recorded as a signature event). Informational: each environment verifies again.
   */
  signature: z
    .object({ envelopeDigest: DigestSchema, verified: z.boolean(), reason: z.string().nullable(), message: z.string() })
    .optional(),
});

export const InstallationResultSchema = z.object({
  name: PluginNameSchema,
  version: SemverSchema,
  environment: EnvironmentSchema,
  digest: DigestSchema.optional(),
  eventId: z.string(),
  sequence: z.number().int(),
});

export type PublishPluginVersionRequest = z.infer<typeof PublishPluginVersionRequestSchema>;
export type InstallPluginRequest = z.infer<typeof InstallPluginRequestSchema>;
export type UpgradePluginRequest = z.infer<typeof UpgradePluginRequestSchema>;
export type RollbackPluginRequest = z.infer<typeof RollbackPluginRequestSchema>;
export type RemovePluginRequest = z.infer<typeof RemovePluginRequestSchema>;
export type PublishPluginVersionResult = z.infer<typeof PublishPluginVersionResultSchema>;
export type InstallationResult = z.infer<typeof InstallationResultSchema>;
