import { ForgeOneError, type Names } from '@forgeone/contracts';
import type { JetStreamEventStore, NewEvent } from '@forgeone/event-store';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

const MAX_ATTEMPTS = 8;

/**
 * Appends a tenant's events of one aggregate (invocations, signature results) to
 * `forgeone.evt.<aggregate>.<tenant>`. The store demands the expected
 * last sequence of the subject; appends for one tenant are queued in this process and a conflict
 * with another runner re-reads the subject's last sequence and retries (the event id makes a
 * retried append idempotent).
 */
export class TenantEventsWriter {
  private readonly lastSequence = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private jsm?: Promise<JetStreamManager>;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly connection: NatsConnection,
    private readonly names: Names,
    private readonly aggregate: string,
  ) {}

  append(tenant: string, events: readonly NewEvent[]): Promise<void> {
    const previous = this.queues.get(tenant) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(tenant, events));
    this.queues.set(tenant, next);
    void next.finally(() => {
      if (this.queues.get(tenant) === next) this.queues.delete(tenant);
    }).catch(() => undefined);
    return next;
  }

  private async appendNow(tenant: string, events: readonly NewEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const expected = this.lastSequence.get(tenant) ?? (await this.readLastSequence(tenant));
      try {
        const results = await this.store.append(this.aggregate, tenant, events, { expectedSequence: expected });
        const last = results.at(-1);
        if (last !== undefined && !last.duplicate) this.lastSequence.set(tenant, last.sequence);
        else this.lastSequence.delete(tenant);
        return;
      } catch (error) {
        this.lastSequence.delete(tenant);
        if (!(error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  private async readLastSequence(tenant: string): Promise<number> {
    this.jsm ??= jetstreamManager(this.connection, { checkAPI: false });
    try {
      const last = await (await this.jsm).streams.getMessage(this.names.stream, { last_by_subj: this.names.eventSubject(this.aggregate, tenant) });
      return last?.seq ?? 0;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return 0;
      throw error;
    }
  }
}
