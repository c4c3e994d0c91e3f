import { EnvironmentSchema, SemverSchema, TestPluginResultSchema } from '@forgeone/contracts';
import { z } from 'zod';

/** `POST /v1/plugins/{publisher}/{plugin}/test-runs`: which version, in which environment (it must be installed there). */
export const TestRunBodySchema = z
  .object({ version: SemverSchema.describe('the version installed in the environment'), environment: EnvironmentSchema.describe('where it is installed, e.g. staging') })
  .strict();

export const TestRunReplySchema = TestPluginResultSchema.extend({
  projected: z.boolean().describe('true when the run is already listed by GET /v1/plugins/{publisher}/{plugin}/test-runs'),
});

export const TestRunListQuerySchema = z.object({ environment: EnvironmentSchema.optional().describe('only the runs in this environment') }).strict();
