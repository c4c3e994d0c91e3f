import {
  ApprovalReplySchema,
  ApprovePluginConfigRequestSchema,
  ApprovePluginRequestSchema,
  RejectPluginConfigRequestSchema,
  PromotePluginRequestSchema,
  PromotionReplySchema,
  RejectPluginRequestSchema,
  AUDIT_LOG_MAX_LIMIT,
  REPORT_NAMES,
  ReportBoundSchema,
  reportRange,
  ApplyPolicySetRequestSchema,
  CreateTokenReplySchema,
  CreateTokenRequestSchema,
  DigestSchema,
  EnvironmentSchema,
  FORGERY_REASONS,
  InstallationDryRunResultSchema,
  InstallationResultSchema,
  InstallPluginRequestSchema,
  InvokeReplySchema,
  KeyIdSchema,
  ListKeysReplySchema,
  RevokeKeyReplySchema as RevokeKeyResultSchema,
  RevokeKeyRequestSchema,
  TrustKeyReplySchema as TrustKeyResultSchema,
  TrustKeyRequestSchema,
  PluginNameSchema,
  PluginStorageReplySchema,
  PolicyCheckReplySchema,
  PolicyCheckRequestSchema,
  PolicySetReplySchema,
  PublishPluginVersionRequestSchema,
  PublishPluginVersionResultSchema,
  ResourceSchema,
  ROLES,
  RevokeTokenRequestSchema,
  RollbackPluginRequestSchema,
  SemverSchema,
  TenantIdSchema,
  TokenListReplySchema,
  UpgradePluginRequestSchema,
  RecordReviewRequestSchema,
} from '@forgeone/contracts';
import { DropRejectedSchema, SetEnvironmentRequestSchema, SetPluginConfigRequestSchema } from '@forgeone/contracts';
import { z } from 'zod';

// The bodies, query strings and replies of the HTTP API v1 as zod schemas: the routes (*.routes.ts)
// name them, the gateway validates with them, the OpenAPI document and the CLI's types derive from them.

// One segment of a plugin name in a path (`/v1/plugins/{publisher}/{plugin}`).
export const PathSegmentSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-"');

// ---- request bodies (the environment and the plugin name come from the path) ----

export const SetEnvironmentBodySchema = SetEnvironmentRequestSchema.omit({ environment: true });
export const SetPluginConfigBodySchema = SetPluginConfigRequestSchema.pick({ value: true, secret: true });
export const RecordReviewBodySchema = RecordReviewRequestSchema.omit({ name: true });
/** `?overdue=true`: only the overdue plugins. */
export const ReviewListQuerySchema = z.object({ overdue: z.enum(['true', 'false'], { error: 'must be true or false' }).optional() }).strict();

export const PublishBodySchema = PublishPluginVersionRequestSchema;
export const InstallBodySchema = InstallPluginRequestSchema.omit({ environment: true });
export const UpgradeBodySchema = UpgradePluginRequestSchema.pick({ version: true, dryRun: true, emergency: true });
export const RollbackBodySchema = RollbackPluginRequestSchema.pick({ version: true, reason: true, dryRun: true });
// A plugin call: the handler comes from the path, the input as UTF-8 text or as bytes.
export const CallBodySchema = z
  .object({
    input: z.string().optional().describe('the input as UTF-8 text'),
    inputBase64: z.base64().optional().describe('the input as bytes, base64 (for input that is not UTF-8 text)'),
  })
  .strict()
  .refine((b) => (b.input === undefined) !== (b.inputBase64 === undefined), {
    message: 'send exactly one of input (UTF-8 text) or inputBase64 (bytes, base64)',
    path: ['input'],
  });

export const ApplyPoliciesBodySchema = ApplyPolicySetRequestSchema;
// The resource's tenant may be left out: it is then the what-if tenant, else the caller's own.
export const PolicyCheckBodySchema = PolicyCheckRequestSchema.extend({
  resource: ResourceSchema.extend({ tenant: TenantIdSchema.optional().describe("the resource's tenant; default: `tenant` of the check, else the caller's") }),
});
export const CreateTokenBodySchema = CreateTokenRequestSchema;
// What the gateway checks of a token request: the role vocabulary is policy's, which answers an
// unknown role with IDENTITY.UNKNOWN_ROLE listing the roles.
export const CreateTokenShapeSchema = CreateTokenRequestSchema.extend({
  role: z.string().min(1).max(64).describe(`a role policy knows (${ROLES.join(', ')}); another is refused with IDENTITY.UNKNOWN_ROLE`),
});
export const RevokeTokenBodySchema = RevokeTokenRequestSchema.pick({ reason: true });
export const TokenIdSchema = RevokeTokenRequestSchema.shape.tokenId;
export const TrustKeyBodySchema = TrustKeyRequestSchema;
export const RevokeKeyBodySchema = RevokeKeyRequestSchema.omit({ keyId: true }).partial({ reason: true });
export const KeyIdPathSchema = KeyIdSchema;

