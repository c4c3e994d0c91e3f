import { createPrivateKey, randomUUID } from 'node:crypto';
import { HEADERS, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames } from '@forgeone/contracts';
import { initTelemetry, shutdownTelemetry, trace, withSpan } from '@forgeone/telemetry';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAuthorship, decodeStoredEvent, eventWriters, generateEventWriterKey, parseWriterKeys, type NewEvent } from './index.js';
import { JetStreamEventStore } from './jetstream-event.store.js';
import { DEFAULT_PLATFORM_STORAGE_SETTINGS, platformStorage, provisionPlatformStorage } from './platform-storage.js';

const ns = `t-est-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
const SETTINGS = { ...DEFAULT_PLATFORM_STORAGE_SETTINGS, eventsMaxBytes: 8 * 1024 * 1024, artifactsMaxBytes: 1024 * 1024, pluginKvMaxBytes: 1024 * 1024 };
const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()])) as Record<string, { privateKey: string; publicKey: string }>;
const pinned = parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey]))));
const registryKey = createPrivateKey({ key: Buffer.from(keys.registry.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
let nc: NatsConnection;
let jsm: JetStreamManager;

const installed = (plugin: string, version: string): NewEvent => ({
  id: randomUUID(),
  type: PLUGIN_EVENT_TYPES.installed,
  data: { version, name: plugin, environment: 'staging', digest: `sha256:${'c'.repeat(64)}` },
  time: new Date().toISOString(),
  actor: 'u-7f3a',
  tenant: 'acme',
});

beforeAll(async () => {
  await initTelemetry('event-store-test');
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionPlatformStorage(nc, names, SETTINGS);
});

afterAll(async () => {
  for (const storage of platformStorage(names, SETTINGS)) await jsm?.streams.delete(storage.stream).catch(() => undefined);
  await nc?.close();
  await shutdownTelemetry();
});

describe('JetStreamEventStore append tracing and wire', () => {
  it('append - every event of a call carries the append span in its envelope and its traceparent header, within the caller trace', async () => {
    const store = new JetStreamEventStore(nc, names, { authorship: new EventAuthorship({ names, writerKeys: pinned, unsignedUntil: 0, signer: { service: 'registry', privateKey: registryKey } }) });
    const { caller, results } = await withSpan('caller', {}, async (span) => ({
      caller: span.spanContext(),
      results: await store.append(PLUGIN_AGGREGATE, 'acme/traced', [installed('acme/traced', '1.0.0'), installed('acme/traced', '1.0.1')], { expectedSequence: 0 }),
    }));
    expect(trace.getActiveSpan()).toBeUndefined();
    const stored = await Promise.all(results.map((r) => jsm.streams.getMessage(names.stream, { seq: r.sequence })));
    const traceparents = stored.map((m) => m!.header.get(HEADERS.traceparent));
    expect(new Set(traceparents).size).toBe(1);
    const [version, traceId, spanId] = traceparents[0].split('-');
    expect([version, traceId]).toEqual(['00', caller.traceId]);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(caller.spanId);
    for (const [i, m] of stored.entries()) {
      expect(results[i].event.traceparent).toBe(traceparents[0]);
      // The payload is exactly the UTF-8 JSON of the envelope returned, in the schema's key order.
      expect(Buffer.from(m!.data).equals(Buffer.from(new TextEncoder().encode(JSON.stringify(results[i].event))))).toBe(true);
      expect(Object.keys(JSON.parse(Buffer.from(m!.data).toString()).data)).toEqual(['name', 'version', 'digest', 'environment']);
      expect(m!.header.keys()).toEqual([HEADERS.eventType, HEADERS.traceparent, HEADERS.eventWriter, HEADERS.eventSignature, HEADERS.eventProof, HEADERS.msgId, HEADERS.expectedLastSubjectSequence]);
      expect(decodeStoredEvent({ subject: m!.subject, data: m!.data, seq: m!.seq, headers: m!.header }, new EventAuthorship({ names, writerKeys: pinned, unsignedUntil: 0 }))).toEqual(results[i].event);
    }
    expect(stored.map((m) => m!.header.get(HEADERS.msgId))).toEqual(results.map((r) => r.event.id));
    expect(stored.map((m) => m!.header.get(HEADERS.expectedLastSubjectSequence))).toEqual(['0', String(results[0].sequence)]);
  });

  it('append - an event id that would break the header block is refused, and nothing of the call is written', async () => {
    const store = new JetStreamEventStore(nc, names, { authorship: new EventAuthorship({ names, writerKeys: pinned, unsignedUntil: 0, signer: { service: 'registry', privateKey: registryKey } }) });
    const evil = { ...installed('acme/evil', '1.0.1'), id: `${randomUUID()}\r\n${HEADERS.expectedLastSubjectSequence}: 0` };
    await expect(store.append(PLUGIN_AGGREGATE, 'acme/evil', [installed('acme/evil', '1.0.0'), evil], { expectedSequence: 0 })).rejects.toThrow(expect.objectContaining({ code: 'EVENTSTORE.EVENT_INVALID', message: expect.stringMatching(/cannot be a message id: it holds a carriage return or line feed/) }));
    expect(await store.lastSequence(PLUGIN_AGGREGATE, 'acme/evil')).toBe(0);
  });
});
