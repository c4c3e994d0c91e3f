// Routes of an environment's settings, and of the plugins/ directory watcher's reports into it.
import { EnvironmentChangeReplySchema, EnvironmentListReplySchema, EnvironmentViewSchema, DropRejectedReplySchema } from '@forgeone/contracts';
import { z } from 'zod';
import { SetEnvironmentBodySchema, ReportDropRejectedBodySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { environment } from './route-parameters.js';

/** An environment's settings, and a weakening confirmed by a second administrator. */
export const ENVIRONMENT_ROUTES = {
  listEnvironments: defineRoute({
    method: 'get',
    path: '/v1/environments',
    operationId: 'listEnvironments',
    summary: "The caller's tenant's environments with their settings: staging and production always, and every environment set through the platform (needs read-environment)",
    tag: 'environments',
    what: 'the environment list request',
    success: { status: 200, description: 'environments by name', component: 'EnvironmentList', schema: EnvironmentListReplySchema },
    access: { decidedBy: 'registry', action: 'read-environment', command: 'listEnvironments' },
  }),
  showEnvironment: defineRoute({
    method: 'get',
    path: '/v1/environments/{environment}',
    operationId: 'showEnvironment',
    summary: 'One environment: signature mode and threshold, gating, approvals, soak, limit caps, and a weakening waiting for confirmation (needs read-environment)',
    tag: 'environments',
    what: 'the environment show request',
    params: z.object({ environment }),
    success: { status: 200, description: 'the environment; `configured: false` when its defaults apply', component: 'Environment', schema: EnvironmentViewSchema },
    access: { decidedBy: 'registry', action: 'read-environment', command: 'showEnvironment' },
  }),
  setEnvironment: defineRoute({
    method: 'put',
    path: '/v1/environments/{environment}',
    operationId: 'setEnvironment',
    summary:
      "Change an environment's settings (only the fields given). A weakening of a gated environment (audit mode, a lower threshold, ungating, fewer approvals, a shorter soak, a raised cap) is only proposed until a second administrator confirms it (needs configure-environment)",
    tag: 'environments',
    what: 'the environment change',
    params: z.object({ environment }),
    body: { component: 'SetEnvironmentRequest', schema: SetEnvironmentBodySchema },
    success: { status: 200, description: '`applied`, `proposed` (waiting for a second administrator) or `unchanged`', component: 'EnvironmentChangeReply', schema: EnvironmentChangeReplySchema },
    access: { decidedBy: 'registry', action: 'configure-environment', command: 'setEnvironment' },
  }),
  confirmEnvironment: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/confirm',
    operationId: 'confirmEnvironment',
    summary: 'Confirm the weakening waiting on an environment; only an administrator other than the one who proposed it may (needs configure-environment)',
    tag: 'environments',
    what: 'the environment confirmation',
    params: z.object({ environment }),
    success: { status: 200, description: 'confirmed: the weakening applies from now on', component: 'EnvironmentChangeReply', schema: EnvironmentChangeReplySchema },
    access: { decidedBy: 'registry', action: 'configure-environment', command: 'confirmEnvironment' },
  }),
} as const;

/** Drops the plugins/ directory watcher refused. */
export const ENVIRONMENT_WATCH_ROUTES = {
  reportDropRejected: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/watch/rejections',
    operationId: 'reportDropRejected',
    summary: 'Record a plugin folder the plugins/ directory watcher refused (symbolic link, bad name, special or oversized file, invalid manifest, refused publish); the registry appends io.forgeone.watch.drop_rejected.v1 (needs report-drop-rejected)',
    tag: 'environments',
    what: 'the rejected drop report',
    params: z.object({ environment }),
    body: { component: 'ReportDropRejectedRequest', schema: ReportDropRejectedBodySchema },
    success: { status: 201, description: 'recorded', component: 'DropRejectedReply', schema: DropRejectedReplySchema },
    access: { decidedBy: 'registry', action: 'report-drop-rejected', command: 'reportDropRejected' },
  }),
} as const;
