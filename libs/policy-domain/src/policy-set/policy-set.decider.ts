import { ForgeOneError, POLICY_EVENT_TYPES, type PolicySetApplied } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { PolicySetCommand } from './policy-set.commands.js';

/** Aggregate id of the one platform-wide policy set. */
export const POLICY_SET_ID = 'active';

/** The active policy set as its events describe it; null before the first is applied. */
export interface PolicySetState {
  readonly current: {
    readonly version: number;
    readonly sha256: string;
    readonly policies: Readonly<Record<string, string>>;
    readonly appliedBy: string;
    /** Envelope time of the event that applied it, when the fold was given one. */
    readonly appliedAt: string | null;
  } | null;
}

/** A stored policy-set event; the envelope's `time` becomes `appliedAt`. */
export type PolicySetEvent = PolicySetApplied & { readonly time?: string };

export function initialPolicySetState(): PolicySetState {
  return { current: null };
}

/**
 * Applies: a stale `expectedVersion` is POLICY.CONFLICT (the caller merges and applies again), the
 * set already active changes nothing, anything else becomes the next version. The default set is
 * applied only to a platform that has none, so racing first starts apply it once.
 */
export function decidePolicySet(command: PolicySetCommand, state: PolicySetState): PolicySetEvent[] {
  switch (command.type) {
    case 'ApplyPolicySet': {
      const { policies, sha256, appliedBy, expectedVersion } = command.data;
      const version = state.current?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== version) {
        throw new ForgeOneError('POLICY.CONFLICT', `the policy set is at version ${version}, not ${expectedVersion}: run policy show, merge your change and apply again`, {
          version,
          expectedVersion,
        });
      }
      if (sha256 === state.current?.sha256) return [];
      return [{ type: POLICY_EVENT_TYPES.policySetApplied, data: { version: version + 1, policies: { ...policies }, sha256, appliedBy } }];
    }
    case 'ApplyDefaultPolicySet': {
      if (state.current) return [];
      const { policies, sha256, appliedBy } = command.data;
      return [{ type: POLICY_EVENT_TYPES.policySetApplied, data: { version: 1, policies: { ...policies }, sha256, appliedBy } }];
    }
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown policy set command ${(unknown as { type: string }).type}`);
    }
  }
}

export function evolvePolicySet(state: PolicySetState, event: PolicySetEvent): PolicySetState {
  switch (event.type) {
    case POLICY_EVENT_TYPES.policySetApplied: {
      const { version, sha256, policies, appliedBy } = event.data;
      return { current: { version, sha256, policies, appliedBy, appliedAt: event.time ?? null } };
    }
    default: {
      const unknown: never = event.type;
      return unknown;
    }
  }
}

/** The policy set aggregate (`policy`, id {@link POLICY_SET_ID}) as the shared command handler takes it. */
export const policySetDecider: Decider<PolicySetCommand, PolicySetEvent, PolicySetState> = {
  initialState: initialPolicySetState,
  decide: decidePolicySet,
  evolve: evolvePolicySet,
};
