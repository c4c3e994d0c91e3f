import {
  COMMAND_ERRORS,
  evolvePluginConfig,
  ForgeOneError,
  initialPluginConfigState,
  PLUGIN_CONFIG_EVENT_TYPES,
  refusalOf,
  type PendingConfigChange,
  type PluginConfigEvent,
  type PluginConfigState,
} from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ApprovePluginConfigChange, PluginConfigCommand, RejectPluginConfigChange } from './plugin-config.commands.js';

const refuse = {
  unset: refusalOf(COMMAND_ERRORS.unsetPluginConfig),
  approve: refusalOf(COMMAND_ERRORS.approvePluginConfig),
  reject: refusalOf(COMMAND_ERRORS.rejectPluginConfig),
};

/**
 * decide(command, state) → events for one plugin's configuration in one environment. In a gated environment
 * (the command carries a `proposal`) a change is only proposed; another principal's approval applies it.
 */
function decide(command: PluginConfigCommand, state: PluginConfigState): PluginConfigEvent[] {
  switch (command.type) {
    case 'SetPluginConfigValue': {
      const { data, proposal } = command;
      const existing = state.entries[data.key];
      // A secret is sealed with a fresh nonce each time, so setting it again is always a change.
      if (!data.secret && existing && !existing.secret && existing.value === data.value) return [];
      if (proposal) return [{ type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...data, changeId: proposal.changeId, change: 'set' } }];
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
      if (command.proposal) {
        return [{ type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { name, environment, key, changeId: command.proposal.changeId, change: 'unset', secret: existing.secret } }];
      }
      return [{ type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { name, environment, key, secret: existing.secret } }];
    }
    case 'ApprovePluginConfigChange':
      return approve(command, state);
    case 'RejectPluginConfigChange':
      return reject(command, state);
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

function approve({ data }: ApprovePluginConfigChange, state: PluginConfigState): PluginConfigEvent[] {
  const { name, environment, changeId } = data;
  const [key, pending] = findPending(state, changeId, name, environment, refuse.approve);
  if (pending.proposedBy === data.actor) {
    throw refuse.approve(
      'PLUGIN_CONFIG.OWN_CHANGE',
      `you proposed the change of ${key} of ${name} in ${environment} and may not approve it: nobody approves their own change; ask another approver`,
      { name, environment, changeId, proposedBy: pending.proposedBy },
    );
  }
  if (data.actorTokenIssuers.includes(pending.proposedBy)) {
    throw refuse.approve(
      'PLUGIN_CONFIG.OWN_CHANGE',
      `${pending.proposedBy} proposed the change of ${key} of ${name} in ${environment} and issued a token you hold, so your approval is not a second pair of eyes; ask another approver`,
      { name, environment, changeId, proposedBy: pending.proposedBy },
    );
  }
  const approval = { changeId, proposedBy: pending.proposedBy, ...(data.notes !== undefined ? { notes: data.notes } : {}) };
  if (pending.change === 'unset') {
    // Applied values drop a pending change of their key (the fold), so a proposed removal always finds its key.
    if (!state.entries[key]) throw refuse.approve('PLUGIN_CONFIG.KEY_NOT_FOUND', `${name} no longer has configuration key ${key} in ${environment}`, { name, environment, key });
    return [{ type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { name, environment, key, secret: state.entries[key].secret, approval } }];
  }
  const value = pending.secret ? { secret: true as const, sealed: pending.sealed } : { secret: false as const, value: pending.value };
  return [{ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { name, environment, key, ...value, approval } }];
}

function reject({ data }: RejectPluginConfigChange, state: PluginConfigState): PluginConfigEvent[] {
  const { name, environment, changeId, notes } = data;
  const [key, pending] = findPending(state, changeId, name, environment, refuse.reject);
  return [{ type: PLUGIN_CONFIG_EVENT_TYPES.changeRejected, data: { name, environment, key, changeId, secret: pending.secret, proposedBy: pending.proposedBy, notes } }];
}

function findPending(
  state: PluginConfigState,
  changeId: string,
  name: string,
  environment: string,
  refusal: (code: 'PLUGIN_CONFIG.NO_CHANGE', message: string, details: Record<string, unknown>) => ForgeOneError,
): [string, PendingConfigChange] {
  const found = Object.entries(state.pending).find(([, p]) => p.changeId === changeId);
  if (!found) {
    throw refusal(
      'PLUGIN_CONFIG.NO_CHANGE',
      `no configuration change ${changeId} of ${name} waits in ${environment} (it was applied, rejected, replaced by a newer proposal, or never made); see forgeone plugin config list ${name} --env ${environment}`,
      { name, environment, changeId },
    );
  }
  return found;
}
