// Routes of promotion into a gated environment: approvals, rejections and the promotion itself.
import { SemverSchema } from '@forgeone/contracts';
import { z } from 'zod';
import { ApproveBodySchema, ApprovalHttpReplySchema, PromoteBodySchema, PromotionHttpReplySchema, RejectBodySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { environment, publisher, plugin } from './route-parameters.js';

const VersionPath = z.object({ environment, publisher, plugin, version: SemverSchema.describe('the version, e.g. 1.2.0') });

/** Approving, rejecting and promoting a version into a gated environment. */
export const PROMOTION_ROUTES = {
  approvePlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/versions/{version}/approvals',
    operationId: 'approvePlugin',
    summary:
      'Approve a version for a gated environment (needs approve); its publisher may not, and a flagged test run in the source environment needs `acceptRegressions: true`',
    tag: 'installations',
    what: 'the approval',
    params: VersionPath,
    body: { component: 'ApproveRequest', schema: ApproveBodySchema, required: false },
    success: { status: 200, description: '`recorded`, or `unchanged` when the same approval stands', component: 'ApprovalReply', schema: ApprovalHttpReplySchema },
    access: { decidedBy: 'registry', action: 'approve', command: 'approve' },
  }),
  rejectPlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/versions/{version}/rejections',
    operationId: 'rejectPlugin',
    summary: 'Reject a version for a gated environment, with notes (needs approve); while the rejection stands the version is not promoted there',
    tag: 'installations',
    what: 'the rejection',
    params: VersionPath,
    body: { component: 'RejectRequest', schema: RejectBodySchema },
    success: { status: 200, description: '`recorded`, or `unchanged` when the same rejection stands', component: 'ApprovalReply', schema: ApprovalHttpReplySchema },
    access: { decidedBy: 'registry', action: 'approve', command: 'reject' },
  }),
  promotePlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/promotions',
    operationId: 'promotePlugin',
    summary:
      'Promote a version into this gated environment from the one it is promoted from (needs promote): every gate must hold, else PROMOTION.GATES_UNMET lists each unmet gate with its code in `details.gates`',
    tag: 'installations',
    what: 'the promotion',
    params: z.object({ environment }),
    body: { component: 'PromoteRequest', schema: PromoteBodySchema },
    success: { status: 201, description: 'promoted: installed or upgraded in the environment, with what the promotion relied on', component: 'PromotionReply', schema: PromotionHttpReplySchema },
    dryRun: { status: 200, description: 'dry run (`"dryRun": true`): every gate holds and nothing was changed', component: 'PromotionReply', schema: PromotionHttpReplySchema },
    access: { decidedBy: 'registry', action: 'promote', command: 'promote' },
  }),
} as const;
