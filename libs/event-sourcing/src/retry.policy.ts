import { ForgeOneError } from '@forgeone/contracts';

/** How often a write that lost an optimistic-concurrency race is tried again on fresh state. */
export interface RetryPolicy {
  /** Attempts in all, the first included; the last conflict is rethrown after them. */
  readonly maxAttempts: number;
}

/**
 * One policy for every aggregate. A conflict means another writer's append to the same subject was
 * accepted in between, so every round has a winner and n racing writers finish within n attempts;
 * 8 covers the most writers one aggregate sees (sandbox-runner replicas logging into one tenant's
 * subject). No back-off: the next attempt reloads first, which spaces attempts by a round trip, and
 * waiting would only add latency to a race that is already decided.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 8 });

/** Whether `error` is an append that lost the race on its expected sequence. */
export function isConflict(error: unknown): error is ForgeOneError {
  return error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT';
}

/**
 * Runs `attempt` (numbered from 1) until it resolves, again after each EVENTSTORE.CONFLICT up to the
 * policy's attempts. Any other error, and the last conflict, is thrown as it is.
 */
export async function retryOnConflict<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`a retry policy needs at least one attempt, got maxAttempts ${String(policy.maxAttempts)}`);
  }
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isConflict(error) || n >= policy.maxAttempts) throw error;
    }
  }
}