// ---- query strings ----

export const PluginListQuerySchema = z.object({ environment: EnvironmentSchema.optional() }).strict();

export const AuditLogQuerySchema = z
  .object({
    plugin: PluginNameSchema.optional(),
    since: z
      .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO-8601 time such as 2026-03-01T00:00:00Z' })
      .optional(),
    limit: z.coerce.number('must be a number').int('must be a whole number').min(1).max(AUDIT_LOG_MAX_LIMIT).optional(),
    after: z
      .string()
      .regex(/^\d{1,15}$/, 'must be the stream sequence of the last entry of the previous page')
      .transform(Number)
      .optional(),
  })
  .strict();

export const DEFAULT_AUDIT_LOG_LIMIT = 100;

export const TokenListQuerySchema = z.object({ tenant: TenantIdSchema.optional() }).strict();
export const RevokeTokenQuerySchema = z.object({ reason: RevokeTokenRequestSchema.shape.reason.optional() }).strict();
export const KeyListQuerySchema = z.object({}).strict();
export const RevokeKeyQuerySchema = z
  .object({ reason: RevokeKeyRequestSchema.shape.reason.optional(), revokedAt: RevokeKeyRequestSchema.shape.revokedAt })
  .strict();

// ---- replies ----

export const PublishReplySchema = PublishPluginVersionResultSchema.extend({
  projected: z.boolean().describe('true when the new version is already visible in GET /v1/plugins'),
});

export const InstallationReplySchema = InstallationResultSchema.extend({
  projected: z.boolean().describe('true when the change is already visible in GET /v1/plugins'),
});

/** Install, upgrade and rollback with `"dryRun": true` that would succeed: nothing was changed. */
export const InstallationDryRunReplySchema = InstallationDryRunResultSchema;

export const InstallationSchema = z.object({
  environment: EnvironmentSchema,
  version: SemverSchema,
  digest: DigestSchema,
  status: z.enum(['installed', 'removed']),
  updatedAt: z.string(),
});

export const PluginListReplySchema = z.object({
  plugins: z.array(
    z.object({
      name: PluginNameSchema,
      latestVersion: SemverSchema,
      versions: z.number().int().describe('how many versions are published'),
      installations: z.array(InstallationSchema),
    }),
  ),
});

export const PluginVersionSchema = z.object({
  version: SemverSchema,
  digest: DigestSchema,
  sizeBytes: z.number().int(),
  publisher: z.string(),
  publishedAt: z.string(),
  signature: z
    .object({ envelopeDigest: DigestSchema, signedAt: z.string() })
    .nullable()
    .describe('the envelope the version was published with, and when the platform recorded it; null when published unsigned'),
  privateEgress: z
    .array(z.string())
    .describe('entries of capabilities.http.allow naming loopback, private or link-local addresses that the publisher was allowed (publish-private-egress); the runner lets this version reach them'),
  manifest: z.record(z.string(), z.unknown()),
});

export const PluginDetailReplySchema = z.object({
  name: PluginNameSchema,
  latestVersion: SemverSchema,
  versions: z.array(PluginVersionSchema).describe('oldest publication first'),
  installations: z.array(InstallationSchema),
  storage: PluginStorageReplySchema.nullable().describe("storage quota and usage per environment and the tenant's total, from the sandbox-runner; null when no sandbox-runner answered"),
});

export const AuditEntrySchema = z.object({
  sequence: z.number().int().describe('position in the event stream'),
  eventId: z.string(),
  type: z.string(),
  subject: z.string(),
  actor: z.string(),
  tenant: z.string(),
  occurredAt: z.string(),
  recordedAt: z.string(),
  data: z.unknown(),
  hash: z.string(),
  prevHash: z.string(),
  traceparent: z.string().nullable(),
  forged: z
    .enum(FORGERY_REASONS)
    .nullable()
    .describe('why the event was refused as not written by the service that owns it (it changed no state); null for a genuine event'),
});

// ---- the audit log as a transparency log ----

const TreeSizeQuery = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, 'must be a tree size: a whole number from 1')
  .transform(Number);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const AuditCheckpointQuerySchema = z.object({ size: TreeSizeQuery.optional().describe('the checkpoint of this tree size; the latest when left out') }).strict();
