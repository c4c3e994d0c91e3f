import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { DigestSchema, PluginTestRunRecordedSchema, TestVectorResultSchema } from './plugin.events.js';
import { TenantIdSchema } from './authz.js';

/** Verb of `forgeone.cmd.registry.<verb>` that runs a version's test vectors in an environment. */
export const TEST_RUN_VERBS = { testPlugin: 'test' } as const;

/**
 * Command pattern the sandbox-runner answers on `forgeone.sandbox.test-vectors` (`names.testVectors`):
 * outside `forgeone.cmd.*`, so the bus permissions let the registry alone ask it.
 */
export const TEST_VECTORS_PATTERN = 'sandbox.test-vectors';

/** `plugin test NAME@VERSION --env ENV`: run the manifest's vectors on the digest installed in ENV. */
export const TestPluginRequestSchema = z.object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema }).strict();
export type TestPluginRequest = z.infer<typeof TestPluginRequestSchema>;

/** What a test run answers: the recorded event's data, and where it was stored. */
export const TestPluginResultSchema = PluginTestRunRecordedSchema.extend({ eventId: z.string(), sequence: z.number().int() });
export type TestPluginResult = z.infer<typeof TestPluginResultSchema>;

/** The registry's request to a runner: run the vectors of this digest as installed there for this tenant. */
export const RunTestVectorsRequestSchema = z
  .object({ tenant: TenantIdSchema, name: PluginNameSchema, version: SemverSchema, digest: DigestSchema, environment: EnvironmentSchema })
  .strict();
export type RunTestVectorsRequest = z.infer<typeof RunTestVectorsRequestSchema>;

/** The runner's answer: each vector as it ran, in the manifest's order, and who ran them. */
export const RunTestVectorsReplySchema = z
  .object({ runner: z.string().min(1), startedAt: z.iso.datetime(), completedAt: z.iso.datetime(), vectors: z.array(TestVectorResultSchema).max(256) })
  .strict();
export type RunTestVectorsReply = z.infer<typeof RunTestVectorsReplySchema>;

/** One recorded run as `GET /v1/plugins/{publisher}/{plugin}/test-runs` lists it (projection `plugin_test_runs`). */
export const TestRunViewSchema = PluginTestRunRecordedSchema.extend({
  /** Who ran it: the caller of `plugin test`, or of the install that triggered it. */
  actor: z.string(),
  sequence: z.number().int(),
});
export type TestRunView = z.infer<typeof TestRunViewSchema>;

export const TestRunListReplySchema = z.object({ runs: z.array(TestRunViewSchema) });
export type TestRunListReply = z.infer<typeof TestRunListReplySchema>;

/** How test runs are started and judged (registry configuration). */
export interface TestRunSettings {
  /** A measure beyond this many times the previous version's is a regression (FORGEONE_TEST_REGRESSION_FACTOR). */
  readonly regressionFactor: number;
  /** Environments an install or upgrade into runs the tests in automatically (FORGEONE_TEST_ON_INSTALL). */
  readonly onInstall: readonly string[];
}

export const DEFAULT_TEST_REGRESSION_FACTOR = 1.5;

/**
 * Reads FORGEONE_TEST_REGRESSION_FACTOR (a number above 1, default 1.5) and FORGEONE_TEST_ON_INSTALL
 * (comma-separated environments, default `staging`; empty turns it off). Throws naming the variable.
 */
export function parseTestRunSettings(env: Readonly<Record<string, string | undefined>>): TestRunSettings {
  const rawFactor = env.FORGEONE_TEST_REGRESSION_FACTOR?.trim();
  let regressionFactor = DEFAULT_TEST_REGRESSION_FACTOR;
  if (rawFactor !== undefined && rawFactor !== '') {
    regressionFactor = Number(rawFactor);
    if (!/^\d+(\.\d+)?$/.test(rawFactor) || !(regressionFactor > 1) || regressionFactor > 1000) {
      throw new Error(`FORGEONE_TEST_REGRESSION_FACTOR "${rawFactor}" is invalid: use a number above 1 and at most 1000, e.g. 1.5`);
    }
  }
  const rawEnvironments = env.FORGEONE_TEST_ON_INSTALL ?? 'staging';
  const onInstall = rawEnvironments
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const environment of onInstall) {
    const parsed = EnvironmentSchema.safeParse(environment);
    if (!parsed.success) throw new Error(`FORGEONE_TEST_ON_INSTALL names "${environment}", which is not an environment name: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return { regressionFactor, onInstall: [...new Set(onInstall)] };
}
