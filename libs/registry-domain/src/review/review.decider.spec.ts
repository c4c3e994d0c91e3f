import { ForgeOneError, REVIEW_EVENT_TYPES, REVIEW_NOTICE_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { reviewNoticeDecider } from '../review-notice/review-notice.decider.js';
import type { ReviewNoticeCommand } from '../review-notice/review-notice.commands.js';
import type { ReviewCommand } from './review.commands.js';
import { reviewDecider } from './review.decider.js';

const REVIEW_ID = '0b9d2f1e-4c1a-4f7e-9a51-1f3c2d4e5a6b';
const review = (over: Partial<Extract<ReviewCommand, { type: 'RecordReview' }>['data']> = {}): ReviewCommand => ({
  type: 'RecordReview',
  data: { reviewId: REVIEW_ID, name: 'acme/greeter', outcome: 'approved', notes: 'grants unchanged', actor: 'rev-1', published: true, publishersOfInstalled: ['dev-1'], ...over },
});
const refusal = (f: () => unknown): ForgeOneError => {
  try {
    f();
  } catch (error) {
    if (error instanceof ForgeOneError) return error;
    throw error;
  }
  throw new Error('not refused');
};

describe('review decider', () => {
  it('given a published plugin, when reviewed by someone else, then the review is recorded', () => {
    expect(reviewDecider.decide(review(), reviewDecider.initialState())).toEqual([
      { type: REVIEW_EVENT_TYPES.recorded, data: { reviewId: REVIEW_ID, name: 'acme/greeter', outcome: 'approved', notes: 'grants unchanged' } },
    ]);
  });
  it('given a plugin never published, when reviewed, then REGISTRY.PLUGIN_NOT_FOUND', () => {
    expect(refusal(() => reviewDecider.decide(review({ published: false }), reviewDecider.initialState())).code).toBe('REGISTRY.PLUGIN_NOT_FOUND');
  });
  it('given a version the reviewer published is installed where reviews apply, when they review, then REVIEW.SELF_REVIEW', () => {
    const error = refusal(() => reviewDecider.decide(review({ actor: 'dev-1' }), reviewDecider.initialState()));
    expect(error.code).toBe('REVIEW.SELF_REVIEW');
    expect(error.message).toContain('another principal');
  });
});

const INCIDENT_ID = '5d1c6a8e-2b3f-4a9d-8e7f-0a1b2c3d4e5f';
const incident = (over: Partial<Extract<ReviewNoticeCommand, { type: 'RecordIncident' }>['data']> = {}): ReviewNoticeCommand => ({
  type: 'RecordIncident',
  data: { incidentId: INCIDENT_ID, severity: 'major', summary: 'leak', all: false, plugins: ['acme/greeter'], unknownPlugins: [], ...over },
});

describe('review notice decider', () => {
  it('given known plugins, when an incident is recorded, then it names them', () => {
    expect(reviewNoticeDecider.decide(incident(), reviewNoticeDecider.initialState())).toEqual([
      { type: REVIEW_NOTICE_EVENT_TYPES.incidentRecorded, data: { incidentId: INCIDENT_ID, severity: 'major', summary: 'leak', all: false, plugins: ['acme/greeter'] } },
    ]);
  });
  it('when a regulation change names all plugins, then it is recorded with all', () => {
    const command: ReviewNoticeCommand = { type: 'RecordRegulation', data: { regulationId: INCIDENT_ID, summary: 'retention', all: true, plugins: [], unknownPlugins: [] } };
    expect(reviewNoticeDecider.decide(command, reviewNoticeDecider.initialState())[0]).toMatchObject({ type: REVIEW_NOTICE_EVENT_TYPES.regulationRecorded, data: { all: true, plugins: [] } });
  });
  it('given a name never published, when an incident names it, then REGISTRY.PLUGIN_NOT_FOUND naming it', () => {
    const error = refusal(() => reviewNoticeDecider.decide(incident({ plugins: ['acme/greeter', 'acme/typo'], unknownPlugins: ['acme/typo'] }), reviewNoticeDecider.initialState()));
    expect(error.code).toBe('REGISTRY.PLUGIN_NOT_FOUND');
    expect(error.message).toContain('acme/typo');
  });
});
