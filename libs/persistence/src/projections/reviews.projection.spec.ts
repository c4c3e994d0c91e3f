import { cloudEvent, REVIEW_AGGREGATE, REVIEW_EVENT_TYPES, REVIEW_NOTICE_AGGREGATE, REVIEW_NOTICE_EVENT_TYPES, type CloudEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { pluginReviewsProjection, reviewNoticesProjection } from './reviews.projection.js';

const ID = '0b9d2f1e-4c1a-4f7e-9a51-1f3c2d4e5a6b';
const event = (aggregate: string, id: string, type: string, data: unknown): CloudEvent =>
  cloudEvent(aggregate, id, { id: `e-${type}`, type, time: '2026-12-07T10:00:00Z', actor: 'rm-1', tenant: 'acme', data });

describe('reviews projections', () => {
  it('plugin-reviews - given no row, when a review is recorded, then one row with reviewer and time; a redelivery changes nothing', () => {
    const review = event(REVIEW_AGGREGATE, 'acme:acme/greeter', REVIEW_EVENT_TYPES.recorded, { reviewId: ID, name: 'acme/greeter', outcome: 'approved', notes: 'fine' });
    expect(pluginReviewsProjection.keyOf({ sequence: 5, event: review })).toEqual({ sequence: 5 });
    const row = pluginReviewsProjection.evolve(null, { sequence: 5, event: review });
    expect(row).toEqual({ sequence: 5, tenant: 'acme', plugin: 'acme/greeter', review_id: ID, outcome: 'approved', notes: 'fine', reviewed_by: 'rm-1', reviewed_at: '2026-12-07T10:00:00.000Z' });
    expect(pluginReviewsProjection.evolve(row, { sequence: 5, event: review })).toBe(row);
  });

  it('review-notices - a minor incident forces no review, a major one naming plugins does, a regulation change for all does', () => {
    const incident = (severity: string) =>
      event(REVIEW_NOTICE_AGGREGATE, 'acme', REVIEW_NOTICE_EVENT_TYPES.incidentRecorded, { incidentId: ID, severity, summary: 'leak', all: false, plugins: ['acme/greeter'] });
    expect(reviewNoticesProjection.evolve(null, { sequence: 1, event: incident('minor') })).toMatchObject({ kind: 'incident', severity: 'minor', forces_review: false, plugins: ['acme/greeter'] });
    expect(reviewNoticesProjection.evolve(null, { sequence: 2, event: incident('major') })).toMatchObject({ kind: 'incident', severity: 'major', forces_review: true });
    const regulation = event(REVIEW_NOTICE_AGGREGATE, 'acme', REVIEW_NOTICE_EVENT_TYPES.regulationRecorded, { regulationId: ID, summary: 'retention', all: true, plugins: [] });
    expect(reviewNoticesProjection.evolve(null, { sequence: 3, event: regulation })).toMatchObject({ kind: 'regulation', severity: null, all_plugins: true, forces_review: true, recorded_by: 'rm-1' });
  });

  it('both - other events are not theirs', () => {
    const regulation = event(REVIEW_NOTICE_AGGREGATE, 'acme', REVIEW_NOTICE_EVENT_TYPES.regulationRecorded, { regulationId: ID, summary: 'retention', all: true, plugins: [] });
    expect(pluginReviewsProjection.keyOf({ sequence: 3, event: regulation })).toBeNull();
    const review = event(REVIEW_AGGREGATE, 'acme:acme/greeter', REVIEW_EVENT_TYPES.recorded, { reviewId: ID, name: 'acme/greeter', outcome: 'approved', notes: 'fine' });
    expect(reviewNoticesProjection.keyOf({ sequence: 4, event: review })).toBeNull();
  });
});
