import {
  DigestSchema,
  EnvironmentSchema,
  InstallationResultSchema,
  InstallPluginRequestSchema,
  PluginNameSchema,
  PublishPluginVersionRequestSchema,
  PublishPluginVersionResultSchema,
  SemverSchema,
  UpgradePluginRequestSchema,
} from '@forgeone/contracts';
import { AUDIT_LOG_MAX_LIMIT } from '@forgeone/persistence';
import { z } from 'zod';

// The HTTP API v1 as zod schemas: controllers validate with them and /docs is generated from them,
// so the document cannot drift from what the gateway accepts and answers.

// One segment of a plugin name in a path (`/v1/plugins/{publisher}/{plugin}`).
export const PathSegmentSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-"');

// ---- request bodies (the environment and the plugin name come from the path) ----

export const PublishBodySchema = PublishPluginVersionRequestSchema;
export const InstallBodySchema = InstallPluginRequestSchema.omit({ environment: true });
export const UpgradeBodySchema = UpgradePluginRequestSchema.pick({ version: true });

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

// ---- replies ----

export const PublishReplySchema = PublishPluginVersionResultSchema.extend({
  projected: z.boolean().describe('true when the new version is already visible in GET /v1/plugins'),
});

export const InstallationReplySchema = InstallationResultSchema.extend({
  projected: z.boolean().describe('true when the change is already visible in GET /v1/plugins'),
});

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
  manifest: z.record(z.string(), z.unknown()),
});

export const PluginDetailReplySchema = z.object({
  name: PluginNameSchema,
  latestVersion: SemverSchema,
  versions: z.array(PluginVersionSchema).describe('oldest publication first'),
  installations: z.array(InstallationSchema),
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
});

export const HistoryReplySchema = z.object({ events: z.array(AuditEntrySchema) });
export const AuditLogReplySchema = z.object({ entries: z.array(AuditEntrySchema) });

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
export type PluginListReply = z.infer<typeof PluginListReplySchema>;
export type PluginDetailReply = z.infer<typeof PluginDetailReplySchema>;
export type AuditEntryReply = z.infer<typeof AuditEntrySchema>;
export type ServiceReadiness = z.infer<typeof ServiceReadinessSchema>;
export type ReadyzReply = z.infer<typeof ReadyzReplySchema>;
