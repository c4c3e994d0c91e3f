import { defaultEnvironmentSettings, ENVIRONMENT_EVENT_TYPES, ForgeOneError, type EnvironmentEvent, type SetEnvironmentRequest } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { EnvironmentCommand } from './environment.commands.js';
import { environmentDecider } from './environment.decider.js';

const POLICY = { production: { mode: 'strict' as const, threshold: 1 }, staging: { mode: 'audit' as const, threshold: 1 } };
const production = defaultEnvironmentSettings('production', POLICY);
const staging = defaultEnvironmentSettings('staging', POLICY);

const set = (change: Omit<SetEnvironmentRequest, 'environment'>, actor = 'alice', environment = 'production'): EnvironmentCommand => ({
  type: 'ChangeEnvironmentSettings',
  data: { change: { environment, ...change }, defaults: defaultEnvironmentSettings(environment, POLICY), actor, proposalId: 'p-1' },
});
const confirm = (actor: string, environment = 'production'): EnvironmentCommand => ({ type: 'ConfirmEnvironmentWeakening', data: { environment, actor } });

/** Given past events (with their actors), when a command is decided, then these events (or this error code). */
function given(events: ReadonlyArray<EnvironmentEvent & { actor?: string }>) {
  const state = events.reduce(environmentDecider.evolve, environmentDecider.initialState());
  return {
    state,
    when: (command: EnvironmentCommand) => ({
      then: (expected: EnvironmentEvent[]) => expect(environmentDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          environmentDecider.decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
        return caught as ForgeOneError;
      },
    }),
  };
}

describe('environment decider - defaults', () => {
  it('a fresh platform: production strict, gated from staging, one approval; staging audit, not gated; others strict', () => {
    expect(production).toEqual({ mode: 'strict', threshold: 1, gated: true, promotedFrom: 'staging', approvals: 1, soakSeconds: 0, limitCaps: {} });
    expect(staging).toEqual({ mode: 'audit', threshold: 1, gated: false, promotedFrom: null, approvals: 0, soakSeconds: 0, limitCaps: {} });
    expect(defaultEnvironmentSettings('qa', POLICY)).toEqual({ mode: 'strict', threshold: 1, gated: false, promotedFrom: null, approvals: 0, soakSeconds: 0, limitCaps: {} });
  });
});

