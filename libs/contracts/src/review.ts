import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema } from './manifest.js';
import { tenantAggregateId } from './subjects.js';

/**
 * Reviews of plugins, and the incidents and regulation changes that make them due (docs/reviews.md).
 * A review is an event of the plugin's `review` aggregate (`<tenant>:<publisher>/<plugin>`); incidents
 * and regulation changes are events of the tenant's `review-notice` aggregate (`<tenant>`). Both are
 * written by the registry, which decides plugin commands and enforces the review before an upgrade.
 */
export const REVIEW_AGGREGATE = 'review';
export const REVIEW_NOTICE_AGGREGATE = 'review-notice';

export const REVIEW_EVENT_TYPES = {
  recorded: 'io.forgeone.review.recorded.v1',
} as const;

export const REVIEW_NOTICE_EVENT_TYPES = {
  incidentRecorded: 'io.forgeone.incident.recorded.v1',
  regulationRecorded: 'io.forgeone.regulation.recorded.v1',
} as const;

export const REVIEW_OUTCOMES = ['approved', 'changes-required'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];
export const INCIDENT_SEVERITIES = ['minor', 'major'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

export function reviewAggregateId(tenant: string, name: string): string {
  return tenantAggregateId(tenant, name);
}

const TextSchema = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `must say ${what} (1 to 2000 characters)`)
    .max(2000, 'must be at most 2000 characters');

/** Plugins an incident or a regulation change names: `all`, or a list of names, or neither (it names none). */
const ScopeFields = {
  /** Every plugin of the tenant installed when it was recorded. */
  all: z.boolean(),
  plugins: z.array(PluginNameSchema).max(256, 'must name at most 256 plugins (or use all)'),
};
function refineScope(data: { all: boolean; plugins: readonly string[] }, ctx: z.RefinementCtx): void {
  if (data.all && data.plugins.length > 0) ctx.addIssue({ code: 'custom', path: ['plugins'], message: 'give either all or a list of plugins, not both' });
}

export const ReviewRecordedSchema = z
  .object({
    reviewId: z.uuid(),
    name: PluginNameSchema,
    outcome: z.enum(REVIEW_OUTCOMES),
    notes: TextSchema('what was reviewed and found'),
  })
  .strict();

export const IncidentRecordedSchema = z
  .object({ incidentId: z.uuid(), severity: z.enum(INCIDENT_SEVERITIES), summary: TextSchema('what happened'), ...ScopeFields })
  .strict()
  .superRefine(refineScope);

export const RegulationRecordedSchema = z
  .object({ regulationId: z.uuid(), summary: TextSchema('what changed'), ...ScopeFields })
  .strict()
  .superRefine(refineScope);

export type ReviewRecorded = { readonly type: typeof REVIEW_EVENT_TYPES.recorded; readonly data: z.infer<typeof ReviewRecordedSchema> };
export type ReviewEvent = ReviewRecorded;
export type IncidentRecorded = { readonly type: typeof REVIEW_NOTICE_EVENT_TYPES.incidentRecorded; readonly data: z.infer<typeof IncidentRecordedSchema> };
export type RegulationRecorded = { readonly type: typeof REVIEW_NOTICE_EVENT_TYPES.regulationRecorded; readonly data: z.infer<typeof RegulationRecordedSchema> };
export type ReviewNoticeEvent = IncidentRecorded | RegulationRecorded;

/** Verbs of `forgeone.cmd.registry.<verb>` for reviews, incidents and regulation changes. */
export const REVIEW_VERBS = {
  recordReview: 'reviews.record',
  listReviews: 'reviews.list',
  showReview: 'reviews.show',
  recordIncident: 'incidents.record',
  recordRegulation: 'regulations.record',
} as const;

export const RecordReviewRequestSchema = z
  .object({ name: PluginNameSchema, outcome: z.enum(REVIEW_OUTCOMES), notes: TextSchema('what was reviewed and found') })
  .strict();
export type RecordReviewRequest = z.infer<typeof RecordReviewRequestSchema>;

const ScopeRequestFields = {
  all: z.boolean().optional(),
  plugins: z.array(PluginNameSchema).min(1, 'must name at least one plugin (or use all)').max(256, 'must name at most 256 plugins (or use all)').optional(),
};
function refineScopeRequest(data: { all?: boolean | undefined; plugins?: readonly string[] | undefined }, ctx: z.RefinementCtx): void {
  if (data.all && data.plugins !== undefined) ctx.addIssue({ code: 'custom', path: ['plugins'], message: 'give either all or a list of plugins, not both' });
}

export const RecordIncidentRequestSchema = z
  .object({ severity: z.enum(INCIDENT_SEVERITIES), summary: TextSchema('what happened'), ...ScopeRequestFields })
  .strict()
  .superRefine(refineScopeRequest);
export type RecordIncidentRequest = z.infer<typeof RecordIncidentRequestSchema>;

export const RecordRegulationRequestSchema = z
  .object({ summary: TextSchema('what changed'), ...ScopeRequestFields })
  .strict()
  .superRefine(refineScopeRequest);
export type RecordRegulationRequest = z.infer<typeof RecordRegulationRequestSchema>;

export const ListReviewsRequestSchema = z.object({ overdue: z.boolean().optional() }).strict();
export const ShowReviewRequestSchema = z.object({ name: PluginNameSchema }).strict();

export const REVIEW_STATUSES = ['ok', 'due', 'overdue'] as const;
export type ReviewStatusName = (typeof REVIEW_STATUSES)[number];

const LastReviewSchema = z.object({ outcome: z.enum(REVIEW_OUTCOMES), notes: z.string(), by: z.string(), at: z.string() }).strict();

