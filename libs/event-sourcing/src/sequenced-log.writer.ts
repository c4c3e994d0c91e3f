import type { EventStore, NewEvent } from './event-store.port.js';
import { DEFAULT_RETRY_POLICY, retryOnConflict, type RetryPolicy } from './retry.policy.js';

/** At most this many events go into one append of queued records (the store signs up to 256 together). */
export const SEQUENCED_LOG_MAX_BATCH = 128;

interface Waiting {
  readonly events: readonly NewEvent[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Appends records (invocation failures, verification results, per-call records) to one instance per
 * key of an aggregate, e.g. `forgeone.evt.invocation.<tenant>`, each append expecting the subject's
 * last sequence. Appends for one key are queued in this process, and the last sequence is remembered,
 * so one writer never conflicts with itself; a conflict with another process re-reads the last
 * sequence and tries again under the shared retry policy (the event ids make a repeated append store
 * once). Records queued while an append of their key is in flight go out together in the next one
 * (group commit): one round trip for many callers instead of one each; a batch that fails is tried
 * again one caller at a time, so one caller's bad record never fails another's.
 */
export class SequencedLogWriter {
  private readonly lastSequence = new Map<string, number>();
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly draining = new Set<string>();

  constructor(
    private readonly store: EventStore,
    private readonly aggregate: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  append(id: string, events: readonly NewEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = this.waiting.get(id) ?? [];
      queue.push({ events, resolve, reject });
      this.waiting.set(id, queue);
      if (!this.draining.has(id)) void this.drain(id);
    });
  }

  private async drain(id: string): Promise<void> {
    this.draining.add(id);
    try {
      for (let queue = this.waiting.get(id); queue !== undefined && queue.length > 0; queue = this.waiting.get(id)) {
        const batch = takeBatch(queue);
        if (queue.length === 0) this.waiting.delete(id);
        if (batch.length === 1) {
          await this.appendNow(id, batch[0].events).then(batch[0].resolve, batch[0].reject);
          continue;
        }
        try {
          await this.appendNow(id, batch.flatMap((w) => w.events));
          for (const w of batch) w.resolve();
        } catch {
          for (const w of batch) await this.appendNow(id, w.events).then(w.resolve, w.reject);
        }
      }
    } finally {
      this.draining.delete(id);
    }
  }

  private appendNow(id: string, events: readonly NewEvent[]): Promise<void> {
    return retryOnConflict(async () => {
      const expected = this.lastSequence.get(id) ?? (await this.store.lastSequence(this.aggregate, id));
      try {
        const results = await this.store.append(this.aggregate, id, events, { expectedSequence: expected });
        const last = results.at(-1);
        if (last !== undefined && !last.duplicate) this.lastSequence.set(id, last.sequence);
        else this.lastSequence.delete(id);
      } catch (error) {
        this.lastSequence.delete(id);
        throw error;
      }
    }, this.retry);
  }
}

// The callers at the head of the queue whose events fit one batch (always at least one caller).
function takeBatch(queue: Waiting[]): Waiting[] {
  let events = queue[0].events.length;
  let n = 1;
  while (n < queue.length && events + queue[n].events.length <= SEQUENCED_LOG_MAX_BATCH) events += queue[n++].events.length;
  return queue.splice(0, n);
}
