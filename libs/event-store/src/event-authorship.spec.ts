import { generateKeyPairSync } from 'node:crypto';
import { HEADERS, names as makeNames, type ServiceName } from '@forgeone/contracts';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { ReplayGuard, eventAuthorshipFromEnv, eventWriters, generateEventWriterKey, parseWriterKeys } from './index.js';

const names = makeNames('unit');
const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()])) as Record<string, { privateKey: string; publicKey: string }>;
const writerKeys = JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey])));
const envFor = (service: ServiceName, extra: Record<string, string | undefined> = {}) => ({
  FORGEONE_EVENT_WRITER_KEYS: writerKeys,
  ...(keys[service] ? { FORGEONE_EVENT_SIGNING_KEY: keys[service].privateKey } : {}),
  ...extra,
});
const encode = (text: string) => new TextEncoder().encode(text);

describe('eventAuthorshipFromEnv', () => {
  it('authorship - the writers are exactly the owners of the event table', () => {
    expect([...eventWriters()].sort()).toEqual(['audit-projector', 'policy', 'registry', 'sandbox-runner', 'signer']);
  });

  it('authorship - a writer gets its key, a reader none, and the cut-over defaults to 0', () => {
    const registry = eventAuthorshipFromEnv(envFor('registry'), 'registry', names);
    expect(registry.writer).toBe('registry');
    expect(registry.unsignedUntil).toBe(0);
    const gateway = eventAuthorshipFromEnv(envFor('gateway', { FORGEONE_EVENT_UNSIGNED_UNTIL: '42' }), 'gateway', names);
    expect(gateway.writer).toBeUndefined();
    expect(gateway.unsignedUntil).toBe(42);
  });

  it('authorship - refuses to start without the pinned keys, naming the variable and the missing writer', () => {
    expect(() => eventAuthorshipFromEnv({}, 'audit-projector', names)).toThrow(/FORGEONE_EVENT_WRITER_KEYS is not set/);
    expect(() => eventAuthorshipFromEnv({ FORGEONE_EVENT_WRITER_KEYS: '{' }, 'gateway', names)).toThrow(/FORGEONE_EVENT_WRITER_KEYS is not valid JSON/);
    const { policy: _policy, ...withoutPolicy } = JSON.parse(writerKeys) as Record<string, string>;
    expect(() => eventAuthorshipFromEnv({ FORGEONE_EVENT_WRITER_KEYS: JSON.stringify(withoutPolicy) }, 'gateway', names)).toThrow(/has no key for policy/);
    expect(() => parseWriterKeys(JSON.stringify({ ...JSON.parse(writerKeys), gateway: keys.registry.publicKey }))).toThrow(/FORGEONE_EVENT_WRITER_KEYS.gateway: not a service that writes events/);
    expect(() => parseWriterKeys(JSON.stringify({ ...JSON.parse(writerKeys), signer: 'not base64!' }))).toThrow(/FORGEONE_EVENT_WRITER_KEYS.signer: must be base64 DER/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(() => parseWriterKeys(JSON.stringify({ ...JSON.parse(writerKeys), signer: rsa }))).toThrow(/FORGEONE_EVENT_WRITER_KEYS.signer: must be an Ed25519 key, got rsa/);
  });

  it('authorship - a writer without its key, with another writer\'s key, or a reader with one refuses to start', () => {
    expect(() => eventAuthorshipFromEnv(envFor('policy', { FORGEONE_EVENT_SIGNING_KEY: undefined }), 'policy', names)).toThrow(/FORGEONE_EVENT_SIGNING_KEY is not set: policy writes events/);
    expect(() => eventAuthorshipFromEnv(envFor('policy', { FORGEONE_EVENT_SIGNING_KEY: keys.registry.privateKey }), 'policy', names)).toThrow(
      /FORGEONE_EVENT_SIGNING_KEY \/ FORGEONE_EVENT_WRITER_KEYS: the signing key of policy does not match the public key pinned for it/,
    );
    expect(() => eventAuthorshipFromEnv(envFor('gateway', { FORGEONE_EVENT_SIGNING_KEY: keys.registry.privateKey }), 'gateway', names)).toThrow(/gateway writes no events/);
    expect(() => eventAuthorshipFromEnv(envFor('signer', { FORGEONE_EVENT_SIGNING_KEY: 'MC4CAQAwBQYDK2VwBCIEI' }), 'signer', names)).toThrow(/FORGEONE_EVENT_SIGNING_KEY: not a PKCS#8 DER key/);
    expect(() => eventAuthorshipFromEnv(envFor('signer', { FORGEONE_EVENT_UNSIGNED_UNTIL: '-1' }), 'signer', names)).toThrow(/FORGEONE_EVENT_UNSIGNED_UNTIL must be a stream sequence/);
  });
});

describe('EventAuthorship', () => {
  const registry = eventAuthorshipFromEnv(envFor('registry'), 'registry', names);
  const reader = eventAuthorshipFromEnv(envFor('gateway', { FORGEONE_EVENT_UNSIGNED_UNTIL: '10' }), 'gateway', names);
  const subject = names.eventSubject('plugin', 'acme:acme/hello');
  const signed = (payload: Uint8Array, onSubject = subject) => {
    const headers = natsHeaders();
    registry.signInto(headers, 'plugin', onSubject, payload);
    return headers;
  };

  it('check - a signature binds the exact subject and payload bytes', () => {
    const payload = encode('{"a":1}');
    const headers = signed(payload);
    expect(reader.check({ subject, data: payload, seq: 11, headers })).toBeUndefined();
    expect(reader.check({ subject, data: encode('{"a":2}'), seq: 11, headers })).toMatchObject({ reason: 'bad-signature' });
    expect(reader.check({ subject: names.eventSubject('plugin', 'acme:acme/other'), data: payload, seq: 11, headers })).toMatchObject({ reason: 'bad-signature' });
    // Same bytes on a namespace-less subject: another platform's history is not this one's.
    expect(eventAuthorshipFromEnv(envFor('gateway'), 'gateway', makeNames()).check({ subject: makeNames().eventSubject('plugin', 'acme:acme/hello'), data: payload, seq: 11, headers })).toMatchObject({
      reason: 'bad-signature',
    });
  });

  it('check - headers that are half there, not base64 or name another aggregate\'s writer are refused', () => {
    const payload = encode('{}');
    const only = natsHeaders();
    only.set(HEADERS.eventWriter, 'registry');
    expect(reader.check({ subject, data: payload, seq: 11, headers: only })).toMatchObject({ reason: 'bad-signature', writer: 'registry' });
    const garbage = natsHeaders();
    garbage.set(HEADERS.eventWriter, 'registry');
    garbage.set(HEADERS.eventSignature, '!'.repeat(88));
    expect(reader.check({ subject, data: payload, seq: 11, headers: garbage })).toMatchObject({ reason: 'bad-signature' });
    const policy = natsHeaders();
    policy.set(HEADERS.eventWriter, 'policy');
    policy.set(HEADERS.eventSignature, signed(payload).get(HEADERS.eventSignature));
    expect(reader.check({ subject, data: payload, seq: 11, headers: policy })).toMatchObject({ reason: 'wrong-writer', message: 'aggregate plugin is written by registry, not policy' });
    const long = natsHeaders();
    long.set(HEADERS.eventWriter, 'x'.repeat(500));
    long.set(HEADERS.eventSignature, 'y');
    expect(reader.check({ subject, data: payload, seq: 11, headers: long })).toMatchObject({ reason: 'unknown-writer', writer: 'x'.repeat(64) });
  });

  it('check - unsigned is accepted up to the cut-over and refused after it', () => {
    expect(reader.check({ subject, data: encode('{}'), seq: 10 })).toBeUndefined();
    expect(reader.check({ subject, data: encode('{}'), seq: 11 })).toMatchObject({ reason: 'unsigned', writer: null, aggregate: 'plugin' });
  });

  it('aggregateOf - only `<prefix>forgeone.evt.<aggregate>.<id>` names an aggregate', () => {
    expect(reader.aggregateOf(names.eventSubject('runner-signature', 'acme:acme/hello'))).toBe('runner-signature');
    expect(reader.aggregateOf('unit.forgeone.evt.plugin')).toBeUndefined();
    expect(reader.aggregateOf('unit.forgeone.evt.plugin.a.b')).toBeUndefined();
    expect(reader.aggregateOf('forgeone.evt.plugin.a')).toBeUndefined();
  });

  it('signInto - refuses an aggregate the writer does not own', () => {
    expect(() => registry.signInto(natsHeaders(), 'token', names.eventSubject('token', 't1'), encode('{}'))).toThrow(/registry cannot append to aggregate token: it is written by policy alone/);
  });
});

describe('ReplayGuard', () => {
  it('replay guard - the same id at the same sequence is a redelivery, at another sequence a replay', () => {
    const guard = new ReplayGuard();
    expect(guard.replayOf('e1', 5)).toBeUndefined();
    expect(guard.replayOf('e1', 5)).toBeUndefined();
    expect(guard.replayOf('e1', 9)).toBe(5);
    expect(guard.replayOf('e2', 9)).toBeUndefined();
  });
});
