// Routes of a plugin's test runs and reviews, and of the incidents and regulation changes that make reviews due.
import { TestRunListReplySchema, RecordIncidentRequestSchema, RecordRegulationRequestSchema, ReviewListReplySchema, ReviewNoticeReplySchema, ReviewRecordReplySchema, ReviewShowReplySchema } from '@forgeone/contracts';
import { RecordReviewBodySchema, ReviewListQuerySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { TestRunBodySchema, TestRunListQuerySchema, TestRunReplySchema } from './test-run.schemas.js';
import { PluginPath, TENANT_HEADER } from './route-parameters.js';

/** A version's manifest test vectors, run and recorded. */
export const TEST_RUN_ROUTES = {
  testPlugin: defineRoute({
    method: 'post',
    path: '/v1/plugins/{publisher}/{plugin}/test-runs',
    operationId: 'testPlugin',
    summary:
      "Run a version's manifest test vectors through the sandbox on the digest installed in an environment, and record the run (needs test); measures beyond FORGEONE_TEST_REGRESSION_FACTOR times the previous version's run there flag it",
    tag: 'plugins',
    what: 'the test request',
    params: PluginPath,
    body: { component: 'TestRunRequest', schema: TestRunBodySchema },
    success: { status: 201, description: 'the recorded run: each vector, totals, regressions', component: 'TestRunReply', schema: TestRunReplySchema },
    access: { decidedBy: 'registry', action: 'test', command: 'testPlugin' },
  }),
  listTestRuns: defineRoute({
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}/test-runs',
    operationId: 'listTestRuns',
    summary: "A plugin's recorded test runs, newest first (`?environment=` for one environment)",
    tag: 'plugins',
    what: 'the test run list query',
    params: PluginPath,
    query: TestRunListQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'test runs, newest first', component: 'TestRunList', schema: TestRunListReplySchema },
    access: { decidedBy: 'gateway', action: 'read', query: 'listTestRuns' },
  }),
} as const;

/** Reviews, and incidents and regulation changes that make them due. */
export const REVIEW_ROUTES = {
  recordReview: defineRoute({
    method: 'post',
    path: '/v1/plugins/{publisher}/{plugin}/reviews',
    operationId: 'recordReview',
    summary: 'Record a review of a plugin: `approved` clears its review status, `changes-required` keeps it due; nobody reviews a version they published (needs review)',
    tag: 'reviews',
    what: 'the review',
    params: PluginPath,
    body: { component: 'RecordReviewRequest', schema: RecordReviewBodySchema },
    success: { status: 201, description: 'recorded', component: 'ReviewRecordReply', schema: ReviewRecordReplySchema },
    access: { decidedBy: 'registry', action: 'review', command: 'recordReview' },
  }),
  showReview: defineRoute({
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}/review',
    operationId: 'showReview',
    summary: "A plugin's review status in every environment where reviews apply and it is installed, and its last review (needs read)",
    tag: 'reviews',
    what: 'the plugin in the path',
    params: PluginPath,
    success: { status: 200, description: 'the review status per environment', component: 'ReviewShowReply', schema: ReviewShowReplySchema },
    access: { decidedBy: 'registry', action: 'read', command: 'showReview' },
  }),
  listReviews: defineRoute({
    method: 'get',
    path: '/v1/reviews',
    operationId: 'listReviews',
    summary: "The caller's tenant's plugins due or overdue for review, with reasons and dates; `?overdue=true` for the overdue ones only (needs read)",
    tag: 'reviews',
    what: 'the review list query',
    query: ReviewListQuerySchema,
    success: { status: 200, description: 'plugins due or overdue, per environment', component: 'ReviewList', schema: ReviewListReplySchema },
    access: { decidedBy: 'registry', action: 'read', command: 'listReviews' },
  }),
  recordIncident: defineRoute({
    method: 'post',
    path: '/v1/incidents',
    operationId: 'recordIncident',
    summary: 'Record an incident; a major one naming plugins (or `all`) makes them overdue for review at once, a minor one is recorded only (needs record-incident)',
    tag: 'reviews',
    what: 'the incident',
    body: { component: 'RecordIncidentRequest', schema: RecordIncidentRequestSchema },
    success: { status: 201, description: 'recorded; `forcesReview` says whether it makes plugins due', component: 'ReviewNoticeReply', schema: ReviewNoticeReplySchema },
    access: { decidedBy: 'registry', action: 'record-incident', command: 'recordIncident' },
  }),
  recordRegulation: defineRoute({
    method: 'post',
    path: '/v1/regulations',
    operationId: 'recordRegulation',
    summary: 'Record a regulation change; the plugins it names (or `all`) are overdue for review at once (needs record-regulation)',
    tag: 'reviews',
    what: 'the regulation change',
    body: { component: 'RecordRegulationRequest', schema: RecordRegulationRequestSchema },
    success: { status: 201, description: 'recorded', component: 'ReviewNoticeReply', schema: ReviewNoticeReplySchema },
    access: { decidedBy: 'registry', action: 'record-regulation', command: 'recordRegulation' },
  }),
} as const;
