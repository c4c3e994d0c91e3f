import { z } from 'zod';
import { EnvironmentSchema, PluginManifestSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { PromotionRecordSchema } from './promotion.js';

export const DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>');

/**
 * The signature a version was published with: the envelope is kept in the artifact store under its
 * digest, and `signedAt` is the time the platform recorded it (the publish time), against which key
 * validity and revocation are judged at every later verification.
 */
export const StoredSignatureSchema = z.object({ envelopeDigest: DigestSchema, signedAt: z.iso.datetime() }).strict();
export type StoredSignature = z.infer<typeof StoredSignatureSchema>;

/** Event type strings are the wire contract (never class names). */
export const PLUGIN_EVENT_TYPES = {
  versionPublished: 'io.forgeone.plugin.version_published.v1',
  installed: 'io.forgeone.plugin.installed.v1',
  upgraded: 'io.forgeone.plugin.upgraded.v1',
  rolledBack: 'io.forgeone.plugin.rolled_back.v1',
  removed: 'io.forgeone.plugin.removed.v1',
  testRunRecorded: 'io.forgeone.plugin.test_run_recorded.v1',
} as const;

export const PluginVersionPublishedSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    digest: DigestSchema,
    sizeBytes: z.number().int().positive(),
    manifestDigest: DigestSchema,
    manifest: PluginManifestSchema,
    publisher: z.string().min(1),
    /** Absent when the version was published unsigned. */
    signature: StoredSignatureSchema.optional(),
    /**
     * Entries of `capabilities.http.allow` that name a refused address (loopback, private,
     * link-local, ...) and that the publisher was allowed to keep (`publish-private-egress`): the
     * sandbox-runner lets this version, and only it, reach them. Absent when there are none.
     */
    privateEgress: z.array(z.string()).min(1).max(64).optional(),
  })
  .strict()
  .superRefine((data, ctx) => {
    const allow = data.manifest.capabilities.http?.allow ?? [];
    data.privateEgress?.forEach((entry, i) => {
      if (!allow.includes(entry)) ctx.addIssue({ code: 'custom', path: ['privateEgress', i], message: `"${entry}" is not an entry of capabilities.http.allow` });
    });
  });

/**
 * An install or upgrade that skipped promotion into a gated environment, with its own Cedar action and the
 * reason given: it never skips signature checks, and it marks the plugin as needing review.
 */
export const EmergencyChangeSchema = z
  .object({ reason: z.string().trim().min(1, 'must say why the change is an emergency (1 to 1000 characters)').max(1000) })
  .strict();
export type EmergencyChange = z.infer<typeof EmergencyChangeSchema>;

export const PluginInstalledSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    digest: DigestSchema,
    environment: EnvironmentSchema,
    /** Present only on an emergency change into a gated environment. */
    emergency: EmergencyChangeSchema.optional(),
    /** Present only when a promotion from another environment appended it. */
    promotion: PromotionRecordSchema.optional(),
  })
  .strict();

export const PluginUpgradedSchema = z
  .object({
    name: PluginNameSchema,
    fromVersion: SemverSchema,
    version: SemverSchema,
    digest: DigestSchema,
    environment: EnvironmentSchema,
    /** Present only on an emergency change into a gated environment. */
    emergency: EmergencyChangeSchema.optional(),
    /** Present only when a promotion from another environment appended it. */
    promotion: PromotionRecordSchema.optional(),
  })
  .strict();

/** The text a rollback must carry: why an environment goes back to a version it has moved past. */
export const RollbackReasonSchema = z
  .string()
  .trim()
  .min(1, 'must say why the version is rolled back (1 to 500 characters)')
  .max(500, 'must be at most 500 characters');

export const PluginRolledBackSchema = z
  .object({
    name: PluginNameSchema,
    fromVersion: SemverSchema,
    version: SemverSchema,
    digest: DigestSchema,
    environment: EnvironmentSchema,
    reason: RollbackReasonSchema,
  })
  .strict();

export const PluginRemovedSchema = z
  .object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema })
  .strict();

/** What a test run measures of each vector, and of the run as a whole (the sums; memory: the highest). */
export const TEST_RUN_METRICS = ['durationMs', 'fuel', 'memoryPeakBytes', 'outputBytes'] as const;
export type TestRunMetric = (typeof TEST_RUN_METRICS)[number];

