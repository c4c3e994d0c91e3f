import {
  changedSettingFields,
  COMMAND_ERRORS,
  ENVIRONMENT_EVENT_TYPES,
  evolveEnvironment,
  ForgeOneError,
  initialEnvironmentState,
  refusalOf,
  weakenedSettingFields,
  type EnvironmentEvent,
  type EnvironmentSettings,
  type EnvironmentState,
} from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ChangeEnvironmentSettings, ConfirmEnvironmentWeakening, EnvironmentCommand } from './environment.commands.js';

const refuse = {
  set: refusalOf(COMMAND_ERRORS.setEnvironment),
  confirm: refusalOf(COMMAND_ERRORS.confirmEnvironment),
};

/**
 * decide(command, state) → events for one environment. A change that weakens a gated environment is
 * only proposed; it applies when a different administrator confirms it. Everything else applies at once.
 */
function decide(command: EnvironmentCommand, state: EnvironmentState): EnvironmentEvent[] {
  switch (command.type) {
    case 'ChangeEnvironmentSettings':
      return change(command, state);
    case 'ConfirmEnvironmentWeakening':
      return confirm(command, state);
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown environment command ${(unknown as { type: string }).type}`);
    }
  }
}

/** The environment aggregate (`<tenant>:<name>`) as the shared command handler takes it. */
export const environmentDecider: Decider<EnvironmentCommand, EnvironmentEvent, EnvironmentState> = {
  decide,
  evolve: evolveEnvironment,
  initialState: initialEnvironmentState,
};

function change({ data }: ChangeEnvironmentSettings, state: EnvironmentState): EnvironmentEvent[] {
  const { environment } = data.change;
  const before = state.settings ?? data.defaults;
  const after = applyChange(before, data.change);
  const changed = changedSettingFields(before, after);
  if (changed.length === 0) return [];
  // Only a gated environment's weakenings wait: an ungated one has no promotion to protect.
  const weakened = before.gated ? weakenedSettingFields(before, after) : [];
  if (weakened.length > 0) {
    return [{ type: ENVIRONMENT_EVENT_TYPES.weakeningProposed, data: { environment, proposalId: data.proposalId, before, after, changed, weakened } }];
  }
  return [{ type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment, before, after, changed } }];
}

function confirm({ data }: ConfirmEnvironmentWeakening, state: EnvironmentState): EnvironmentEvent[] {
  const { pending } = state;
  if (!pending) {
    throw refuse.confirm('ENVIRONMENT.NO_PROPOSAL', `no weakening of ${data.environment} waits for confirmation; propose one with forgeone env set ${data.environment} ...`, {
      environment: data.environment,
    });
  }
  if (pending.proposedBy === data.actor) {
    throw refuse.confirm(
      'ENVIRONMENT.SAME_ADMIN',
      `the weakening of ${data.environment} (${pending.weakened.join(', ')}) was proposed by you; a second, different administrator must confirm it`,
      { environment: data.environment, proposalId: pending.proposalId },
    );
  }
  if (state.settings !== null && changedSettingFields(state.settings, pending.before).length > 0) {
    throw refuse.confirm('ENVIRONMENT.PROPOSAL_STALE', `the settings of ${data.environment} changed after the weakening was proposed; propose it again`, {
      environment: data.environment,
      proposalId: pending.proposalId,
    });
  }
  return [
    {
      type: ENVIRONMENT_EVENT_TYPES.weakeningConfirmed,
      data: { environment: data.environment, proposalId: pending.proposalId, proposedBy: pending.proposedBy, before: pending.before, after: pending.after },
    },
  ];
}

/** The settings after a change, or the refusal naming what contradicts itself. */
export function applyChange(before: EnvironmentSettings, change: ChangeEnvironmentSettings['data']['change']): EnvironmentSettings {
  const { environment } = change;
  // Naming the environment it is promoted from gates it.
  const gated = change.gated ?? (change.promotedFrom !== undefined ? true : before.gated);
  const promotedFrom = gated ? (change.promotedFrom ?? before.promotedFrom) : null;
  if (change.promotedFrom !== undefined && change.gated === false) {
    throw refuse.set('ENVIRONMENT.INVALID', `${environment} cannot be both ungated and promoted from ${change.promotedFrom}; give one of them`, { environment });
  }
  if (gated && promotedFrom === null) {
    throw refuse.set('ENVIRONMENT.INVALID', `${environment} is gated but names no environment it is promoted from; give one (--gated-from ENV)`, { environment });
  }
  if (promotedFrom === environment) {
    throw refuse.set('ENVIRONMENT.INVALID', `${environment} cannot be promoted from itself; name another environment (--gated-from ENV)`, { environment });
  }
  return {
    mode: change.mode ?? before.mode,
    threshold: change.threshold ?? before.threshold,
    gated,
    promotedFrom,
    approvals: change.approvals ?? before.approvals,
    soakSeconds: change.soakSeconds ?? before.soakSeconds,
    limitCaps: change.limitCaps ?? before.limitCaps,
  };
}