export const AuditProofPathSchema = z.object({
  sequence: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'must be a stream sequence: a whole number from 1')
    .transform(Number)
    .describe('stream sequence of the audit row'),
});
export const AuditConsistencyQuerySchema = z
  .object({
    from: TreeSizeQuery.describe('tree size of the older checkpoint'),
    to: TreeSizeQuery.optional().describe('tree size of the newer checkpoint; the latest when left out'),
  })
  .strict();

export const AuditCheckpointReplySchema = z
  .object({
    origin: z.string().describe("the log's origin line, also the key name of its signature"),
    treeSize: z.number().int().describe('audit rows (leaves) the checkpoint covers'),
    rootHash: Hex64.describe('RFC 6962 root of the first treeSize leaves, hex'),
    keyId: Hex64.describe("sha256 of the audit key's SPKI DER"),
    note: z.string().describe('the C2SP tlog-checkpoint signed note: origin, size, base64 root, time line, blank line, signature line'),
    signedAt: z.string(),
    sequence: z.number().int().describe('stream sequence of the checkpoint event'),
  });

export const AuditInclusionProofReplySchema = z.object({
  sequence: z.number().int(),
  leaf: z.string().describe("the row's canonical leaf form; its leaf hash is sha256(0x00 ‖ UTF-8 of it)"),
  leafHash: Hex64,
  leafIndex: z.number().int(),
  treeSize: z.number().int(),
  path: z.array(Hex64).describe('inclusion path, leaf side first (RFC 9162 §2.1.3)'),
  checkpoint: AuditCheckpointReplySchema,
});

export const AuditConsistencyProofReplySchema = z.object({
  from: AuditCheckpointReplySchema,
  to: AuditCheckpointReplySchema,
  proof: z.array(Hex64).describe('consistency proof (RFC 9162 §2.1.4)'),
});

export const AuditKeyReplySchema = z.object({
  publicKeyPem: z.string().describe('the audit key, SPKI PEM'),
  keyId: Hex64.describe('its fingerprint: sha256 of the SPKI DER, hex'),
  origin: z.string(),
});

const StreamSequence = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const AuditVerifyRequestSchema = z
  .object({
    publicKeyPem: z
      .string()
      .min(1)
      .max(4096)
      .describe('the audit key you pinned (SPKI PEM, from `forgeone audit key --out`): checkpoints are checked with it, never with a key the platform serves'),
    from: StreamSequence.optional().describe('first stream sequence to check (default 1)'),
    to: StreamSequence.optional().describe('last stream sequence to check (default: the last row)'),
    checkpoints: z
      .array(z.object({ origin: z.string().min(1).max(512), note: z.string().min(1).max(8192) }).strict())
      .max(64)
      .optional()
      .describe('signed checkpoints kept outside the platform (`audit checkpoint --json` output): each must verify with the key and match the recomputed root at its size'),
  })
  .strict()
  .refine((body) => body.from === undefined || body.to === undefined || body.to >= body.from, { message: 'to must be at or after from', path: ['to'] });

export const AuditVerifyReplySchema = z.object({
  ok: z.boolean(),
  rows: z.number().int().describe('audit rows checked'),
  checkpoints: z.number().int().describe('stored checkpoints checked: signature, recomputed root, consistency with the one before'),
  externalCheckpoints: z.number().int().describe('checkpoints given in the request that were checked'),
  range: z.object({ from: z.number().int(), to: z.number().int() }).optional().describe('stream sequences of the first and last row checked'),
  stream: z.literal('compared').describe('every row was compared with the event stream by event id and digest'),
  authorship: z
    .object({
      writers: z.record(z.string(), z.string()).describe('fingerprint (sha256 of the SPKI DER) of each event writer key pinned in the platform'),
      unsignedUntil: z.number().int().describe('stream sequence at or below which unsigned messages are accepted (the cut-over)'),
    })
    .describe("every row's stream message was checked to be its aggregate owner's, with the writer keys the platform pins"),
  fault: z
    .object({
      kind: z.enum(['changed', 'missing', 'inserted', 'reordered', 'checkpoint-signature-invalid', 'checkpoint-root-mismatch', 'checkpoint-inconsistent', 'forged']),
      sequence: z.number().int().optional(),
      treeSize: z.number().int().optional(),
      message: z.string(),
    })
    .optional()
    .describe('the first row or checkpoint that differs, and how'),
});

export const HistoryReplySchema = z.object({ events: z.array(AuditEntrySchema) });
export const AuditLogReplySchema = z.object({ entries: z.array(AuditEntrySchema) });