describe('environment decider - change', () => {
  it('strengthening a gated environment applies at once, recording before and after', () => {
    given([])
      .when(set({ threshold: 2, soakSeconds: 3600 }))
      .then([
        {
          type: ENVIRONMENT_EVENT_TYPES.settingsChanged,
          data: { environment: 'production', before: production, after: { ...production, threshold: 2, soakSeconds: 3600 }, changed: ['threshold', 'soakSeconds'] },
        },
      ]);
  });
  it('weakening a gated environment is only proposed, naming the weakened fields', () => {
    given([])
      .when(set({ mode: 'audit', approvals: 2 }))
      .then([
        {
          type: ENVIRONMENT_EVENT_TYPES.weakeningProposed,
          data: { environment: 'production', proposalId: 'p-1', before: production, after: { ...production, mode: 'audit', approvals: 2 }, changed: ['mode', 'approvals'], weakened: ['mode'] },
        },
      ]);
  });
  it.each([
    ['a lower threshold', { threshold: 1 }, 'threshold', { threshold: 3 }],
    ['ungating', { gated: false }, 'gated', {}],
    ['fewer approvals', { approvals: 0 }, 'approvals', {}],
    ['a shorter soak', { soakSeconds: 60 }, 'soakSeconds', { soakSeconds: 3600 }],
    ['another source environment', { promotedFrom: 'qa' }, 'promotedFrom', {}],
    ['a raised cap', { limitCaps: { fuel: 20 } }, 'limitCaps', { limitCaps: { fuel: 10 } }],
  ] as const)('%s is a weakening', (_what, change, field, start) => {
    const started = { ...production, ...start };
    const history: EnvironmentEvent[] = [{ type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment: 'production', before: production, after: started, changed: ['mode'] } }];
    const events = environmentDecider.decide(set(change), given(history).state);
    expect(events[0].type).toBe(ENVIRONMENT_EVENT_TYPES.weakeningProposed);
    expect((events[0].data as { weakened: string[] }).weakened).toEqual([field]);
  });
  it('weakening an ungated environment applies at once', () => {
    given([])
      .when(set({ mode: 'strict' }, 'alice', 'staging'))
      .then([{ type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment: 'staging', before: staging, after: { ...staging, mode: 'strict' }, changed: ['mode'] } }]);
    const strictStaging: EnvironmentEvent = { type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment: 'staging', before: staging, after: { ...staging, mode: 'strict' }, changed: ['mode'] } };
    expect(environmentDecider.decide(set({ mode: 'audit' }, 'alice', 'staging'), given([strictStaging]).state)[0].type).toBe(ENVIRONMENT_EVENT_TYPES.settingsChanged);
  });
  it('naming the source environment gates an ungated one at once', () => {
    const events = environmentDecider.decide(set({ promotedFrom: 'dev' }, 'alice', 'staging'), given([]).state);
    expect(events).toEqual([
      { type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment: 'staging', before: staging, after: { ...staging, gated: true, promotedFrom: 'dev' }, changed: ['gated', 'promotedFrom'] } },
    ]);
  });
  it('the same settings again change nothing', () => {
    given([]).when(set({ mode: 'strict', threshold: 1 })).then([]);
  });
  it('refuses an environment gated from itself', () => {
    expect(given([]).when(set({ promotedFrom: 'production' })).thenRefused('ENVIRONMENT.INVALID').message).toContain('promoted from itself');
  });
  it('refuses ungated and promoted from at once', () => {
    given([]).when(set({ gated: false, promotedFrom: 'staging' })).thenRefused('ENVIRONMENT.INVALID');
  });
  it('refuses gating with no source environment', () => {
    given([]).when(set({ gated: true }, 'alice', 'qa')).thenRefused('ENVIRONMENT.INVALID');
  });
});

describe('environment decider - confirm', () => {
  const proposed: EnvironmentEvent & { actor: string } = {
    type: ENVIRONMENT_EVENT_TYPES.weakeningProposed,
    data: { environment: 'production', proposalId: 'p-1', before: production, after: { ...production, mode: 'audit' }, changed: ['mode'], weakened: ['mode'] },
    actor: 'alice',
  };
  it('a second administrator confirms: the weakening applies', () => {
    given([proposed])
      .when(confirm('bob'))
      .then([{ type: ENVIRONMENT_EVENT_TYPES.weakeningConfirmed, data: { environment: 'production', proposalId: 'p-1', proposedBy: 'alice', before: production, after: { ...production, mode: 'audit' } } }]);
    const after = given([proposed, { type: ENVIRONMENT_EVENT_TYPES.weakeningConfirmed, data: { environment: 'production', proposalId: 'p-1', proposedBy: 'alice', before: production, after: { ...production, mode: 'audit' } }, actor: 'bob' }]).state;
    expect(after.settings?.mode).toBe('audit');
    expect(after.pending).toBeNull();
  });
  it('the proposer cannot confirm their own weakening', () => {
    expect(given([proposed]).when(confirm('alice')).thenRefused('ENVIRONMENT.SAME_ADMIN').message).toContain('second, different administrator');
  });
  it('a proposal waits: the settings stay as they were until confirmed', () => {
    expect(given([proposed]).state.settings).toEqual(production);
  });
  it('nothing to confirm', () => {
    given([]).when(confirm('bob')).thenRefused('ENVIRONMENT.NO_PROPOSAL');
  });
  it('a strengthening after the proposal drops it: nothing is left to confirm', () => {
    const strengthened: EnvironmentEvent = { type: ENVIRONMENT_EVENT_TYPES.settingsChanged, data: { environment: 'production', before: production, after: { ...production, threshold: 2 }, changed: ['threshold'] } };
    given([proposed, strengthened]).when(confirm('bob')).thenRefused('ENVIRONMENT.NO_PROPOSAL');
  });
});
