import { INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES, KEY_AGGREGATE, KEY_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { InMemoryEventStore } from './in-memory-event.store.js';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';
const keyIdOf = (name: string) => (name === 'k1' ? 'a' : 'b').repeat(64);
const trusted = (keyId: string, id = `e-${keyId}`) => ({
  id,
  type: KEY_EVENT_TYPES.trusted,
  data: { keyId: keyIdOf(keyId), publicKeyPem: PEM, publisher: 'acme', scope: 'acme/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'alice' },
  time: '2026-12-01T10:00:00.000Z',
  actor: 'alice',
  tenant: 'acme',
});

describe('in-memory event store - as JetStream answers', () => {
  it('checks the expected sequence per aggregate instance, one sequence over all of them', async () => {
    const store = new InMemoryEventStore();
    const [a] = await store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1')], { expectedSequence: 0 });
    const [b] = await store.append(KEY_AGGREGATE, 'acme:k2', [trusted('k2')], { expectedSequence: 0 });
    expect([a.sequence, b.sequence]).toEqual([1, 2]);
    await expect(store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1', 'again')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.CONFLICT',
      details: { aggregate: KEY_AGGREGATE, id: 'acme:k1', expectedSequence: 0 },
    });
    expect(await store.readVersioned(KEY_AGGREGATE, 'acme:k1')).toMatchObject({ version: 1, events: [{ sequence: 1 }] });
    expect(await store.lastSequence(KEY_AGGREGATE, 'acme:k2')).toBe(2);
    expect((await store.readAggregate(KEY_AGGREGATE)).map((s) => s.sequence)).toEqual([1, 2]);
  });

  it('stores an event id once: a repeated append answers duplicate with the first sequence', async () => {
    const store = new InMemoryEventStore();
    await store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1')], { expectedSequence: 0 });
    const [again] = await store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1')], { expectedSequence: 0 });
    expect(again).toMatchObject({ sequence: 1, duplicate: true });
    expect(store.all()).toHaveLength(1);
  });

  it('wraps events with the envelope factory: source from the owner, subject defaulting to the id', async () => {
    const store = new InMemoryEventStore();
    const [stored] = await store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1')], { expectedSequence: 'any' });
    expect(stored.event).toMatchObject({ specversion: '1.0', source: '/forgeone/signer', subject: 'acme:k1', datacontenttype: 'application/json', schemaversion: '1' });
  });

  it('refuses an invalid batch whole: nothing of it is stored', async () => {
    const store = new InMemoryEventStore();
    const bad = { ...trusted('k2'), data: { keyId: 'k2' } };
    await expect(store.append(KEY_AGGREGATE, 'acme:k1', [trusted('k1'), bad], { expectedSequence: 0 })).rejects.toMatchObject({ code: 'EVENTSTORE.EVENT_INVALID' });
    const foreign = { ...trusted('k1'), type: INVOCATION_EVENT_TYPES.invocationFailed };
    await expect(store.append(KEY_AGGREGATE, 'acme:k1', [foreign], { expectedSequence: 0 })).rejects.toThrow(/belongs to aggregate invocation, not key/);
    await expect(store.append(INVOCATION_AGGREGATE, 'acme', [], { expectedSequence: -1 })).rejects.toMatchObject({ code: 'EVENTSTORE.EVENT_INVALID' });
    expect(store.all()).toEqual([]);
  });
});
