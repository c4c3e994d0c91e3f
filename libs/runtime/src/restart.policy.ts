/** How the supervisor restarts a service that exits on its own. */
export interface RestartPolicy {
  /** Wait before the first restart after a stable run (ms). */
  readonly initialDelayMs: number;
  /** Each further rapid failure multiplies the wait by this. */
  readonly factor: number;
  /** The wait never exceeds this (ms). */
  readonly maxDelayMs: number;
  /** A run at least this long counts as stable: the failure count starts again from zero (ms). */
  readonly stableAfterMs: number;
  /** After this many failures in a row, each within stableAfterMs of starting, the supervisor gives up. */
  readonly maxRapidFailures: number;
}

/** 1 s, 2 s, 4 s, 8 s, then give up on the fifth crash in a row that came within a minute of its start. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  factor: 2,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  maxRapidFailures: 5,
};

/** What the supervisor knows about one service between its runs. */
export interface RestartState {
  /** Failures in a row, each within stableAfterMs of its start. */
  readonly rapidFailures: number;
}

export const initialRestartState: RestartState = { rapidFailures: 0 };

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number; readonly state: RestartState }
  | { readonly action: 'give-up'; readonly rapidFailures: number; readonly state: RestartState };

/**
 * Decides what to do when a service exits on its own after running `uptimeMs`: restart after an
 * exponentially growing, capped wait, or give up after `maxRapidFailures` short runs in a row.
 */
export function decideRestart(state: RestartState, uptimeMs: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartDecision {
  const rapidFailures = (uptimeMs >= policy.stableAfterMs ? 0 : state.rapidFailures) + 1;
  if (rapidFailures >= policy.maxRapidFailures) return { action: 'give-up', rapidFailures, state: { rapidFailures } };
  const delayMs = Math.min(policy.maxDelayMs, Math.round(policy.initialDelayMs * policy.factor ** (rapidFailures - 1)));
  return { action: 'restart', delayMs, attempt: rapidFailures, state: { rapidFailures } };
}

/** Checks a policy given by a caller; throws naming the field that is wrong. */
export function validateRestartPolicy(policy: RestartPolicy): RestartPolicy {
  const wrong = (field: keyof RestartPolicy, why: string) => new Error(`restart policy: ${field} ${why} (got ${String(policy[field])})`);
  for (const field of ['initialDelayMs', 'maxDelayMs', 'stableAfterMs'] as const) {
    if (!Number.isFinite(policy[field]) || policy[field] < 0) throw wrong(field, 'must be a number of milliseconds, 0 or more');
  }
  if (!Number.isFinite(policy.factor) || policy.factor < 1) throw wrong('factor', 'must be 1 or more');
  if (!Number.isInteger(policy.maxRapidFailures) || policy.maxRapidFailures < 1) throw wrong('maxRapidFailures', 'must be a whole number, 1 or more');
  if (policy.maxDelayMs < policy.initialDelayMs) throw wrong('maxDelayMs', `must be at least initialDelayMs (${policy.initialDelayMs})`);
  return policy;
}
