import { CALL_RECORDING_EVENT_TYPES, type CallRecordingSet } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { CallRecordingCommand } from './call-recording.commands.js';
import { callRecordingDecider } from './call-recording.decider.js';

// given events, when a command, then the events it decides.
function given(...events: CallRecordingSet[]) {
  const state = events.reduce(callRecordingDecider.evolve, callRecordingDecider.initialState());
  return { when: (command: CallRecordingCommand) => ({ then: (expected: CallRecordingSet[]) => expect(callRecordingDecider.decide(command, state)).toEqual(expected) }) };
}
const set = (environment: string | null, mode: 'windows' | 'per-call', setBy = 'root'): CallRecordingCommand => ({ type: 'SetCallRecording', data: { tenant: 'acme', environment, mode, setBy } });
const recorded = (environment: string | null, before: 'windows' | 'per-call', mode: 'windows' | 'per-call', setBy = 'root'): CallRecordingSet => ({
  type: CALL_RECORDING_EVENT_TYPES.set,
  data: { tenant: 'acme', environment, before, mode, setBy },
});

describe('call recording decider', () => {
  it('a tenant starts with windows; per-call is recorded with before, after and who', () => {
    given().when(set(null, 'per-call', 'alice')).then([recorded(null, 'windows', 'per-call', 'alice')]);
  });

  it('setting the mode in force records nothing', () => {
    given().when(set(null, 'windows')).then([]);
    given(recorded(null, 'windows', 'per-call')).when(set(null, 'per-call')).then([]);
  });

  it('an environment takes the tenant default as its before, and keeps its own setting once made', () => {
    given(recorded(null, 'windows', 'per-call')).when(set('production', 'windows')).then([recorded('production', 'per-call', 'windows')]);
    given().when(set('staging', 'windows')).then([recorded('staging', 'windows', 'windows')]);
    given(recorded('staging', 'windows', 'windows')).when(set('staging', 'windows')).then([]);
  });
});
