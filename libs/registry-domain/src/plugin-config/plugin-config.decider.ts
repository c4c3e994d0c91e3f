import {
  COMMAND_ERRORS,
  evolvePluginConfig,
  ForgeOneError,
  initialPluginConfigState,
  PLUGIN_CONFIG_EVENT_TYPES,
  refusalOf,
  type PluginConfigEvent,
  type PluginConfigState,
} from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { PluginConfigCommand } from './plugin-config.commands.js';

const refuse = { unset: refusalOf(COMMAND_ERRORS.unsetPluginConfig) };

/** decide(command, state) → events for one plugin's configuration in one environment. */
function decide(command: PluginConfigCommand, state: PluginConfigState): PluginConfigEvent[] {
  switch (command.type) {
    case 'SetPluginConfigValue': {
      const { data } = command;
      const existing = state.entries[data.key];
      // A secret is sealed with a fresh nonce each time, so setting it again is always a change.
      if (!data.secret && existing && !existing.secret && existing.value === data.value) return [];
      return [{ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data }];
    }
    case 'UnsetPluginConfigValue': {
      const { name, environment, key } = command.data;
      const existing = state.entries[key];
      if (!existing) {
        throw refuse.unset('PLUGIN_CONFIG.KEY_NOT_FOUND', `${name} has no configuration key ${key} in ${environment}; see forgeone plugin config list ${name} --env ${environment}`, {
          name,
          environment,
          key,
        });
      }
      return [{ type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { name, environment, key, secret: existing.secret } }];
    }
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown plugin configuration command ${(unknown as { type: string }).type}`);
    }
  }
}

/** The plugin-config aggregate (`<tenant>:<name>@<environment>`) as the shared command handler takes it. */
export const pluginConfigDecider: Decider<PluginConfigCommand, PluginConfigEvent, PluginConfigState> = {
  decide,
  evolve: evolvePluginConfig,
  initialState: initialPluginConfigState,
};
