// Routes of a plugin's configuration in an environment, and of changes waiting for approval.
import { ConfigChangeIdSchema, ConfigKeySchema, PluginConfigChangeReplySchema, PluginConfigListReplySchema } from '@forgeone/contracts';
import { z } from 'zod';
import { SetPluginConfigBodySchema, ApproveConfigChangeBodySchema, RejectConfigChangeBodySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { environment, publisher, plugin } from './route-parameters.js';

const ConfigPath = z.object({ environment, publisher, plugin });
const ConfigChangePath = z.object({ environment, publisher, plugin, changeId: ConfigChangeIdSchema.describe('the change id that config set answered and config list shows') });
const ConfigKeyPath = z.object({ environment, publisher, plugin, key: ConfigKeySchema.describe('configuration key, as the plugin asks config_get for it') });

/** A plugin's configuration values and the approval of gated changes. */
export const PLUGIN_CONFIG_ROUTES = {
  listPluginConfig: defineRoute({
    method: 'get',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/config',
    operationId: 'listPluginConfig',
    summary:
      "A plugin's configuration in one environment, and the changes waiting for approval; a secret is listed as set (who, when), its value never shown (needs read-plugin-config)",
    tag: 'configuration',
    what: 'the plugin configuration list request',
    params: ConfigPath,
    success: { status: 200, description: 'entries by key; `value` is null for a secret', component: 'PluginConfigList', schema: PluginConfigListReplySchema },
    access: { decidedBy: 'registry', action: 'read-plugin-config', command: 'listPluginConfig' },
  }),
  setPluginConfig: defineRoute({
    method: 'put',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/config/{key}',
    operationId: 'setPluginConfig',
    summary: "Set one value the plugin's config_get answers in this environment; `secret: true` stores it sealed and never shows it again (needs configure-plugin)",
    tag: 'configuration',
    what: 'the plugin configuration change',
    params: ConfigKeyPath,
    body: { component: 'SetPluginConfigRequest', schema: SetPluginConfigBodySchema },
    success: {
      status: 200,
      description: '`set` or `unchanged`; in a gated environment `proposed` with its `changeId`: the change waits for approval and config_get serves the old value',
      component: 'PluginConfigChangeReply',
      schema: PluginConfigChangeReplySchema,
    },
    access: { decidedBy: 'registry', action: 'configure-plugin', command: 'setPluginConfig' },
  }),
  unsetPluginConfig: defineRoute({
    method: 'delete',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/config/{key}',
    operationId: 'unsetPluginConfig',
    summary: "Remove one configuration value of a plugin in this environment (needs configure-plugin)",
    tag: 'configuration',
    what: 'the plugin configuration removal',
    params: ConfigKeyPath,
    success: { status: 200, description: '`unset`; in a gated environment `proposed` with its `changeId`', component: 'PluginConfigChangeReply', schema: PluginConfigChangeReplySchema },
    access: { decidedBy: 'registry', action: 'configure-plugin', command: 'unsetPluginConfig' },
  }),
  approvePluginConfig: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/config-changes/{changeId}/approvals',
    operationId: 'approvePluginConfig',
    summary:
      'Approve a configuration change waiting in a gated environment, which applies it (needs approve); neither its proposer nor a holder of a token the proposer issued may',
    tag: 'configuration',
    what: 'the configuration change approval',
    params: ConfigChangePath,
    body: { component: 'ApproveConfigChangeRequest', schema: ApproveConfigChangeBodySchema, required: false },
    success: { status: 200, description: '`set` or `unset`: the change applies from now on', component: 'PluginConfigChangeReply', schema: PluginConfigChangeReplySchema },
    access: { decidedBy: 'registry', action: 'approve', command: 'approvePluginConfig' },
  }),
  rejectPluginConfig: defineRoute({
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/config-changes/{changeId}/rejections',
    operationId: 'rejectPluginConfig',
    summary: 'Reject a configuration change waiting in a gated environment, with notes (needs approve): it is discarded and never applies',
    tag: 'configuration',
    what: 'the configuration change rejection',
    params: ConfigChangePath,
    body: { component: 'RejectConfigChangeRequest', schema: RejectConfigChangeBodySchema },
    success: { status: 200, description: '`rejected`', component: 'PluginConfigChangeReply', schema: PluginConfigChangeReplySchema },
    access: { decidedBy: 'registry', action: 'approve', command: 'rejectPluginConfig' },
  }),
} as const;
