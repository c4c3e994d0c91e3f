import { INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { InMemoryEventStore } from './in-memory-event.store.js';
import { SequencedLogWriter } from './sequenced-log.writer.js';

let n = 0;
const failed = (tenant: string) => ({
  id: `inv-${++n}`,
  type: INVOCATION_EVENT_TYPES.invocationFailed,
  data: { plugin: 'acme/x', handler: 'greet', environment: 'staging', tenant, principal: 'alice', code: 'SANDBOX.TRAP', message: 'trapped' },
  time: '2026-12-01T10:00:00.000Z',
  actor: 'alice',
  tenant,
});

describe('sequenced log writer', () => {
  it('queues appends per key, so concurrent records of one tenant never conflict with each other', async () => {
    const store = new InMemoryEventStore();
    const writer = new SequencedLogWriter(store, INVOCATION_AGGREGATE);
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append(i % 2 ? 'acme' : 'globex', [failed(i % 2 ? 'acme' : 'globex')])));
    expect((await store.read(INVOCATION_AGGREGATE, 'acme')).length).toBe(10);
    expect((await store.read(INVOCATION_AGGREGATE, 'globex')).length).toBe(10);
  });

  it('another writer on the same log: the conflict re-reads the last sequence and the record is stored once', async () => {
    const store = new InMemoryEventStore();
    const mine = new SequencedLogWriter(store, INVOCATION_AGGREGATE);
    const theirs = new SequencedLogWriter(store, INVOCATION_AGGREGATE);
    await mine.append('acme', [failed('acme')]);
    await theirs.append('acme', [failed('acme')]);
    // `mine` still expects the sequence of its own last record.
    await mine.append('acme', [failed('acme')]);
    expect((await store.read(INVOCATION_AGGREGATE, 'acme')).map((s) => s.sequence)).toEqual([1, 2, 3]);
  });
});
