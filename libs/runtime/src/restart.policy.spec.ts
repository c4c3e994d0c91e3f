import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, decideRestart, initialRestartState, validateRestartPolicy, type RestartPolicy, type RestartState } from './restart.policy.js';

const policy: RestartPolicy = { initialDelayMs: 100, factor: 3, maxDelayMs: 1_000, stableAfterMs: 5_000, maxRapidFailures: 6 };

function crashes(uptimes: readonly number[], p: RestartPolicy = policy) {
  let state: RestartState = initialRestartState;
  return uptimes.map((uptime) => {
    const decision = decideRestart(state, uptime, p);
    state = decision.state;
    return decision;
  });
}

describe('restart policy', () => {
  it('restart policy - the wait grows by the factor with each rapid failure and stops at the cap', () => {
    const decisions = crashes([10, 10, 10, 10, 10]);
    expect(decisions.map((d) => d.action)).toEqual(['restart', 'restart', 'restart', 'restart', 'restart']);
    expect(decisions.map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([100, 300, 900, 1_000, 1_000]);
    expect(decisions.map((d) => (d.action === 'restart' ? d.attempt : -1))).toEqual([1, 2, 3, 4, 5]);
  });

  it('restart policy - gives up on the maxRapidFailures-th failure in a row', () => {
    const decisions = crashes([10, 10, 10, 10, 10, 10]);
    expect(decisions[5]).toEqual({ action: 'give-up', rapidFailures: 6, state: { rapidFailures: 6 } });
  });

  it('restart policy - a stable run resets the count: the next wait is the first one again', () => {
    const decisions = crashes([10, 10, 10, 5_000, 10]);
    expect(decisions.map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([100, 300, 900, 100, 300]);
    // Just under the stable period still counts as rapid.
    expect(crashes([10, 4_999]).map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([100, 300]);
  });

  it('restart policy - a service crashing every time, but each time after a stable run, is restarted forever', () => {
    const decisions = crashes(Array.from({ length: 50 }, () => 60_000));
    expect(decisions.every((d) => d.action === 'restart' && d.delayMs === 100)).toBe(true);
  });

  it('restart policy - the default: 1 s, 2 s, 4 s, 8 s, then gives up on the fifth crash within a minute of its start', () => {
    const decisions = crashes([1, 1, 1, 1, 1], DEFAULT_RESTART_POLICY);
    expect(decisions.map((d) => (d.action === 'restart' ? d.delayMs : d.action))).toEqual([1_000, 2_000, 4_000, 8_000, 'give-up']);
  });

  it('restart policy - maxRapidFailures 1 means never restart', () => {
    expect(decideRestart(initialRestartState, 10, { ...policy, maxRapidFailures: 1 }).action).toBe('give-up');
  });

  it('restart policy - a wrong policy is refused naming the field', () => {
    expect(validateRestartPolicy(policy)).toBe(policy);
    expect(() => validateRestartPolicy({ ...policy, factor: 0.5 })).toThrow('restart policy: factor must be 1 or more (got 0.5)');
    expect(() => validateRestartPolicy({ ...policy, maxRapidFailures: 0 })).toThrow(/maxRapidFailures must be a whole number/);
    expect(() => validateRestartPolicy({ ...policy, initialDelayMs: -1 })).toThrow(/initialDelayMs must be a number of milliseconds/);
    expect(() => validateRestartPolicy({ ...policy, maxDelayMs: 50 })).toThrow(/maxDelayMs must be at least initialDelayMs \(100\)/);
  });
});
