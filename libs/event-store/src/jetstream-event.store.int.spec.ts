import { randomUUID } from 'node:crypto';
import { ForgeOneError, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames, type CloudEvent } from '@forgeone/contracts';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamEventStore, type NewEvent } from './jetstream-event.store.js';
import { DEFAULT_PLATFORM_STORAGE_SETTINGS, platformStorage, provisionPlatformStorage } from './platform-storage.js';

const ns = `t-es-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
let nc: NatsConnection;
let jsm: JetStreamManager;
let store: JetStreamEventStore;

const digest = `sha256:${'a'.repeat(64)}`;
// Small limits: JetStream reserves each stream's max_bytes on the shared server.
const SETTINGS = { ...DEFAULT_PLATFORM_STORAGE_SETTINGS, eventsMaxBytes: 16 * 1024 * 1024, artifactsMaxBytes: 1024 * 1024, pluginKvMaxBytes: 1024 * 1024, eventsDuplicateWindowMs: 60_000 };

function installed(plugin: string, version: string, id = randomUUID()): NewEvent {
  return {
    id,
    type: PLUGIN_EVENT_TYPES.installed,
    data: { name: plugin, version, digest, environment: 'staging' },
    time: new Date().toISOString(),
    actor: 'u-7f3a',
    tenant: 'acme',
    source: 'forgeone/registry',
  };
}

async function messageCount(): Promise<number> {
  return (await jsm.streams.info(names.stream)).state.messages;
}

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionPlatformStorage(nc, names, SETTINGS);
  store = new JetStreamEventStore(nc, names);
});

afterAll(async () => {
  for (const storage of platformStorage(names, SETTINGS)) await jsm?.streams.delete(storage.stream).catch(() => undefined);
  await nc?.close();
});

describe('JetStreamEventStore', () => {
  it('append - envelope is a CloudEvent with the ForgeOne extensions and headers', async () => {
    const event = installed('acme/envelope', '1.0.0');
    const [result] = await store.append(PLUGIN_AGGREGATE, 'acme/envelope', [event], { expectedSequence: 0 });
    expect(result.duplicate).toBe(false);
    expect(result.event).toMatchObject({
      specversion: '1.0',
      id: event.id,
      type: PLUGIN_EVENT_TYPES.installed,
      subject: 'acme/envelope',
      datacontenttype: 'application/json',
      schemaversion: '1',
      actor: 'u-7f3a',
      tenant: 'acme',
    });
    const stored = await jsm.streams.getMessage(names.stream, { seq: result.sequence });
    expect(stored?.subject).toBe(names.eventSubject(PLUGIN_AGGREGATE, 'acme/envelope'));
    expect(stored?.header.get('Nats-Msg-Id')).toBe(event.id);
    expect(stored?.header.get('Ce-Type')).toBe(PLUGIN_EVENT_TYPES.installed);
  });

  it('append - two concurrent appends with the same expected sequence: exactly one wins', async () => {
    const id = 'acme/race';
    const [first] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const attempts = await Promise.allSettled([
      store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.1.0')], { expectedSequence: first.sequence }),
      store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.2.0')], { expectedSequence: first.sequence }),
    ]);
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const error = lost[0].reason as ForgeOneError;
    expect(error).toBeInstanceOf(ForgeOneError);
    expect(error.code).toBe('EVENTSTORE.CONFLICT');
    expect(error.message).toContain(`expected sequence ${first.sequence}`);
    expect(error.details).toMatchObject({ expectedSequence: first.sequence });
    expect(await store.read(PLUGIN_AGGREGATE, id)).toHaveLength(2);
  });

  it('append - expectedSequence 0 on an aggregate that has events is a conflict', async () => {
    const id = 'acme/not-new';
    await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    await expect(store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.1')], { expectedSequence: 0 })).rejects.toMatchObject({ code: 'EVENTSTORE.CONFLICT' });
  });

  it("append - expectedSequence 'any' appends records without the check, concurrently, and still dedupes by id", async () => {
    const id = 'acme/records';
    await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const racing = await Promise.all(['1.0.1', '1.0.2', '1.0.3'].map((v) => store.append(PLUGIN_AGGREGATE, id, [installed(id, v)], { expectedSequence: 'any' })));
    expect(racing.flat().every((r) => !r.duplicate)).toBe(true);
    const again = installed(id, '1.0.4');
    await store.append(PLUGIN_AGGREGATE, id, [again], { expectedSequence: 'any' });
    expect((await store.append(PLUGIN_AGGREGATE, id, [again], { expectedSequence: 'any' }))[0].duplicate).toBe(true);
    expect(await store.read(PLUGIN_AGGREGATE, id)).toHaveLength(5);
  });

  it('append - a retried append with the same event id stores one event', async () => {
    const id = 'acme/retry';
    const events = [installed(id, '1.0.0'), installed(id, '1.0.1')];
    const before = await messageCount();
    const first = await store.append(PLUGIN_AGGREGATE, id, events, { expectedSequence: 0 });
    const retry = await store.append(PLUGIN_AGGREGATE, id, events, { expectedSequence: 0 });
    expect(first.map((r) => r.duplicate)).toEqual([false, false]);
    expect(retry.map((r) => r.duplicate)).toEqual([true, true]);
    expect(retry.map((r) => r.sequence)).toEqual(first.map((r) => r.sequence));
    expect(await messageCount()).toBe(before + 2);
  });

  it('append - unknown event type is refused before anything is written', async () => {
    const before = await messageCount();
    const good = installed('acme/unknown', '1.0.0');
    const bad = { ...installed('acme/unknown', '1.0.0'), type: 'io.forgeone.plugin.teleported.v1' };
    await expect(store.append(PLUGIN_AGGREGATE, 'acme/unknown', [good, bad], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.EVENT_INVALID',
      message: expect.stringContaining('io.forgeone.plugin.teleported.v1'),
    });
    expect(await messageCount()).toBe(before);
  });

  it('append - invalid event data is refused naming the field', async () => {
    const bad = { ...installed('acme/bad-data', '1.0.0'), data: { name: 'acme/bad-data', version: 'one', digest, environment: 'staging' } };
    await expect(store.append(PLUGIN_AGGREGATE, 'acme/bad-data', [bad], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.EVENT_INVALID',
      message: expect.stringContaining('version'),
    });
  });

  it('read - events of one aggregate in order, none of the others', async () => {
    const id = 'acme/ordered';
    let expected = 0;
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
      const [r] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, version)], { expectedSequence: expected });
      expected = r.sequence;
      const noise = `acme/noise-${version.replace(/\./g, '-')}`;
      await store.append(PLUGIN_AGGREGATE, noise, [installed(noise, version)], { expectedSequence: 0 });
    }
    const events = await store.read(PLUGIN_AGGREGATE, id);
    expect(events.map((e) => (e.event.data as { version: string }).version)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    const sequences = events.map((e) => e.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(events.every((e) => e.event.subject === id)).toBe(true);
    // Each read uses a short-lived consumer; none may be left behind.
    const deadline = Date.now() + 3_000;
    let left = (await jsm.consumers.list(names.stream).next()).length;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      left = (await jsm.consumers.list(names.stream).next()).length;
    }
    expect(left).toBe(0);
  });

  it('read - a long history comes back complete', async () => {
    const id = 'acme/long-history';
    const events = Array.from({ length: 600 }, (_, i) => installed(id, `1.0.${i}`));
    await store.append(PLUGIN_AGGREGATE, id, events, { expectedSequence: 0 });
    const read = await store.read(PLUGIN_AGGREGATE, id);
    expect(read.map((e) => e.event.id)).toEqual(events.map((e) => e.id));
  });

  it('readAggregate - every instance of one aggregate type in stream order, none of other types', async () => {
    const appended: string[] = [];
    for (const id of ['acme/a', 'acme/b', 'acme/a']) {
      const event = installed(id, '1.0.0');
      const current = await store.read('gadget', id);
      await store.append('gadget', id, [event], { expectedSequence: current.at(-1)?.sequence ?? 0 });
      await store.append('widget', id, [installed(id, '9.0.0')], { expectedSequence: (await store.read('widget', id)).at(-1)?.sequence ?? 0 });
      appended.push(event.id);
    }
    const read = await store.readAggregate('gadget');
    expect(read.map((e) => e.event.id)).toEqual(appended);
    const started = Date.now();
    expect(await store.readAggregate('never-written')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('read - an aggregate with no events returns at once', async () => {
    const started = Date.now();
    expect(await store.read(PLUGIN_AGGREGATE, 'acme/never-written')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('load - folds state and reports the version to expect next', async () => {
    const id = 'acme/folded';
    const [a] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const [b] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '2.0.0')], { expectedSequence: a.sequence });
    const fold = {
      initialState: (): string[] => [],
      evolve: (state: string[], event: CloudEvent) => [...state, (event.data as { version: string }).version],
    };
    const loaded = await store.load(PLUGIN_AGGREGATE, id, fold);
    expect(loaded).toEqual({ state: ['1.0.0', '2.0.0'], version: b.sequence });
    const empty = await store.load(PLUGIN_AGGREGATE, 'acme/empty', fold);
    expect(empty).toEqual({ state: [], version: 0 });
    await store.append(PLUGIN_AGGREGATE, id, [installed(id, '3.0.0')], { expectedSequence: loaded.version });
  });

  it('append - a missing stream is EVENTSTORE.UNAVAILABLE', async () => {
    const orphan = new JetStreamEventStore(nc, makeNames(`${ns}-nostream`), { timeoutMs: 1_000 });
    await expect(orphan.append(PLUGIN_AGGREGATE, 'acme/x', [installed('acme/x', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.UNAVAILABLE',
    });
    await expect(orphan.read(PLUGIN_AGGREGATE, 'acme/x')).rejects.toMatchObject({ code: 'EVENTSTORE.UNAVAILABLE' });
  });
});
