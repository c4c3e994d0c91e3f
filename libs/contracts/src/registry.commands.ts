import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { DigestSchema, EmergencyChangeSchema, RollbackReasonSchema } from './plugin.events.js';
import { SignatureModeSchema, SignatureReasonSchema, SignatureStageSchema } from './signing.js';

/** Verbs of `forgeone.cmd.registry.<verb>`. */
export const REGISTRY_VERBS = {
  publish: 'publish',
  install: 'install',
  upgrade: 'upgrade',
  rollback: 'rollback',
  remove: 'remove',
  approve: 'approve',
  reject: 'reject',
  promote: 'promote',
} as const;

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

/**
 * `true` runs every check the command runs, in the same order (policy, the decider, the signature in
 * the environment's mode), appends nothing and answers an InstallationDryRunResult or the error the
 * command would answer.
 */
export const DryRunFlagSchema = z
  .boolean()
  .describe('true: run every check the command runs (policy, the decider, the signature in the environment\'s mode) and change nothing')
  .optional();

export const InstallPluginRequestSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    environment: EnvironmentSchema,
    dryRun: DryRunFlagSchema,
    /** Into a gated environment only, instead of a promotion: its own policy action, recorded with the reason. */
    emergency: EmergencyChangeSchema.optional().describe('an emergency change into a gated environment, with its reason (needs emergency-change); signatures are still checked'),
  })
  .strict();

export const UpgradePluginRequestSchema = InstallPluginRequestSchema;

/** Go back to a lower version than the one installed; the reason is recorded with the event. */
export const RollbackPluginRequestSchema = z
  .object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema, reason: RollbackReasonSchema, dryRun: DryRunFlagSchema })
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

/** The checks a dry run reports, in the order the command runs them. */
export const DRY_RUN_CHECKS = ['authorisation', 'decision', 'signature'] as const;
export type DryRunCheckName = (typeof DRY_RUN_CHECKS)[number];

/**
 * What an install, upgrade or rollback with `dryRun: true` answers when every check passes: the
 * events the command would append and the signature verdict, of which nothing was appended. A dry run
 * that fails answers the command's own error, with `details.dryRun: true` and `details.failedCheck`.
 */
export const InstallationDryRunResultSchema = z.object({
  dryRun: z.literal(true),
  wouldSucceed: z.literal(true),
  name: PluginNameSchema,
  version: SemverSchema,
  environment: EnvironmentSchema,
  digest: DigestSchema.optional(),
  checks: z.array(z.object({ check: z.enum(DRY_RUN_CHECKS), ok: z.boolean(), message: z.string() })),
  /** The plugin events the command would append, in order. */
  events: z.array(z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) })),
  /** How the version's signature verified in the environment; the real command records it as a signature event. */
  signature: z.object({
    stage: SignatureStageSchema,
    mode: SignatureModeSchema,
    threshold: z.number().int(),
    ok: z.boolean(),
    reason: SignatureReasonSchema.nullable(),
    /** An audit-mode environment accepts a failing signature and flags it. */
    flagged: z.boolean(),
    message: z.string(),
  }),
});

export type PublishPluginVersionRequest = z.infer<typeof PublishPluginVersionRequestSchema>;
export type InstallPluginRequest = z.infer<typeof InstallPluginRequestSchema>;
export type UpgradePluginRequest = z.infer<typeof UpgradePluginRequestSchema>;
export type RollbackPluginRequest = z.infer<typeof RollbackPluginRequestSchema>;
export type RemovePluginRequest = z.infer<typeof RemovePluginRequestSchema>;
export type PublishPluginVersionResult = z.infer<typeof PublishPluginVersionResultSchema>;
export type InstallationResult = z.infer<typeof InstallationResultSchema>;
export type InstallationDryRunResult = z.infer<typeof InstallationDryRunResultSchema>;
