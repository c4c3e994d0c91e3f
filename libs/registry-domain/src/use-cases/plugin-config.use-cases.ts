import {
  COMMAND_ERRORS,
  PLUGIN_AGGREGATE,
  PLUGIN_CONFIG_AGGREGATE,
  pluginConfigAggregateId,
  pluginConfigListOf,
  refusalOf,
  sealedSecretBinding,
  type PluginConfigChangeReply,
  type PluginConfigListReply,
  type PluginConfigState,
} from '@forgeone/contracts';
import { handleCommand } from '@forgeone/event-sourcing';
import type { PluginConfigCommand } from '../plugin-config/plugin-config.commands.js';
import { pluginConfigDecider } from '../plugin-config/plugin-config.decider.js';
import { pluginAggregateId } from '../plugin/plugin.identity.js';
import { authorizeCommand } from './authorize-command.js';
import type { CommandContext, CommandMetadata, RegistryPorts } from './registry.ports.js';

export type PluginConfigPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'configSecrets'>;

const refuse = { set: refusalOf(COMMAND_ERRORS.setPluginConfig) };

/**
 * `plugin config set NAME --env ENV KEY=VALUE [--secret]`: needs configure-plugin on the plugin in that
 * environment. A secret is sealed here, before anything is appended, so the stream never holds it in clear.
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
  return decideOnConfig(ports, plugin.tenant, request, command, metadata, 'set');
}

/** `plugin config unset NAME --env ENV KEY`: needs configure-plugin. */
export async function unsetPluginConfig(
  ports: PluginConfigPorts,
  request: { readonly name: string; readonly environment: string; readonly key: string },
  context: CommandContext,
): Promise<PluginConfigChangeReply> {
  const { name, environment, key } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'configure-plugin', plugin: name, environment }, context);
  return decideOnConfig(ports, plugin.tenant, request, { type: 'UnsetPluginConfigValue', data: { name, environment, key } }, metadata, 'unset');
}

/** `plugin config list NAME --env ENV`: needs read-plugin-config; secrets are listed as set, never shown. */
export async function listPluginConfig(ports: PluginConfigPorts, request: { readonly name: string; readonly environment: string }, context: CommandContext): Promise<PluginConfigListReply> {
  const { name, environment } = request;
  const { plugin } = await authorizeCommand(ports.authorizer, { action: 'read-plugin-config', plugin: name, environment }, context);
  const { state } = await ports.events.load<PluginConfigState>(PLUGIN_CONFIG_AGGREGATE, pluginConfigAggregateId(plugin.tenant, name, environment), {
    initialState: pluginConfigDecider.initialState,
    evolve: (s, event) => pluginConfigDecider.evolve(s, event as unknown as Parameters<typeof pluginConfigDecider.evolve>[1]),
  });
  return pluginConfigListOf(name, environment, state);
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
  const outcome = await handleCommand(
    ports.events,
    pluginConfigDecider,
    { aggregate: PLUGIN_CONFIG_AGGREGATE, id: pluginConfigAggregateId(tenant, name, environment), subject: `${name}@${environment}` },
    command,
    metadata,
  );
  const secret = command.type === 'SetPluginConfigValue' ? command.data.secret : (outcome.state.entries[key]?.secret ?? false);
  const last = outcome.appended.at(-1);
  return { name, environment, key, secret, outcome: outcome.events.length === 0 ? 'unchanged' : done, sequence: last?.sequence ?? outcome.version };
}
