import {
  COMMAND_ERRORS,
  pendingConfigChangesOf,
  PLUGIN_AGGREGATE,
  PLUGIN_CONFIG_AGGREGATE,
  pluginConfigAggregateId,
  pluginConfigListOf,
  refusalOf,
  sealedSecretBinding,
  PLUGIN_CONFIG_EVENT_TYPES,
  type PluginConfigChangeReply,
  type PluginConfigListReply,
  type PendingConfigChangeView,
  type PluginConfigState,
} from '@forgeone/contracts';
import { handleCommand, type EventStore } from '@forgeone/event-sourcing';
import type { PluginConfigCommand } from '../plugin-config/plugin-config.commands.js';
import { pluginConfigDecider } from '../plugin-config/plugin-config.decider.js';
import { pluginAggregateId } from '../plugin/plugin.identity.js';
import { authorizeCommand } from './authorize-command.js';
import { effectiveEnvironmentSettings } from './environment.use-cases.js';
import type { CommandContext, CommandMetadata, RegistryPorts } from './registry.ports.js';
import { tokenIssuers } from './token-issuers.js';

export type PluginConfigPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'configSecrets' | 'signaturePolicy'>;

const refuse = { set: refusalOf(COMMAND_ERRORS.setPluginConfig) };

/**
 * `plugin config set NAME --env ENV KEY=VALUE [--secret]`: needs configure-plugin on the plugin in that
 * environment. A secret is sealed here, before anything is appended, so the stream never holds it in clear.
 * In a gated environment (its settings read fresh) the change is only proposed and waits for approval.
 */
export async function setPluginConfig(
  ports: PluginConfigPorts,
  request: { readonly name: string; readonly environment: string; readonly key: string; readonly value: string; readonly secret: boolean },
  context: CommandContext,
): Promise<PluginConfigChangeReply> {
  const { name, environment, key } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'configure-plugin', plugin: name, environment }, context);
  if ((await ports.events.lastSequence(PLUGIN_AGGREGATE, pluginAggregateId(plugin))) === 0) {
    throw refuse.set('REGISTRY.PLUGIN_NOT_FOUND', `plugin ${name} does not exist in your tenant; publish it before configuring it`, { name });
  }
  let command: PluginConfigCommand;
  if (request.secret) {
    if (!ports.configSecrets) {
      throw refuse.set(
        'PLUGIN_CONFIG.SECRETS_UNAVAILABLE',
        'this registry was started without the configuration key (FORGEONE_CONFIG_SECRET_KEY), so it cannot store secrets; start the platform with npm start, which makes the key',
      );
    }
    const sealed = ports.configSecrets.seal(request.value, sealedSecretBinding(plugin.tenant, name, environment, key));
    command = { type: 'SetPluginConfigValue', data: { name, environment, key, secret: true, sealed } };
  } else {
    command = { type: 'SetPluginConfigValue', data: { name, environment, key, secret: false, value: request.value } };
  }
  return decideOnConfig(ports, plugin.tenant, request, await gatedProposal(ports, plugin.tenant, environment, metadata, command), metadata, 'set');
}

/** `plugin config unset NAME --env ENV KEY`: needs configure-plugin. */
export async function unsetPluginConfig(
  ports: PluginConfigPorts,
  request: { readonly name: string; readonly environment: string; readonly key: string },
  context: CommandContext,
): Promise<PluginConfigChangeReply> {
  const { name, environment, key } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'configure-plugin', plugin: name, environment }, context);
  const command = await gatedProposal(ports, plugin.tenant, environment, metadata, { type: 'UnsetPluginConfigValue', data: { name, environment, key } });
  return decideOnConfig(ports, plugin.tenant, request, command, metadata, 'unset');
}

/**
 * `plugin config approve NAME --env ENV --change ID [--notes]`: needs `approve` on the plugin in ENV, like a
 * version's approval. Neither the proposer nor a holder of a token the proposer issued may approve; the
 * approval appends the value_set / value_unset that applies the change, naming the proposal.
 */
export async function approvePluginConfig(
  ports: PluginConfigPorts,
  request: { readonly name: string; readonly environment: string; readonly changeId: string; readonly notes?: string },
  context: CommandContext,
): Promise<PluginConfigChangeReply> {
  const { name, environment, changeId } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'approve', plugin: name, environment }, context);
  const issuers = (await tokenIssuers(ports.events, [metadata.actor]))[metadata.actor] ?? [];
  return decideOnChange(ports, plugin.tenant, request, metadata, {
    type: 'ApprovePluginConfigChange',
    data: { name, environment, changeId, actor: metadata.actor, actorTokenIssuers: issuers, ...(request.notes !== undefined ? { notes: request.notes } : {}) },
  });
}

