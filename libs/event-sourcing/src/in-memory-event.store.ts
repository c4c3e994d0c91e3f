import { ForgeOneError, cloudEvent, type CloudEvent } from '@forgeone/contracts';
import type { AppendOptions, AppendResult, EventFold, EventStore, LoadedAggregate, NewEvent, StoredEvent, VersionedEvents } from './event-store.port.js';

interface Entry {
  readonly aggregate: string;
  readonly id: string;
  readonly stored: StoredEvent;
}

/**
 * The event store in memory, for specs of use cases and services: one sequence over all subjects,
 * expected-sequence checks per aggregate instance (EVENTSTORE.CONFLICT, as JetStream answers), event
 * ids stored once (a repeated id answers `duplicate` with the first sequence, as inside JetStream's
 * duplicate window), and envelopes built and validated by the same `cloudEvent` factory. No
 * signatures: authorship is the JetStream store's concern and is tested there.
 */
export class InMemoryEventStore implements EventStore {
  private readonly entries: Entry[] = [];
  private readonly byEventId = new Map<string, StoredEvent>();
  private readonly lastBySubject = new Map<string, number>();

  async append(aggregate: string, id: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult[]> {
    const { expectedSequence } = options;
    if (expectedSequence !== 'any' && (!Number.isSafeInteger(expectedSequence) || expectedSequence < 0)) {
      throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `expectedSequence must be a non-negative integer, got ${String(expectedSequence)}`);
    }
    // Every envelope is built before the first is stored: an invalid batch stores nothing.
    const envelopes = events.map((event) => cloudEvent(aggregate, id, event));
    const results: AppendResult[] = [];
    let expected = expectedSequence === 'any' ? undefined : expectedSequence;
    for (const event of envelopes) {
      const earlier = this.byEventId.get(event.id);
      if (earlier) {
        results.push({ sequence: earlier.sequence, duplicate: true, event });
        continue;
      }
      const last = this.last(aggregate, id);
      if (expected !== undefined && last !== expected) {
        throw new ForgeOneError('EVENTSTORE.CONFLICT', `${aggregate} ${id} was changed concurrently (expected sequence ${expected}); reload and retry`, {
          aggregate,
          id,
          expectedSequence: expected,
        });
      }
      const stored = { sequence: this.entries.length + 1, event };
      this.entries.push({ aggregate, id, stored });
      this.byEventId.set(event.id, stored);
      this.lastBySubject.set(subjectKey(aggregate, id), stored.sequence);
      results.push({ sequence: stored.sequence, duplicate: false, event });
      if (expected !== undefined) expected = stored.sequence;
    }
    return results;
  }

  async read(aggregate: string, id: string): Promise<StoredEvent[]> {
    return this.entries.filter((e) => e.aggregate === aggregate && e.id === id).map((e) => e.stored);
  }

  async readVersioned(aggregate: string, id: string): Promise<VersionedEvents> {
    return { events: await this.read(aggregate, id), version: this.last(aggregate, id) };
  }

  async readAggregate(aggregate: string): Promise<StoredEvent[]> {
    return this.entries.filter((e) => e.aggregate === aggregate).map((e) => e.stored);
  }

  async load<S, E extends CloudEvent = CloudEvent>(aggregate: string, id: string, fold: EventFold<S, E>): Promise<LoadedAggregate<S>> {
    const { events, version } = await this.readVersioned(aggregate, id);
    let state = fold.initialState();
    for (const { event } of events) state = fold.evolve(state, event as E);
    return { state, version };
  }

  async lastSequence(aggregate: string, id: string): Promise<number> {
    return this.last(aggregate, id);
  }

  /** Every stored event in stream order, with the aggregate instance it was appended to. */
  all(): ReadonlyArray<{ readonly aggregate: string; readonly id: string } & StoredEvent> {
    return this.entries.map((e) => ({ aggregate: e.aggregate, id: e.id, ...e.stored }));
  }

  private last(aggregate: string, id: string): number {
    return this.lastBySubject.get(subjectKey(aggregate, id)) ?? 0;
  }
}

function subjectKey(aggregate: string, id: string): string {
  return `${aggregate}\u0000${id}`;
}
