import { REVIEW_EVENT_TYPES, REVIEW_NOTICE_EVENT_TYPES, type IncidentRecorded, type RegulationRecorded, type ReviewRecorded } from '@forgeone/contracts';
import { iso, num, type TableProjection } from './table-projection.types.js';

/** One review of a plugin, as recorded (`io.forgeone.review.recorded.v1`). */
export interface PluginReviewRow extends Record<string, unknown> {
  readonly sequence: number;
  readonly tenant: string;
  readonly plugin: string;
  readonly review_id: string;
  readonly outcome: string;
  readonly notes: string;
  readonly reviewed_by: string;
  readonly reviewed_at: string;
}

/** One incident or regulation change of a tenant, and the plugins it names (`all_plugins`: every one). */
export interface ReviewNoticeRow extends Record<string, unknown> {
  readonly sequence: number;
  readonly tenant: string;
  readonly kind: 'incident' | 'regulation';
  readonly notice_id: string;
  /** null for a regulation change. */
  readonly severity: string | null;
  readonly summary: string;
  readonly all_plugins: boolean;
  readonly plugins: readonly string[];
  /** A major incident or a regulation change naming plugins: they are overdue for review at once. */
  readonly forces_review: boolean;
  readonly recorded_by: string;
  readonly recorded_at: string;
}

// Both tables hold one row per stream sequence, written once and never changed.
export const pluginReviewsProjection: TableProjection<PluginReviewRow> = {
  name: 'plugin-reviews',
  table: 'plugin_reviews',
  keyOf: ({ sequence, event }) => (event.type === REVIEW_EVENT_TYPES.recorded ? { sequence } : null),
  evolve(row, { sequence, event }) {
    if (row || event.type !== REVIEW_EVENT_TYPES.recorded) return row;
    const data = event.data as ReviewRecorded['data'];
    return {
      sequence,
      tenant: event.tenant,
      plugin: data.name,
      review_id: data.reviewId,
      outcome: data.outcome,
      notes: data.notes,
      reviewed_by: event.actor,
      reviewed_at: iso(event.time),
    };
  },
  fromDb: (raw) => ({ ...(raw as unknown as PluginReviewRow), sequence: num(raw.sequence), reviewed_at: iso(raw.reviewed_at) }),
};

export const reviewNoticesProjection: TableProjection<ReviewNoticeRow> = {
  name: 'review-notices',
  table: 'review_notices',
  keyOf: ({ sequence, event }) =>
    event.type === REVIEW_NOTICE_EVENT_TYPES.incidentRecorded || event.type === REVIEW_NOTICE_EVENT_TYPES.regulationRecorded ? { sequence } : null,
  evolve(row, { sequence, event }) {
    if (row) return row;
    const common = { sequence, tenant: event.tenant, recorded_by: event.actor, recorded_at: iso(event.time) };
    if (event.type === REVIEW_NOTICE_EVENT_TYPES.incidentRecorded) {
      const data = event.data as IncidentRecorded['data'];
      const names = data.all || data.plugins.length > 0;
      return { ...common, kind: 'incident', notice_id: data.incidentId, severity: data.severity, summary: data.summary, all_plugins: data.all, plugins: data.plugins, forces_review: data.severity === 'major' && names };
    }
    if (event.type === REVIEW_NOTICE_EVENT_TYPES.regulationRecorded) {
      const data = event.data as RegulationRecorded['data'];
      return { ...common, kind: 'regulation', notice_id: data.regulationId, severity: null, summary: data.summary, all_plugins: data.all, plugins: data.plugins, forces_review: data.all || data.plugins.length > 0 };
    }
    return null;
  },
  fromDb: (raw) => ({ ...(raw as unknown as ReviewNoticeRow), sequence: num(raw.sequence), recorded_at: iso(raw.recorded_at) }),
};
