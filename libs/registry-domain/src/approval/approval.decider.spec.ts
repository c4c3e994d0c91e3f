import { APPROVAL_EVENT_TYPES, ForgeOneError, type ApprovalEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { ApprovalCommand, ApproveVersion } from './approval.commands.js';
import { approvalDecider } from './approval.decider.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const RUN = '00000000-0000-4000-8000-000000000001';
const at = { name: 'acme/hello', version: '1.0.0', digest: DIGEST, environment: 'production' };

const approve = (over: Partial<ApproveVersion['data']> = {}): ApprovalCommand => ({
  type: 'ApproveVersion',
  data: { ...at, actor: 'alice', publisher: 'dev', gated: true, latestRun: { runId: RUN, environment: 'staging', passed: true, flagged: false }, acceptRegressions: false, ...over },
});
const approved = (actor: string, extra: Record<string, unknown> = {}) =>
  ({ type: APPROVAL_EVENT_TYPES.approved, data: { ...at, ...extra }, actor }) as ApprovalEvent & { actor: string };
const rejected = (actor: string, notes: string) => ({ type: APPROVAL_EVENT_TYPES.rejected, data: { ...at, notes }, actor }) as ApprovalEvent & { actor: string };

function given(events: ApprovalEvent[]) {
  const state = events.reduce(approvalDecider.evolve, approvalDecider.initialState());
  return {
    state,
    when: (command: ApprovalCommand) => ({
      then: (expected: ApprovalEvent[]) => expect(approvalDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          approvalDecider.decide(command, state);
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

describe('approval decider - approve', () => {
  it('records an approval with its notes', () => {
    given([]).when(approve({ notes: 'looks fine' })).then([{ type: APPROVAL_EVENT_TYPES.approved, data: { ...at, notes: 'looks fine' } }]);
  });
  it('refuses the publisher approving their own version', () => {
    const error = given([]).when(approve({ actor: 'dev' })).thenRefused('APPROVAL.OWN_VERSION');
    expect(error.message).toContain('nobody approves their own change');
  });
  it('refuses approving for an environment that is not gated', () => {
    given([]).when(approve({ gated: false })).thenRefused('APPROVAL.NOT_GATED');
  });
  it('refuses a flagged run unless its regressions are accepted, and records the acceptance', () => {
    const flagged = { runId: RUN, environment: 'staging', passed: true, flagged: true };
    expect(given([]).when(approve({ latestRun: flagged })).thenRefused('APPROVAL.REGRESSIONS_NOT_ACCEPTED').message).toContain('--accept-regressions');
    given([])
      .when(approve({ latestRun: flagged, acceptRegressions: true }))
      .then([{ type: APPROVAL_EVENT_TYPES.approved, data: { ...at, acceptedRegressions: { runId: RUN, environment: 'staging' } } }]);
  });
  it('the same approval again changes nothing; an approval after a rejection replaces it', () => {
    given([approved('alice')]).when(approve()).then([]);
    const { state } = given([rejected('alice', 'no'), approved('alice')]);
    expect(state.versions['1.0.0'].alice.decision).toBe('approved');
  });
});

describe('approval decider - reject', () => {
  it('records a rejection, which replaces the same principal’s approval', () => {
    const reject: ApprovalCommand = { type: 'RejectVersion', data: { ...at, actor: 'alice', gated: true, notes: 'breaks invoices' } };
    given([approved('alice')]).when(reject).then([{ type: APPROVAL_EVENT_TYPES.rejected, data: { ...at, notes: 'breaks invoices' } }]);
    expect(given([approved('alice'), rejected('alice', 'breaks invoices')]).state.versions['1.0.0'].alice.decision).toBe('rejected');
    given([rejected('alice', 'breaks invoices')]).when(reject).then([]);
  });
  it('refuses rejecting for an environment that is not gated', () => {
    given([]).when({ type: 'RejectVersion', data: { ...at, actor: 'alice', gated: false, notes: 'x' } }).thenRefused('APPROVAL.NOT_GATED');
  });
});
