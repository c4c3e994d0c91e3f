// Routes of the plugin lifecycle: publish, read, install, upgrade, roll back, remove and call.
import { InvokeRequestSchema } from '@forgeone/contracts';
import { z } from 'zod';
import { CallBodySchema, CallReplySchema, HistoryReplySchema, InstallationDryRunReplySchema, InstallationReplySchema, InstallBodySchema, PluginDetailReplySchema, PluginListQuerySchema, PluginListReplySchema, PublishBodySchema, PublishReplySchema, RollbackBodySchema, UpgradeBodySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { environment, publisher, plugin, PluginPath, TENANT_HEADER } from './route-parameters.js';

const InstallationPath = z.object({ environment, publisher, plugin });

const DRY_RUN = {
  status: 200,
  description:
    'dry run (`"dryRun": true`): every check passed and nothing was changed; the events the command would append and the signature verdict. A dry run that fails answers the error the command would, with `details.dryRun: true` and `details.failedCheck`',
  component: 'InstallationDryRunReply',
  schema: InstallationDryRunReplySchema,
};

/** Publishing, reading, installing and calling plugins. */
export const PLUGIN_ROUTES = {
  publishPluginVersion: defineRoute({
    method: 'post',
    path: '/v1/plugins',
    operationId: 'publishPluginVersion',
    summary: 'Publish a plugin version (manifest and WebAssembly module)',
    tag: 'plugins',
    what: 'the publish request',
    body: { component: 'PublishRequest', schema: PublishBodySchema },
    success: { status: 201, description: 'published; `projected` tells whether reads already show it', component: 'PublishReply', schema: PublishReplySchema },
    access: { decidedBy: 'registry', action: 'publish', command: 'publish' },
  }),
  listPlugins: defineRoute({
    method: 'get',
    path: '/v1/plugins',
    operationId: 'listPlugins',
    summary: "List the caller's tenant's plugins with their installations",
    tag: 'plugins',
    what: 'the plugin list query',
    query: PluginListQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'plugins by name', component: 'PluginList', schema: PluginListReplySchema },
    access: { decidedBy: 'gateway', action: 'read', query: 'listPlugins' },
  }),
  showPlugin: defineRoute({
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}',
    operationId: 'showPlugin',
    summary: 'Show a plugin: every version and installation, and its storage quota and usage per environment',
    tag: 'plugins',
    what: 'the plugin in the path',
    params: PluginPath,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'the plugin', component: 'PluginDetail', schema: PluginDetailReplySchema },
    access: { decidedBy: 'gateway', action: 'read', query: 'showPlugin' },
  }),
  pluginHistory: defineRoute({
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}/history',
    operationId: 'pluginHistory',
    summary: "A plugin's events from the audit log, oldest first",
    tag: 'audit',
    what: 'the plugin in the path',
    params: PluginPath,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'audit entries about the plugin', component: 'History', schema: HistoryReplySchema },
    access: { decidedBy: 'gateway', action: 'read', query: 'pluginHistory' },
  }),
  installPlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/installations',
    operationId: 'installPlugin',
    summary: 'Install a published version in an environment',
    tag: 'installations',
    what: 'the install request',
    params: z.object({ environment }),
    body: { component: 'InstallRequest', schema: InstallBodySchema },
    success: { status: 201, description: 'installed', component: 'InstallationReply', schema: InstallationReplySchema },
    dryRun: DRY_RUN,
    access: { decidedBy: 'registry', action: 'install', command: 'install' },
  }),
  upgradePlugin: defineRoute({
    method: 'put',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}',
    operationId: 'upgradePlugin',
    summary: 'Upgrade an installation to a higher published version',
    tag: 'installations',
    what: 'the upgrade request',
    params: InstallationPath,
    body: { component: 'UpgradeRequest', schema: UpgradeBodySchema },
    success: { status: 200, description: 'upgraded', component: 'InstallationReply', schema: InstallationReplySchema },
    dryRun: DRY_RUN,
    access: { decidedBy: 'registry', action: 'upgrade', command: 'upgrade' },
  }),
  rollbackPlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}/rollback',
    operationId: 'rollbackPlugin',
    summary: 'Roll an installation back to a lower published version, with a reason (needs rollback on the plugin); the reason is recorded in the rolled_back event',
    tag: 'installations',
    what: 'the rollback request',
    params: InstallationPath,
    body: { component: 'RollbackRequest', schema: RollbackBodySchema },
    success: { status: 200, description: 'rolled back', component: 'InstallationReply', schema: InstallationReplySchema },
    dryRun: DRY_RUN,
    access: { decidedBy: 'registry', action: 'rollback', command: 'rollback' },
  }),
  removePlugin: defineRoute({
    method: 'delete',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}',
    operationId: 'removePlugin',
    summary: 'Remove a plugin from an environment; `version` in the reply is the removed one',
    tag: 'installations',
    what: 'the remove request',
    params: InstallationPath,
    success: { status: 200, description: 'removed', component: 'InstallationReply', schema: InstallationReplySchema },
    access: { decidedBy: 'registry', action: 'remove', command: 'remove' },
  }),
  callPlugin: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}',
    operationId: 'callPlugin',
    summary: 'Call a handler of the plugin installed in an environment with one input; answers its output (needs invoke on the plugin)',
    tag: 'invocations',
    what: 'the plugin call request',
    params: z.object({ environment, publisher, plugin, handler: InvokeRequestSchema.shape.handler.describe('a handler the plugin exports (its manifest lists them), e.g. greet') }),
    body: { component: 'CallRequest', schema: CallBodySchema },
    success: { status: 200, description: 'the output: `output` when it is UTF-8 text, else `outputBase64`', component: 'CallReply', schema: CallReplySchema },
    access: { decidedBy: 'sandbox-runner', action: 'invoke', command: 'invoke' },
  }),
} as const;