export const ApplyPoliciesReplySchema = PolicySetReplySchema.extend({
  unchanged: z.boolean().optional().describe('true when the set was identical to the active one, so no new version was made'),
  warnings: z.array(z.string()).optional().describe("Cedar's validation warnings"),
});
export const ShowPoliciesReplySchema = PolicySetReplySchema;
export const PolicyCheckResultSchema = PolicyCheckReplySchema;
export const CreateTokenResultSchema = CreateTokenReplySchema;
export const TokenListResultSchema = TokenListReplySchema;
export const RevokeTokenReplySchema = TokenListReplySchema.shape.tokens.element.extend({
  alreadyRevoked: z.boolean().describe('true when the token had been revoked before; nothing changed'),
});

export const TrustKeyReplySchema = TrustKeyResultSchema;
export const RevokeKeyReplySchema = RevokeKeyResultSchema;
export const KeyListReplySchema = ListKeysReplySchema;

// `output` when the plugin answered valid UTF-8, otherwise `outputBase64`.
export const CallReplySchema = InvokeReplySchema;

export const ErrorReplySchema = z.object({
  error: z.object({
    code: z.string().describe('stable machine code, AREA.REASON'),
    message: z.string().describe('what was wrong and what to do'),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const HealthzReplySchema = z.object({ status: z.literal('ok') });

export const ServiceReadinessSchema = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const ReadyzReplySchema = z.object({
  ready: z.boolean(),
  services: z.record(z.string(), ServiceReadinessSchema),
});

export type PublishReply = z.infer<typeof PublishReplySchema>;
export type InstallationReply = z.infer<typeof InstallationReplySchema>;
export type InstallationDryRunReply = z.infer<typeof InstallationDryRunReplySchema>;
export type CallReply = z.infer<typeof CallReplySchema>;
export type PluginListReply = z.infer<typeof PluginListReplySchema>;
export type PluginDetailReply = z.infer<typeof PluginDetailReplySchema>;
export type AuditEntryReply = z.infer<typeof AuditEntrySchema>;
export type ServiceReadiness = z.infer<typeof ServiceReadinessSchema>;
export type ReadyzReply = z.infer<typeof ReadyzReplySchema>;

/** `?from=&to=` of a report: days (`2026-12-07`) or ISO times with offset, `from` not after `to`. */
export const ReportQuerySchema = z
  .object({
    from: ReportBoundSchema.optional().describe('first day (YYYY-MM-DD) or time (ISO 8601 with offset) included'),
    to: ReportBoundSchema.optional().describe('last day (YYYY-MM-DD, included whole) or time included'),
  })
  .superRefine((q, ctx) => {
    try {
      reportRange(q.from, q.to);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: (error as Error).message.replace(/--(from|to)/g, '$1') });
    }
  });

const ReportCellSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ReportReplySchema = z.object({
  report: z.enum(REPORT_NAMES),
  tenant: z.string().describe("the caller's tenant: every row is of it (call-window gaps hold no tenant's data)"),
  from: z.string().nullable(),
  to: z.string().nullable(),
  columns: z.array(z.string()).describe('the columns of each row, in order (the view of docs/reporting.md)'),
  rows: z.array(z.record(z.string(), ReportCellSchema)),
  truncated: z.boolean().describe('true when more rows matched than the 10000 answered; narrow the range'),
});
export type ReportReply = z.infer<typeof ReportReplySchema>;

/** Body of POST /v1/environments/{environment}/watch/rejections: a drop the plugins/ directory watcher refused. */
export const ReportDropRejectedBodySchema = DropRejectedSchema.omit({ environment: true });
// Promotion: approvals of a version for a gated environment and promotions into it (docs/environments.md).
export const ApproveBodySchema = ApprovePluginRequestSchema.pick({ notes: true, acceptRegressions: true });
export const RejectBodySchema = RejectPluginRequestSchema.pick({ notes: true });
// A configuration change of a gated environment waits for approval like a version (docs/environments.md).
export const ApproveConfigChangeBodySchema = ApprovePluginConfigRequestSchema.pick({ notes: true });
export const RejectConfigChangeBodySchema = RejectPluginConfigRequestSchema.pick({ notes: true });
export const ApprovalHttpReplySchema = ApprovalReplySchema.extend({
  projected: z.boolean().describe('true when the decision is already in the audit log'),
});
export const PromoteBodySchema = PromotePluginRequestSchema.omit({ to: true });
export const PromotionHttpReplySchema = PromotionReplySchema.extend({
  projected: z.boolean().describe('true when the change is already visible in GET /v1/plugins (always false for a dry run)'),
});
