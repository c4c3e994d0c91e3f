import { CALL_RECORDING_EVENT_TYPES, callRecordingFor, DEFAULT_CALL_RECORDING, evolveCallRecording, ForgeOneError, type CallRecordingSet, type CallRecordingSettings } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { CallRecordingCommand } from './call-recording.commands.js';

/**
 * One `call-recording` aggregate per tenant. A change records the mode before and after and who
 * made it; setting the mode already in force changes nothing (no event), so the history holds only
 * real changes.
 */
export function decideCallRecording(command: CallRecordingCommand, state: CallRecordingSettings): CallRecordingSet[] {
  switch (command.type) {
    case 'SetCallRecording': {
      const { tenant, environment, mode, setBy } = command.data;
      const before = environment === null ? state.tenantDefault : callRecordingFor(state, environment);
      // An environment following the tenant default gets a setting of its own even when equal, so a later default change leaves it be.
      if (before === mode && (environment === null || Object.hasOwn(state.environments, environment))) return [];
      return [{ type: CALL_RECORDING_EVENT_TYPES.set, data: { tenant, environment, before, mode, setBy } }];
    }
    default: {
      const unknown: never = command.type;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown call recording command ${String(unknown)}`);
    }
  }
}

export const callRecordingDecider: Decider<CallRecordingCommand, CallRecordingSet, CallRecordingSettings> = {
  initialState: () => DEFAULT_CALL_RECORDING,
  decide: decideCallRecording,
  evolve: evolveCallRecording,
};
