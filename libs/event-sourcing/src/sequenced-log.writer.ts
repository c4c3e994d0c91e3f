import type { EventStore, NewEvent } from './event-store.port.js';
import { DEFAULT_RETRY_POLICY, retryOnConflict, type RetryPolicy } from './retry.policy.js';

/**
 * Appends records (invocation failures, verification results) to one instance per key of an
 * aggregate, e.g. `forgeone.evt.invocation.<tenant>`, each append expecting the subject's last
 * sequence. Appends for one key are queued in this process, and the last sequence is remembered, so
 * one writer never conflicts with itself; a conflict with another process re-reads the last sequence
 * and tries again under the shared retry policy (the event ids make a repeated append store once).
 */
export class SequencedLogWriter {
  private readonly lastSequence = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly aggregate: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  append(id: string, events: readonly NewEvent[]): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(id, events));
    this.queues.set(id, next);
    void next
      .finally(() => {
        if (this.queues.get(id) === next) this.queues.delete(id);
      })
      .catch(() => undefined);
    return next;
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
