import { ForgeOneError, POLICY_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { PolicySetCommand } from './policy-set.commands.js';
import { policySetDecider, type PolicySetEvent } from './policy-set.decider.js';

const sha = (c: string) => c.repeat(64);
const applied = (version: number, c = 'a', appliedBy = 'adm-1'): PolicySetEvent => ({
  type: POLICY_EVENT_TYPES.policySetApplied,
  data: { version, policies: { [`p-${c}`]: 'permit (principal, action, resource);' }, sha256: sha(c), appliedBy },
});
const apply = (c: string, expectedVersion?: number): PolicySetCommand => ({
  type: 'ApplyPolicySet',
  data: { policies: { [`p-${c}`]: 'permit (principal, action, resource);' }, sha256: sha(c), appliedBy: 'adm-1', ...(expectedVersion === undefined ? {} : { expectedVersion }) },
});
const defaults: PolicySetCommand = { type: 'ApplyDefaultPolicySet', data: { policies: { 'p-d': 'permit (principal, action, resource);' }, sha256: sha('d'), appliedBy: 'service.policy' } };

/** Given past policy-set events, when a command is decided, then these events (or this error code). */
function given(events: PolicySetEvent[]) {
  const state = events.reduce(policySetDecider.evolve, policySetDecider.initialState());
  return {
    when: (command: PolicySetCommand) => ({
      then: (expected: PolicySetEvent[]) => expect(policySetDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          policySetDecider.decide(command, state);
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

describe('policy set decider - apply', () => {
  it('applies a changed set as the next version', () => {
    given([applied(1, 'd')]).when(apply('b')).then([applied(2, 'b')]);
    given([applied(1, 'd'), applied(2, 'b')]).when(apply('c', 2)).then([applied(3, 'c')]);
  });
  it('changes nothing when the set is the active one', () => {
    given([applied(1, 'd'), applied(2, 'b')]).when(apply('b')).then([]);
  });
  it('refuses a stale expected version, saying what to do', () => {
    const error = given([applied(1, 'd'), applied(2, 'b')]).when(apply('c', 1)).thenRefused('POLICY.CONFLICT');
    expect(error.message).toBe('the policy set is at version 2, not 1: run policy show, merge your change and apply again');
    expect(error.details).toEqual({ version: 2, expectedVersion: 1 });
  });
});

describe('policy set decider - the default set on a first start', () => {
  it('becomes version 1 of a platform without a set', () => {
    given([]).when(defaults).then([{ type: POLICY_EVENT_TYPES.policySetApplied, data: { ...defaults.data, version: 1 } }]);
  });
  it('changes nothing once any set exists (a racing replica applied it first)', () => {
    given([applied(1, 'd', 'service.policy')]).when(defaults).then([]);
  });
});

describe('policy set decider - evolve', () => {
  it('keeps the last set with its envelope time', () => {
    const state = [applied(1, 'd'), { ...applied(2, 'b'), time: '2026-12-01T10:00:00.000Z' }].reduce(policySetDecider.evolve, policySetDecider.initialState());
    expect(state.current).toMatchObject({ version: 2, sha256: sha('b'), appliedBy: 'adm-1', appliedAt: '2026-12-01T10:00:00.000Z' });
  });
});
