// Over 400 lines: the store and its authorship checks share one real NATS setup and its helpers.
import { createPrivateKey, randomUUID } from 'node:crypto';
import {
  ForgeOneError,
  aggregateOfEventType,
  cloudEvent,
  HEADERS,
  KEY_AGGREGATE,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  SIGNATURE_AGGREGATE,
  SIGNATURE_EVENT_TYPES,
  names as makeNames,
  type CloudEvent,
  type ServiceName,
} from '@forgeone/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAuthorship, ForgedEventError, decodeStoredEvent, eventWriters, generateEventWriterKey, parseWriterKeys } from './index.js';
import { JetStreamEventStore, type NewEvent } from './jetstream-event.store.js';
import { DEFAULT_PLATFORM_STORAGE_SETTINGS, platformStorage, provisionPlatformStorage } from './platform-storage.js';

const ns = `t-es-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
let nc: NatsConnection;
let jsm: JetStreamManager;
let store: JetStreamEventStore;

// Keys of this run (the test harness has a helper for this; it depends on this lib, so not here).
const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()])) as Record<string, { privateKey: string; publicKey: string }>;
const pinned = parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey]))));
const privateKey = (writer: string) => createPrivateKey({ key: Buffer.from(keys[writer].privateKey, 'base64'), format: 'der', type: 'pkcs8' });
const authorship = (writer?: ServiceName, unsignedUntil = 0) =>
  new EventAuthorship({ names, writerKeys: pinned, unsignedUntil, ...(writer ? { signer: { service: writer, privateKey: privateKey(writer) } } : {}) });
const storeOf = (writer?: ServiceName, unsignedUntil = 0) => new JetStreamEventStore(nc, names, { authorship: authorship(writer, unsignedUntil), logger: silent });
const silent = { error: () => undefined } as never;

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
  };
}

function signatureResult(name: string, id = randomUUID()): NewEvent {
  return {
    id,
    type: SIGNATURE_EVENT_TYPES.verified,
    data: {
      name,
      version: '1.0.0',
      environment: null,
      stage: 'publish',
      mode: 'audit',
      keyIds: [],
      envelopeDigest: null,
      pluginDigest: digest,
      manifestDigest: digest,
      reason: null,
      flagged: false,
      message: 'verified',
    },
    time: new Date().toISOString(),
    actor: 'u-7f3a',
    tenant: 'acme',
    subject: name,
  };
}

async function messageCount(): Promise<number> {
  return (await jsm.streams.info(names.stream)).state.messages;
}

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionPlatformStorage(nc, names, SETTINGS);
  store = storeOf('registry');
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

  it('append - a batch cut by another writer after its first event completes when retried on the new last sequence', async () => {
    const id = 'acme/cut-batch';
    const [a, b, other] = [installed(id, '1.0.0'), installed(id, '1.0.1'), installed(id, '2.0.0')];
    // The first event of the batch went in, then another writer appended before the second.
    const [first] = await store.append(PLUGIN_AGGREGATE, id, [a], { expectedSequence: 0 });
    const [between] = await store.append(PLUGIN_AGGREGATE, id, [other], { expectedSequence: first.sequence });
    const retry = await store.append(PLUGIN_AGGREGATE, id, [a, b], { expectedSequence: between.sequence });
    expect(retry.map((r) => r.duplicate)).toEqual([true, false]);
    expect(retry[1].sequence).toBeGreaterThan(between.sequence);
    expect((await store.read(PLUGIN_AGGREGATE, id)).map((e) => e.event.id)).toEqual([a.id, other.id, b.id]);
    // The check still holds for the part that is new.
    await expect(store.append(PLUGIN_AGGREGATE, id, [a, installed(id, '1.0.2')], { expectedSequence: between.sequence })).rejects.toMatchObject({ code: 'EVENTSTORE.CONFLICT' });
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
      const event = signatureResult(id);
      const current = await store.read(SIGNATURE_AGGREGATE, `ra:${id}`);
      await store.append(SIGNATURE_AGGREGATE, `ra:${id}`, [event], { expectedSequence: current.at(-1)?.sequence ?? 0 });
      await store.append(PLUGIN_AGGREGATE, `ra:${id}`, [installed(id, '9.0.0')], { expectedSequence: (await store.read(PLUGIN_AGGREGATE, `ra:${id}`)).at(-1)?.sequence ?? 0 });
      appended.push(event.id);
    }
    const read = (await store.readAggregate(SIGNATURE_AGGREGATE)).filter((e) => e.event.subject.startsWith('acme/'));
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

  it('append - leaves the stack trace limit as it was, and a failed append still reports where it failed', async () => {
    const limit = Error.stackTraceLimit;
    const id = 'acme/stack';
    await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    expect(Error.stackTraceLimit).toBe(limit);
    const conflict = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.1')], { expectedSequence: 0 }).catch((error: unknown) => error);
    expect(conflict).toMatchObject({ code: 'EVENTSTORE.CONFLICT' });
    expect((conflict as Error).stack).toMatch(/\n\s+at .*appendError/);
    const orphan = new JetStreamEventStore(nc, makeNames(`${ns}-nostack`), { timeoutMs: 1_000, authorship: authorship('registry') });
    const unreachable = await orphan.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 }).catch((error: unknown) => error);
    expect(unreachable).toMatchObject({ code: 'EVENTSTORE.UNAVAILABLE' });
    expect((unreachable as Error).stack).toMatch(/\n\s+at .*appendError/);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('append - a missing stream is EVENTSTORE.UNAVAILABLE', async () => {
    const orphan = new JetStreamEventStore(nc, makeNames(`${ns}-nostream`), { timeoutMs: 1_000, authorship: authorship('registry') });
    await expect(orphan.append(PLUGIN_AGGREGATE, 'acme/x', [installed('acme/x', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.UNAVAILABLE',
    });
    await expect(orphan.read(PLUGIN_AGGREGATE, 'acme/x')).rejects.toMatchObject({ code: 'EVENTSTORE.UNAVAILABLE' });
  });
});

describe('JetStreamEventStore - authorship', () => {
  const js = () => jetstream(nc);
  const subjectOf = (id: string) => names.eventSubject(PLUGIN_AGGREGATE, id);
  // The envelope the store would write for `event`, for publishing it straight onto NATS.
  const envelope = (event: NewEvent, subject = (event.data as { name: string }).name) => cloudEvent(aggregateOfEventType(event.type)!, subject, { ...event, subject });
  // Publishes straight onto NATS, as any process allowed to publish could.
  const publishRaw = async (subject: string, body: unknown, headers: Record<string, string> = {}) => {
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(headers)) hdrs.set(key, value);
    return js().publish(subject, typeof body === 'string' ? body : JSON.stringify(body), { headers: hdrs });
  };
  const storedHeaders = async (sequence: number) => {
    const stored = await jsm.streams.getMessage(names.stream, { seq: sequence });
    return { writer: stored!.header.get(HEADERS.eventWriter), signature: stored!.header.get(HEADERS.eventSignature), data: stored!.data };
  };

  it('append - every message carries its writer and an Ed25519 signature over subject and payload', async () => {
    const id = 'acme/signed';
    const [result] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const { writer, signature } = await storedHeaders(result.sequence);
    expect(writer).toBe('registry');
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect((await storeOf().read(PLUGIN_AGGREGATE, id)).map((e) => e.event.id)).toEqual([result.event.id]);
  });

  it('append - a writer cannot append to an aggregate it does not own, nor a type of another aggregate, and a reader cannot append at all', async () => {
    const before = await messageCount();
    await expect(store.append(KEY_AGGREGATE, 'acme:k1', [installed('acme/k', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.EVENT_INVALID',
      message: expect.stringContaining('belongs to aggregate plugin, not key'),
    });
    await expect(store.append(SIGNATURE_AGGREGATE, 'acme:x', [installed('acme/x', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({ code: 'EVENTSTORE.EVENT_INVALID' });
    await expect(storeOf('signer').append(PLUGIN_AGGREGATE, 'acme/x', [installed('acme/x', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.EVENT_INVALID',
      message: expect.stringContaining('written by registry alone'),
    });
    await expect(storeOf().append(PLUGIN_AGGREGATE, 'acme/x', [installed('acme/x', '1.0.0')], { expectedSequence: 0 })).rejects.toMatchObject({
      code: 'EVENTSTORE.EVENT_INVALID',
      message: expect.stringContaining('FORGEONE_EVENT_SIGNING_KEY'),
    });
    expect(await messageCount()).toBe(before);
  });

  it('read - unsigned, unknown-writer, wrong-writer, tampered and misplaced messages are left out; load expects the subject\'s true last sequence', async () => {
    const id = 'acme/forged';
    const [genuine] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const original = await storedHeaders(genuine.sequence);
    // 1. unsigned, after the cut-over (0)
    await publishRaw(subjectOf(id), envelope(installed(id, '6.6.6')));
    // 2. a writer nobody pinned
    await publishRaw(subjectOf(id), envelope(installed(id, '6.6.7')), { [HEADERS.eventWriter]: 'evil', [HEADERS.eventSignature]: original.signature });
    // 3. a genuine signer's key, but the signer does not own plugin events
    const signerStore = storeOf('signer');
    const hdrs = natsHeaders();
    const payload = new TextEncoder().encode(JSON.stringify(envelope(installed(id, '6.6.8'))));
    authorship('signer').signInto(hdrs, KEY_AGGREGATE, names.eventSubject(KEY_AGGREGATE, 'acme:k'), payload);
    await js().publish(subjectOf(id), payload, { headers: hdrs });
    // 4. the registry's headers over other bytes
    await publishRaw(subjectOf(id), envelope(installed(id, '6.6.9')), { [HEADERS.eventWriter]: original.writer, [HEADERS.eventSignature]: original.signature });
    // 5. a correct registry signature over a type that lives on another aggregate
    const misplaced = new TextEncoder().encode(JSON.stringify(envelope(signatureResult(id))));
    const misplacedHeaders = natsHeaders();
    authorship('registry').signInto(misplacedHeaders, PLUGIN_AGGREGATE, subjectOf(id), misplaced);
    const last = await js().publish(subjectOf(id), misplaced, { headers: misplacedHeaders });

    const refusals: Array<{ reason: string; writer: string | null }> = [];
    const logger = { error: (fields: { refusal: { reason: string; writer: string | null } }) => refusals.push(fields.refusal) } as never;
    const read = await new JetStreamEventStore(nc, names, { authorship: authorship(), logger }).read(PLUGIN_AGGREGATE, id);
    expect(read.map((e) => e.sequence)).toEqual([genuine.sequence]);
    expect(refusals).toEqual([
      expect.objectContaining({ reason: 'unsigned', writer: null }),
      expect.objectContaining({ reason: 'unknown-writer', writer: 'evil' }),
      expect.objectContaining({ reason: 'wrong-writer', writer: 'signer' }),
      expect.objectContaining({ reason: 'bad-signature', writer: 'registry' }),
      expect.objectContaining({ reason: 'wrong-aggregate', writer: 'registry' }),
    ]);
    expect(await signerStore.read(PLUGIN_AGGREGATE, id)).toHaveLength(1);
    const fold = { initialState: () => 0, evolve: (n: number) => n + 1 };
    const loaded = await store.load(PLUGIN_AGGREGATE, id, fold);
    expect(loaded).toEqual({ state: 1, version: last.seq });
    const [next] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.1.0')], { expectedSequence: loaded.version });
    expect((await store.read(PLUGIN_AGGREGATE, id)).map((e) => e.sequence)).toEqual([genuine.sequence, next.sequence]);
  });

  it('decodeStoredEvent - verifies before it parses and names the reason of a refusal', async () => {
    const id = 'acme/decode';
    const [genuine] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const { writer, signature } = await storedHeaders(genuine.sequence);
    // Not even JSON: refused for its signature, never parsed.
    const forged = await publishRaw(subjectOf(id), '{not json', { [HEADERS.eventWriter]: writer, [HEADERS.eventSignature]: signature });
    const reader = authorship();
    const message = async (seq: number) => {
      const stored = (await jsm.streams.getMessage(names.stream, { seq }))!;
      return { subject: stored.subject, data: stored.data, seq: stored.seq, headers: stored.header };
    };
    expect(decodeStoredEvent(await message(genuine.sequence), reader).id).toBe(genuine.event.id);
    let refused: unknown;
    try {
      decodeStoredEvent(await message(forged.seq), reader);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ForgedEventError);
    expect(refused).toMatchObject({ code: 'EVENTSTORE.FORGED', refusal: { reason: 'bad-signature', writer: 'registry', sequence: forged.seq } });
  });

  it('read - a replayed genuine message (same bytes and headers, no message id) is returned once', async () => {
    const id = 'acme/replayed';
    const [genuine] = await store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0')], { expectedSequence: 0 });
    const { writer, signature, data } = await storedHeaders(genuine.sequence);
    const hdrs = natsHeaders();
    hdrs.set(HEADERS.eventWriter, writer);
    hdrs.set(HEADERS.eventSignature, signature);
    const replay = await js().publish(subjectOf(id), data, { headers: hdrs });
    expect(replay.seq).toBeGreaterThan(genuine.sequence);
    expect((await storeOf().read(PLUGIN_AGGREGATE, id)).map((e) => e.sequence)).toEqual([genuine.sequence]);
    expect((await storeOf().readAggregate(PLUGIN_AGGREGATE)).filter((e) => e.event.id === genuine.event.id).map((e) => e.sequence)).toEqual([genuine.sequence]);
    expect((await store.readVersioned(PLUGIN_AGGREGATE, id)).version).toBe(replay.seq);
  });

  it('read - unsigned messages at or below the cut-over are accepted, those after it refused', async () => {
    const id = 'acme/cut-over';
    const old = await publishRaw(subjectOf(id), envelope(installed(id, '0.9.0')));
    const after = await publishRaw(subjectOf(id), envelope(installed(id, '0.9.1')));
    const read = (unsignedUntil: number) => storeOf(undefined, unsignedUntil).read(PLUGIN_AGGREGATE, id).then((events) => events.map((e) => e.sequence));
    expect(await read(old.seq)).toEqual([old.seq]);
    expect(await read(old.seq - 1)).toEqual([]);
    expect(await read(after.seq)).toEqual([old.seq, after.seq]);
    // A signed event is verified whatever the cut-over: a bad signature below it is still refused.
    const { writer } = await storedHeaders((await store.append(PLUGIN_AGGREGATE, 'acme/cut-over-signed', [installed('acme/cut-over-signed', '1.0.0')], { expectedSequence: 0 }))[0].sequence);
    const bad = await publishRaw(subjectOf(id), envelope(installed(id, '0.9.2')), { [HEADERS.eventWriter]: writer, [HEADERS.eventSignature]: Buffer.alloc(64).toString('base64') });
    expect(await read(bad.seq)).toEqual([old.seq, after.seq]);
  });
});