/** A plugin installed in an environment where reviews apply, and where its review stands. */
export const ReviewStatusViewSchema = z
  .object({
    name: PluginNameSchema,
    environment: EnvironmentSchema,
    version: z.string(),
    status: z.enum(REVIEW_STATUSES),
    /** When a review is (or was) due: the interval after the last approved review or the installation, or at once after a trigger. */
    dueAt: z.string(),
    /** When it is (or was) overdue: the grace period after dueAt, or at once after a major incident, a regulation change or an emergency change. */
    overdueAt: z.string(),
    /** Why it is due or overdue; empty when ok. */
    reasons: z.array(z.string()),
    installedAt: z.string(),
    lastReview: LastReviewSchema.nullable(),
  })
  .strict();
export type ReviewStatusView = z.infer<typeof ReviewStatusViewSchema>;

export const ReviewListReplySchema = z
  .object({
    /** The interval and grace period in force, in seconds. */
    intervalSeconds: z.number().nonnegative(),
    graceSeconds: z.number().nonnegative(),
    plugins: z.array(ReviewStatusViewSchema),
  })
  .strict();
export type ReviewListReply = z.infer<typeof ReviewListReplySchema>;

export const ReviewShowReplySchema = z
  .object({
    name: PluginNameSchema,
    /** One entry per environment where reviews apply and the plugin is installed. */
    environments: z.array(ReviewStatusViewSchema),
    lastReview: LastReviewSchema.nullable(),
  })
  .strict();
export type ReviewShowReply = z.infer<typeof ReviewShowReplySchema>;

export const ReviewRecordReplySchema = z
  .object({ reviewId: z.uuid(), name: PluginNameSchema, outcome: z.enum(REVIEW_OUTCOMES), eventId: z.string(), sequence: z.number().int().min(0) })
  .strict();
export type ReviewRecordReply = z.infer<typeof ReviewRecordReplySchema>;

export const ReviewNoticeReplySchema = z
  .object({
    kind: z.enum(['incident', 'regulation']),
    id: z.uuid(),
    severity: z.enum(INCIDENT_SEVERITIES).nullable(),
    all: z.boolean(),
    plugins: z.array(PluginNameSchema),
    /** Whether it makes the plugins it names due for review at once (a minor incident does not). */
    forcesReview: z.boolean(),
    eventId: z.string(),
    sequence: z.number().int().min(0),
  })
  .strict();
export type ReviewNoticeReply = z.infer<typeof ReviewNoticeReplySchema>;

/** Review settings (FORGEONE_REVIEW_*), read by the registry. */
export interface ReviewSettings {
  /** A plugin is due this long after its last approved review or its installation (FORGEONE_REVIEW_INTERVAL, default 90d). */
  readonly intervalMs: number;
  /** A due plugin becomes overdue this long after it fell due (FORGEONE_REVIEW_GRACE, default 14d). */
  readonly graceMs: number;
  /** Environments where reviews apply; null: every gated environment (FORGEONE_REVIEW_ENVIRONMENTS). */
  readonly environments: readonly string[] | null;
  /** Refuse the upgrade of an overdue plugin in a gated environment (FORGEONE_REVIEW_BLOCKS_UPGRADE, default on). */
  readonly blocksUpgrade: boolean;
}

const DAY_MS = 86_400_000;
export const DEFAULT_REVIEW_SETTINGS: ReviewSettings = { intervalMs: 90 * DAY_MS, graceMs: 14 * DAY_MS, environments: null, blocksUpgrade: true };

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS } as const;

/** Milliseconds of a duration such as 90s, 30m, 24h, 7d or 2w; undefined when `text` is not one. */
export function durationMs(text: string): number | undefined {
  const span = /^(\d+)([smhdw])$/.exec(text.trim());
  return span ? Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS] : undefined;
}

/** FORGEONE_REVIEW_* over the defaults; throws a message naming the variable to fix. */
export function parseReviewSettings(env: Readonly<Record<string, string | undefined>>): ReviewSettings {
  const duration = (name: string, fallback: number, allowZero: boolean): number => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return fallback;
    if (allowZero && text.trim() === '0') return 0;
    const ms = durationMs(text);
    if (ms === undefined || ms === 0) throw new Error(`${name}="${text}" is not a duration: give a number with a unit, e.g. 90d, 12h, 30m or 30s`);
    return ms;
  };
  const environmentsText = env.FORGEONE_REVIEW_ENVIRONMENTS?.trim();
  let environments: string[] | null = null;
  if (environmentsText) {
    environments = environmentsText.split(',').map((e) => e.trim());
    for (const name of environments) {
      if (!EnvironmentSchema.safeParse(name).success) throw new Error(`FORGEONE_REVIEW_ENVIRONMENTS names "${name}", which is not an environment name (give a comma-separated list such as production,qa)`);
    }
  }
  const blocks = env.FORGEONE_REVIEW_BLOCKS_UPGRADE?.trim().toLowerCase();
  if (blocks !== undefined && blocks !== '' && !['true', 'false', '1', '0', 'on', 'off'].includes(blocks)) {
    throw new Error(`FORGEONE_REVIEW_BLOCKS_UPGRADE="${env.FORGEONE_REVIEW_BLOCKS_UPGRADE}" must be true or false`);
  }
  return {
    intervalMs: duration('FORGEONE_REVIEW_INTERVAL', DEFAULT_REVIEW_SETTINGS.intervalMs, false),
    graceMs: duration('FORGEONE_REVIEW_GRACE', DEFAULT_REVIEW_SETTINGS.graceMs, true),
    environments,
    blocksUpgrade: blocks === undefined || blocks === '' ? DEFAULT_REVIEW_SETTINGS.blocksUpgrade : ['true', '1', 'on'].includes(blocks),
  };
}