export const TestRunMeasuresSchema = z
  .object({
    durationMs: z.number().nonnegative(),
    fuel: z.number().int().nonnegative(),
    memoryPeakBytes: z.number().int().nonnegative(),
    outputBytes: z.number().int().nonnegative(),
  })
  .strict();
export type TestRunMeasures = z.infer<typeof TestRunMeasuresSchema>;

/**
 * One manifest test vector as the platform ran it. Inputs and outputs are not recorded (they may hold
 * personal data and events cannot be erased): the output is kept as its sha256 and size.
 */
export const TestVectorResultSchema = TestRunMeasuresSchema.extend({
  /** The vector's position in the manifest's `tests`. */
  index: z.number().int().nonnegative(),
  handler: z.string().min(1),
  passed: z.boolean(),
  outputSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** `SANDBOX.*` code and message when the call failed; null when it returned (passed or not). */
  error: z.object({ code: z.string().min(1), message: z.string().max(2000) }).strict().nullable(),
}).strict();
export type TestVectorResult = z.infer<typeof TestVectorResultSchema>;

/** A measure of this run beyond `limitFactor` times the previous version's run in the same environment. */
export const TestRunRegressionSchema = z
  .object({ metric: z.enum(TEST_RUN_METRICS), previous: z.number().nonnegative(), current: z.number().nonnegative(), factor: z.number().nonnegative() })
  .strict();
export type TestRunRegression = z.infer<typeof TestRunRegressionSchema>;

/**
 * A run of a version's manifest test vectors through the real sandbox, on the digest installed in
 * `environment`, recorded by the registry (plugin aggregate). `passed`: every vector passed (a version
 * without vectors passes with none). `regressions` lists the measures beyond `limitFactor` times the
 * previous version's latest run there (`comparedWith`); a run with regressions is `flagged`.
 */
export const PluginTestRunRecordedSchema = z
  .object({
    runId: z.uuid(),
    name: PluginNameSchema,
    version: SemverSchema,
    digest: DigestSchema,
    environment: EnvironmentSchema,
    /** What started the run: a `plugin test` command, or an install/upgrade into the environment. */
    trigger: z.enum(['command', 'install']),
    /** The sandbox-runner instance that ran the vectors. */
    runner: z.string().min(1),
    startedAt: z.iso.datetime(),
    completedAt: z.iso.datetime(),
    passed: z.boolean(),
    vectors: z.array(TestVectorResultSchema).max(256),
    totals: TestRunMeasuresSchema,
    comparedWith: z.object({ version: SemverSchema, digest: DigestSchema, runId: z.uuid() }).strict().nullable(),
    limitFactor: z.number().positive(),
    regressions: z.array(TestRunRegressionSchema),
    flagged: z.boolean(),
  })
  .strict();
export type PluginTestRunRecordedData = z.infer<typeof PluginTestRunRecordedSchema>;

export type PluginVersionPublished = { readonly type: typeof PLUGIN_EVENT_TYPES.versionPublished; readonly data: z.infer<typeof PluginVersionPublishedSchema> };
export type PluginInstalled = { readonly type: typeof PLUGIN_EVENT_TYPES.installed; readonly data: z.infer<typeof PluginInstalledSchema> };
export type PluginUpgraded = { readonly type: typeof PLUGIN_EVENT_TYPES.upgraded; readonly data: z.infer<typeof PluginUpgradedSchema> };
export type PluginRolledBack = { readonly type: typeof PLUGIN_EVENT_TYPES.rolledBack; readonly data: z.infer<typeof PluginRolledBackSchema> };
export type PluginRemoved = { readonly type: typeof PLUGIN_EVENT_TYPES.removed; readonly data: z.infer<typeof PluginRemovedSchema> };

export type PluginTestRunRecorded = { readonly type: typeof PLUGIN_EVENT_TYPES.testRunRecorded; readonly data: PluginTestRunRecordedData };

/** Every event of the plugin aggregate, as a discriminated union on `type`. */
export type PluginEvent = PluginVersionPublished | PluginInstalled | PluginUpgraded | PluginRolledBack | PluginRemoved | PluginTestRunRecorded;

/** The aggregate name used in event subjects: `forgeone.evt.plugin.<name>`. */
export const PLUGIN_AGGREGATE = 'plugin';
