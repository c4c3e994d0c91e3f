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

  it('records queued behind an append in flight go out together in one append', async () => {
    const store = new InMemoryEventStore();
    let appends = 0;
    const counting = Object.assign(Object.create(store) as InMemoryEventStore, {
      append: (...args: Parameters<InMemoryEventStore['append']>) => {
        appends++;
        return store.append(...args);
      },
    });
    const writer = new SequencedLogWriter(counting, INVOCATION_AGGREGATE);
    await Promise.all(Array.from({ length: 30 }, () => writer.append('acme', [failed('acme')])));
    expect((await store.read(INVOCATION_AGGREGATE, 'acme')).length).toBe(30);
    // The first goes alone; the 29 queued behind it share one append.
    expect(appends).toBe(2);
  });

  it('a batch with one bad record: the others are stored and only its caller is refused', async () => {
    const store = new InMemoryEventStore();
    const writer = new SequencedLogWriter(store, INVOCATION_AGGREGATE);
    const bad = { ...failed('acme'), type: 'io.forgeone.plugin.no_such_event.v1' };
    const results = await Promise.allSettled([writer.append('acme', [failed('acme')]), writer.append('acme', [failed('acme')]), writer.append('acme', [bad]), writer.append('acme', [failed('acme')])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((await store.read(INVOCATION_AGGREGATE, 'acme')).length).toBe(3);
  });
});
