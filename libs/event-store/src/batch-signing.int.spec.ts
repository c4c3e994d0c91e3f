import { createPrivateKey, randomUUID } from 'node:crypto';
import { HEADERS, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames, type ServiceName } from '@forgeone/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAuthorship, JetStreamEventStore, decodeStoredEvent, eventWriters, generateEventWriterKey, parseWriterKeys, type NewEvent } from './index.js';
import { DEFAULT_PLATFORM_STORAGE_SETTINGS, platformStorage, provisionPlatformStorage } from './platform-storage.js';

const ns = `t-esb-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
let nc: NatsConnection;
let jsm: JetStreamManager;

const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()])) as Record<string, { privateKey: string; publicKey: string }>;
const pinned = parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey]))));
const authorship = (writer?: ServiceName) =>
  new EventAuthorship({
    names,
    writerKeys: pinned,
    unsignedUntil: 0,
    ...(writer ? { signer: { service: writer, privateKey: createPrivateKey({ key: Buffer.from(keys[writer].privateKey, 'base64'), format: 'der', type: 'pkcs8' }) } } : {}),
  });
const silent = { error: () => undefined } as never;
const storeOf = (writer?: ServiceName) => new JetStreamEventStore(nc, names, { authorship: authorship(writer), logger: silent });
const SETTINGS = { ...DEFAULT_PLATFORM_STORAGE_SETTINGS, eventsMaxBytes: 8 * 1024 * 1024, artifactsMaxBytes: 1024 * 1024, pluginKvMaxBytes: 1024 * 1024, eventsDuplicateWindowMs: 60_000 };

const installed = (plugin: string, version: string): NewEvent => ({
  id: randomUUID(),
  type: PLUGIN_EVENT_TYPES.installed,
  data: { name: plugin, version, digest: `sha256:${'b'.repeat(64)}`, environment: 'staging' },
  time: new Date().toISOString(),
  actor: 'u-7f3a',
  tenant: 'acme',
});

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionPlatformStorage(nc, names, SETTINGS);
});

afterAll(async () => {
  for (const storage of platformStorage(names, SETTINGS)) await jsm?.streams.delete(storage.stream).catch(() => undefined);
  await nc?.close();
});

describe('JetStreamEventStore batch signatures', () => {
  it('append - concurrent appends are signed in batches whose every event a fresh reader verifies', async () => {
    const store = storeOf('registry');
    const ids = Array.from({ length: 24 }, (_, i) => `acme/batch-${i}`);
    const results = (await Promise.all(ids.map((id) => store.append(PLUGIN_AGGREGATE, id, [installed(id, '1.0.0'), installed(id, '1.0.1')], { expectedSequence: 0 })))).flat();
    const stored = await Promise.all(results.map((r) => jsm.streams.getMessage(names.stream, { seq: r.sequence })));
    const proofs = stored.filter((m) => m!.header.has(HEADERS.eventProof));
    // The first append is alone in flight and signs its two events at once; the others share batch signatures.
    expect(proofs).toHaveLength(results.length);
    expect(new Set(proofs.map((m) => m!.header.get(HEADERS.eventSignature))).size).toBeLessThan(proofs.length / 4);
    const reader = storeOf();
    expect((await reader.readAggregate(PLUGIN_AGGREGATE)).map((e) => e.event.id).sort()).toEqual(results.map((r) => r.event.id).sort());
    for (const id of ids.slice(0, 3)) expect((await reader.read(PLUGIN_AGGREGATE, id)).map((e) => e.event.data)).toMatchObject([{ version: '1.0.0' }, { version: '1.0.1' }]);
    for (const m of stored) expect(decodeStoredEvent({ subject: m!.subject, data: m!.data, seq: m!.seq, headers: m!.header }, authorship()).type).toBe(PLUGIN_EVENT_TYPES.installed);
  });

  it('read - a batch-signed event replayed on its subject is returned once, and moved to another subject not at all', async () => {
    const store = storeOf('registry');
    // The first of three is alone in flight and signed alone; the other two share a batch.
    const [a, , b] = await Promise.all(['acme/replay-a', 'acme/replay-c', 'acme/replay-b'].map((id) => store.append(PLUGIN_AGGREGATE, id, [installed(id, '2.0.0')], { expectedSequence: 0 })));
    const genuine = await jsm.streams.getMessage(names.stream, { seq: b[0].sequence });
    expect(genuine!.header.has(HEADERS.eventProof)).toBe(true);
    const copy = natsHeaders();
    for (const name of [HEADERS.eventWriter, HEADERS.eventSignature, HEADERS.eventProof]) copy.set(name, genuine!.header.get(name));
    const js = jetstream(nc);
    const replay = await js.publish(names.eventSubject(PLUGIN_AGGREGATE, 'acme/replay-b'), genuine!.data, { headers: copy });
    const moved = await js.publish(names.eventSubject(PLUGIN_AGGREGATE, 'acme/replay-a'), genuine!.data, { headers: copy });
    const reader = storeOf();
    expect((await reader.read(PLUGIN_AGGREGATE, 'acme/replay-b')).map((e) => e.sequence)).toEqual([b[0].sequence]);
    expect((await reader.read(PLUGIN_AGGREGATE, 'acme/replay-a')).map((e) => e.sequence)).toEqual([a[0].sequence]);
    expect((await reader.readVersioned(PLUGIN_AGGREGATE, 'acme/replay-a')).version).toBe(moved.seq);
    expect(replay.seq).toBeLessThan(moved.seq);
  });
});