/** `plugin config reject NAME --env ENV --change ID --notes TEXT`: needs `approve`; the change is discarded. */
export async function rejectPluginConfig(
  ports: PluginConfigPorts,
  request: { readonly name: string; readonly environment: string; readonly changeId: string; readonly notes: string },
  context: CommandContext,
): Promise<PluginConfigChangeReply> {
  const { name, environment, changeId, notes } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'approve', plugin: name, environment }, context);
  return decideOnChange(ports, plugin.tenant, request, metadata, { type: 'RejectPluginConfigChange', data: { name, environment, changeId, notes } });
}

/** The changes of a plugin's configuration in one environment that wait for approval (promotion shows them). */
export async function pendingPluginConfigChanges(events: EventStore, tenant: string, name: string, environment: string): Promise<PendingConfigChangeView[]> {
  return pendingConfigChangesOf(await loadPluginConfig(events, tenant, name, environment));
}

async function loadPluginConfig(events: EventStore, tenant: string, name: string, environment: string): Promise<PluginConfigState> {
  const { state } = await events.load<PluginConfigState>(PLUGIN_CONFIG_AGGREGATE, pluginConfigAggregateId(tenant, name, environment), {
    initialState: pluginConfigDecider.initialState,
    // The stored envelope carries the actor and time the fold keeps (who set or proposed, and when).
    evolve: (s, event) => pluginConfigDecider.evolve(s, event as unknown as Parameters<typeof pluginConfigDecider.evolve>[1]),
  });
  return state;
}

// A gated environment's configuration changes by approval: the command becomes a proposal under a fresh id.
async function gatedProposal<C extends Extract<PluginConfigCommand, { proposal?: unknown }>>(
  ports: PluginConfigPorts,
  tenant: string,
  environment: string,
  metadata: CommandMetadata,
  command: C,
): Promise<C> {
  const settings = await effectiveEnvironmentSettings(ports, tenant, environment);
  return settings.gated ? { ...command, proposal: { changeId: metadata.newId() } } : command;
}

async function decideOnChange(
  ports: PluginConfigPorts,
  tenant: string,
  request: { readonly name: string; readonly environment: string; readonly changeId: string },
  metadata: CommandMetadata,
  command: PluginConfigCommand,
): Promise<PluginConfigChangeReply> {
  const { name, environment, changeId } = request;
  const outcome = await runPluginConfigCommand(ports, tenant, name, environment, command, metadata);
  const event = outcome.events[0];
  const last = outcome.appended.at(-1);
  const done = event.type === PLUGIN_CONFIG_EVENT_TYPES.valueSet ? 'set' : event.type === PLUGIN_CONFIG_EVENT_TYPES.valueUnset ? 'unset' : 'rejected';
  const secret = event.data.secret;
  return { name, environment, key: event.data.key, secret, outcome: done, changeId, sequence: last?.sequence ?? outcome.version };
}

/** `plugin config list NAME --env ENV`: needs read-plugin-config; secrets are listed as set, never shown. */
export async function listPluginConfig(ports: PluginConfigPorts, request: { readonly name: string; readonly environment: string }, context: CommandContext): Promise<PluginConfigListReply> {
  const { name, environment } = request;
  const { plugin } = await authorizeCommand(ports.authorizer, { action: 'read-plugin-config', plugin: name, environment }, context);
  return pluginConfigListOf(name, environment, await loadPluginConfig(ports.events, plugin.tenant, name, environment));
}

/** The plugin's configuration in one environment through the shared command handler. */
function runPluginConfigCommand(ports: PluginConfigPorts, tenant: string, name: string, environment: string, command: PluginConfigCommand, metadata: CommandMetadata) {
  const id = pluginConfigAggregateId(tenant, name, environment);
  return handleCommand(ports.events, pluginConfigDecider, { aggregate: PLUGIN_CONFIG_AGGREGATE, id, subject: `${name}@${environment}` }, command, metadata);
}

async function decideOnConfig(
  ports: PluginConfigPorts,
  tenant: string,
  request: { readonly name: string; readonly environment: string; readonly key: string },
  command: PluginConfigCommand,
  metadata: CommandMetadata,
  done: 'set' | 'unset',
): Promise<PluginConfigChangeReply> {
  const { name, environment, key } = request;
  const outcome = await runPluginConfigCommand(ports, tenant, name, environment, command, metadata);
  const secret = command.type === 'SetPluginConfigValue' ? command.data.secret : (outcome.state.entries[key]?.secret ?? false);
  const last = outcome.appended.at(-1);
  const proposed = outcome.events[0]?.type === PLUGIN_CONFIG_EVENT_TYPES.changeProposed ? outcome.events[0].data.changeId : undefined;
  if (proposed) return { name, environment, key, secret, outcome: 'proposed', changeId: proposed, sequence: last?.sequence ?? outcome.version };
  return { name, environment, key, secret, outcome: outcome.events.length === 0 ? 'unchanged' : done, sequence: last?.sequence ?? outcome.version };
}
