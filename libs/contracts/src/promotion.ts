import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { PendingConfigChangeViewSchema } from './plugin-config.js';
import { tenantAggregateId } from './subjects.js';

/**
 * Approvals of versions for a gated environment (docs/environments.md, Promotion): one aggregate per plugin
 * and target environment of a tenant (`approval`, id `<tenant>:<publisher>/<plugin>@<environment>`), written by
 * the registry. A promotion counts the approvals standing for the version it promotes.
 */
export const APPROVAL_AGGREGATE = 'approval';

export const APPROVAL_EVENT_TYPES = {
  approved: 'io.forgeone.approval.version_approved.v1',
  rejected: 'io.forgeone.approval.version_rejected.v1',
} as const;

export function approvalAggregateId(tenant: string, name: string, environment: string): string {
  return tenantAggregateId(tenant, `${name}@${environment}`);
}

export const ApprovalNotesSchema = z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters');

/** The flagged test run whose regressions an approver accepted explicitly (`--accept-regressions`). */
export const AcceptedRegressionsSchema = z.object({ runId: z.uuid(), environment: EnvironmentSchema }).strict();

export const VersionApprovedSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    /** The gated environment the version is approved for. */
    environment: EnvironmentSchema,
    notes: ApprovalNotesSchema.optional(),
    /** Present when the latest test run in the source environment was flagged and the approver accepted its regressions. */
    acceptedRegressions: AcceptedRegressionsSchema.optional(),
  })
  .strict();

export const VersionRejectedSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    environment: EnvironmentSchema,
    notes: ApprovalNotesSchema,
  })
  .strict();

export type ApprovalEvent =
  | { readonly type: typeof APPROVAL_EVENT_TYPES.approved; readonly data: z.infer<typeof VersionApprovedSchema> }
  | { readonly type: typeof APPROVAL_EVENT_TYPES.rejected; readonly data: z.infer<typeof VersionRejectedSchema> };

/**
 * What a promotion appended into its target, on the `installed` / `upgraded` event: the source environment,
 * the approvals it counted (principals and their approval events) and the test run it relied on.
 */
export const PromotionRecordSchema = z
  .object({
    from: EnvironmentSchema,
    approvals: z.array(z.object({ principal: z.string().min(1).max(256), eventId: z.string().min(1).max(128) }).strict()).max(64),
    testRunId: z.uuid(),
    /** The flagged run whose regressions an approval accepted; absent when the run was not flagged. */
    acceptedRegressionsRunId: z.uuid().optional(),
  })
  .strict();
export type PromotionRecord = z.infer<typeof PromotionRecordSchema>;

/** Each gate a promotion must pass; a refusal (`PROMOTION.GATES_UNMET`) lists every unmet one with its code. */
export const PROMOTION_GATE_CODES = [
  'PROMOTION.NOT_GATED',
  'PROMOTION.WRONG_SOURCE',
  'PROMOTION.NOT_IN_SOURCE',
  'PROMOTION.TEST_RUN_MISSING',
  'PROMOTION.TEST_RUN_FAILED',
  'PROMOTION.TEST_RUN_STALE',
  'PROMOTION.REGRESSION_NOT_ACCEPTED',
  'PROMOTION.SIGNATURE',
  'PROMOTION.SOAK',
  'PROMOTION.APPROVALS',
  'PROMOTION.REJECTED',
  'PROMOTION.REVIEW_REQUIRED',
  'PROMOTION.TARGET',
] as const;
export type PromotionGateCode = (typeof PROMOTION_GATE_CODES)[number];

export const PromotionGateSchema = z.object({ code: z.enum(PROMOTION_GATE_CODES), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).strict();
export type PromotionGate = z.infer<typeof PromotionGateSchema>;

/** `plugin approve NAME@VERSION --env ENV [--notes] [--accept-regressions]`. */
export const ApprovePluginRequestSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    environment: EnvironmentSchema,
    notes: ApprovalNotesSchema.optional(),
    acceptRegressions: z.boolean().optional().describe('true: the approver has seen the regressions flagged on the latest test run in the source environment and accepts them'),
  })
  .strict();
export type ApprovePluginRequest = z.infer<typeof ApprovePluginRequestSchema>;

/** `plugin reject NAME@VERSION --env ENV --notes TEXT`: a standing rejection blocks the version's promotion. */
export const RejectPluginRequestSchema = z
  .object({ name: PluginNameSchema, version: SemverSchema, environment: EnvironmentSchema, notes: ApprovalNotesSchema })
  .strict();
export type RejectPluginRequest = z.infer<typeof RejectPluginRequestSchema>;

export const ApprovalReplySchema = z.object({
  name: PluginNameSchema,
  version: SemverSchema,
  environment: EnvironmentSchema,
  decision: z.enum(['approved', 'rejected']),
  /** `unchanged`: the caller's standing decision on this version was already this one; nothing was appended. */
  outcome: z.enum(['recorded', 'unchanged']),
  eventId: z.string().nullable(),
  sequence: z.number().int(),
});
export type ApprovalReply = z.infer<typeof ApprovalReplySchema>;

/** `plugin promote NAME@VERSION --from SRC --to DST [--dry-run]`. */
export const PromotePluginRequestSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    from: EnvironmentSchema,
    to: EnvironmentSchema,
    dryRun: z.boolean().describe('true: evaluate every gate and change nothing').optional(),
  })
  .strict();
export type PromotePluginRequest = z.infer<typeof PromotePluginRequestSchema>;

export const PromotionReplySchema = z.object({
  name: PluginNameSchema,
  version: SemverSchema,
  environment: EnvironmentSchema,
  digest: z.string(),
  /** True for a dry run: every gate held and nothing was appended. */
  dryRun: z.boolean(),
  promotion: PromotionRecordSchema,
  /** The event appended into the target (installed or upgraded); null for a dry run. */
  eventId: z.string().nullable(),
  sequence: z.number().int(),
  /** Configuration changes of the plugin in the target that wait for approval: a promotion never applies them. */
  pendingConfigChanges: z.array(PendingConfigChangeViewSchema),
});
export type PromotionReply = z.infer<typeof PromotionReplySchema>;
