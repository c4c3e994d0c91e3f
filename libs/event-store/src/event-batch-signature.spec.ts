import { createPrivateKey } from 'node:crypto';
import { HEADERS, names as makeNames, type ServiceName } from '@forgeone/contracts';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { eventAuthorshipFromEnv, eventSignature, eventWriters, generateEventWriterKey, signEventBatch } from './index.js';
import { setAuthorshipHeaders } from './event-authorship.js';
import { MAX_SIGNING_BATCH, SigningQueue } from './signing-queue.js';

const names = makeNames('unit');
const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()])) as Record<string, { privateKey: string; publicKey: string }>;
const writerKeys = JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey])));
const authorshipOf = (service: ServiceName) =>
  eventAuthorshipFromEnv({ FORGEONE_EVENT_WRITER_KEYS: writerKeys, ...(keys[service] ? { FORGEONE_EVENT_SIGNING_KEY: keys[service].privateKey } : {}) }, service, names);
const registry = authorshipOf('registry');
const signer = authorshipOf('signer');
const encode = (text: string) => new TextEncoder().encode(text);
const privateKeyOf = (writer: string) => createPrivateKey({ key: Buffer.from(keys[writer].privateKey, 'base64'), format: 'der', type: 'pkcs8' });

interface Signed {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs;
}

/** `count` plugin events signed together by the registry, as concurrent appends are. */
function batch(count: number, tag = 'a'): Signed[] {
  const messages = Array.from({ length: count }, (_, i) => ({
    headers: natsHeaders(),
    aggregate: 'plugin',
    subject: names.eventSubject('plugin', `acme:acme/${tag}-${i}`),
    payload: encode(JSON.stringify({ tag, i })),
  }));
  registry.signAllInto(messages);
  return messages.map(({ subject, payload, headers }) => ({ subject, data: payload, headers }));
}

function withHeaders(from: MsgHdrs, changes: Record<string, string | undefined>): MsgHdrs {
  const out = natsHeaders();
  for (const name of [HEADERS.eventWriter, HEADERS.eventSignature, HEADERS.eventProof]) {
    const value = name in changes ? changes[name] : from.has(name) ? from.get(name) : undefined;
    if (value !== undefined) out.set(name, value);
  }
  return out;
}

describe('batch signatures', () => {
  it('batch - every message of a batch carries the one signature and its own path, and each verifies', () => {
    const reader = authorshipOf('gateway');
    for (const size of [2, 3, 7, 64, 65]) {
      const signed = batch(size, `s${size}`);
      expect(new Set(signed.map((m) => m.headers.get(HEADERS.eventSignature))).size).toBe(1);
      expect(new Set(signed.map((m) => m.headers.get(HEADERS.eventProof))).size).toBe(size);
      for (const [seq, m] of signed.entries()) expect(reader.check({ ...m, seq: seq + 1 })).toBeUndefined();
    }
  });

  it('batch - a single message is signed alone, in the format readers have always verified', () => {
    const [only] = batch(1);
    expect(only.headers.has(HEADERS.eventProof)).toBe(false);
    expect(only.headers.get(HEADERS.eventSignature)).toBe(eventSignature('registry', privateKeyOf('registry'), only.subject, only.data));
  });

  it('batch - a tampered payload or a message moved to another subject with its proof is refused', () => {
    const reader = authorshipOf('gateway');
    const [first, second] = batch(4);
    expect(reader.check({ ...first, data: encode('{"tag":"a","i":9}'), seq: 1 })).toMatchObject({ reason: 'bad-signature' });
    // The root signature and path reused on another subject of the same aggregate and writer.
    expect(reader.check({ ...first, subject: names.eventSubject('plugin', 'acme:acme/elsewhere'), seq: 1 })).toMatchObject({ reason: 'bad-signature' });
    // ...and on a sibling's subject with the sibling's path: still not what was signed there.
    expect(reader.check({ subject: second.subject, data: first.data, headers: second.headers, seq: 2 })).toMatchObject({ reason: 'bad-signature' });
  });

  it('batch - an inclusion path or signature taken from another batch is refused, even after that batch verified', () => {
    const reader = authorshipOf('gateway');
    const ours = batch(4, 'x');
    const theirs = batch(4, 'y');
    for (const [seq, m] of [...ours, ...theirs].entries()) expect(reader.check({ ...m, seq: seq + 1 })).toBeUndefined();
    const proofOfTheirs = withHeaders(ours[1].headers, { [HEADERS.eventProof]: theirs[1].headers.get(HEADERS.eventProof) });
    expect(reader.check({ ...ours[1], headers: proofOfTheirs, seq: 9 })).toMatchObject({ reason: 'bad-signature' });
    const signatureOfTheirs = withHeaders(ours[1].headers, { [HEADERS.eventSignature]: theirs[1].headers.get(HEADERS.eventSignature) });
    expect(reader.check({ ...ours[1], headers: signatureOfTheirs, seq: 9 })).toMatchObject({ reason: 'bad-signature', message: expect.stringMatching(/batch signature does not verify/) });
  });

  it('batch - a batch another writer signed does not pass for the owner, nor under its own name on a subject it does not own', () => {
    const reader = authorshipOf('gateway');
    const messages = [0, 1].map((i) => ({ headers: natsHeaders(), aggregate: 'key', subject: names.eventSubject('key', `acme:k${i}`), payload: encode(`{"k":${i}}`) }));
    signer.signAllInto(messages);
    const [one] = messages;
    const onPlugin = { subject: names.eventSubject('plugin', 'acme:acme/a-0'), data: one.payload, seq: 1 };
    expect(reader.check({ ...onPlugin, headers: one.headers })).toMatchObject({ reason: 'wrong-writer' });
    expect(reader.check({ ...onPlugin, headers: withHeaders(one.headers, { [HEADERS.eventWriter]: 'registry' }) })).toMatchObject({ reason: 'bad-signature' });
    expect(reader.check({ subject: one.subject, data: one.payload, headers: withHeaders(one.headers, { [HEADERS.eventWriter]: 'registry' }), seq: 1 })).toMatchObject({
      reason: 'wrong-writer',
    });
    expect(reader.check({ subject: one.subject, data: one.payload, headers: one.headers, seq: 1 })).toBeUndefined();
  });

  it('batch - the two formats never stand in for each other: a proof stripped, or added to a single signature, is refused', () => {
    const reader = authorshipOf('gateway');
    const [first] = batch(2, 'f');
    expect(reader.check({ ...first, headers: withHeaders(first.headers, { [HEADERS.eventProof]: undefined }), seq: 1 })).toMatchObject({ reason: 'bad-signature' });
    const [single] = batch(1, 'g');
    expect(reader.check({ ...single, headers: withHeaders(single.headers, { [HEADERS.eventProof]: first.headers.get(HEADERS.eventProof) }), seq: 1 })).toMatchObject({
      reason: 'bad-signature',
    });
    // A batch of one message the writer might sign with the batch format: its root is its leaf, so the
    // path must have at least one step and a single signature never verifies as a batch's.
    const lone = signEventBatch('registry', privateKeyOf('registry'), [
      { subject: single.subject, payload: single.data },
      { subject: single.subject, payload: single.data },
    ]);
    expect(reader.check({ ...single, headers: withHeaders(single.headers, { [HEADERS.eventSignature]: lone.signature }), seq: 1 })).toMatchObject({ reason: 'bad-signature' });
  });

  it('batch - malformed proofs are refused before any hashing, saying what is wrong', () => {
    const reader = authorshipOf('gateway');
    const [first] = batch(2, 'm');
    const proof = Buffer.from(first.headers.get(HEADERS.eventProof), 'base64');
    const refusalOf = (value: string) => reader.check({ ...first, headers: withHeaders(first.headers, { [HEADERS.eventProof]: value }), seq: 1 });
    expect(refusalOf(Buffer.concat([Buffer.of(2), proof.subarray(1)]).toString('base64'))).toMatchObject({ reason: 'bad-signature', message: expect.stringMatching(/side 2, not 0 or 1/) });
    expect(refusalOf(proof.subarray(0, 20).toString('base64'))).toMatchObject({ reason: 'bad-signature', message: expect.stringMatching(/33-byte steps/) });
    expect(refusalOf(Buffer.concat(Array.from({ length: 17 }, () => proof)).toString('base64'))).toMatchObject({ reason: 'bad-signature', message: expect.stringMatching(/longer than 16 steps/) });
    const text = proof.toString('base64');
    expect(refusalOf(`${text.slice(0, 10)}*${text.slice(10)}`)).toMatchObject({ reason: 'bad-signature', message: expect.stringMatching(/not canonical base64/) });
    // A proof alone, without writer and signature, is no unsigned message even below the cut-over.
    const lenient = eventAuthorshipFromEnv({ FORGEONE_EVENT_WRITER_KEYS: writerKeys, FORGEONE_EVENT_UNSIGNED_UNTIL: '100' }, 'gateway', names);
    expect(lenient.check({ ...first, headers: withHeaders(first.headers, { [HEADERS.eventWriter]: undefined, [HEADERS.eventSignature]: undefined }), seq: 1 })).toMatchObject({
      reason: 'bad-signature',
    });
  });

  it('signAllInto - refuses, signing nothing, when one message is of an aggregate the writer does not own', () => {
    const ok = { headers: natsHeaders(), aggregate: 'plugin', subject: names.eventSubject('plugin', 'acme:acme/x'), payload: encode('{}') };
    const foreign = { headers: natsHeaders(), aggregate: 'token', subject: names.eventSubject('token', 't1'), payload: encode('{}') };
    expect(() => registry.signAllInto([ok, foreign])).toThrow(/registry cannot append to aggregate token/);
    expect(ok.headers.has(HEADERS.eventSignature)).toBe(false);
  });
});

describe('SigningQueue', () => {
  it('signing queue - appends handed over in one turn share one signature, and each message verifies', async () => {
    const queue = new SigningQueue(registry);
    const reader = authorshipOf('gateway');
    const appends = [3, 1, 2].map((count, a) =>
      Array.from({ length: count }, (_, i) => ({ headers: natsHeaders(), aggregate: 'plugin', subject: names.eventSubject('plugin', `acme:acme/q${a}`), payload: encode(`{"a":${a},"i":${i}}`) })),
    );
    const signed = await Promise.all(appends.map((messages) => queue.sign(messages)));
    appends.forEach((messages, a) => messages.forEach((m, i) => setAuthorshipHeaders(m.headers, signed[a][i])));
    const all = appends.flat();
    expect(new Set(all.map((m) => m.headers.get(HEADERS.eventSignature))).size).toBe(1);
    for (const [seq, m] of all.entries()) expect(reader.check({ subject: m.subject, data: m.payload, headers: m.headers, seq: seq + 1 })).toBeUndefined();
  });

  it('signing queue - appends over one batch size get signatures of their own batches, each message its own proof', async () => {
    const queue = new SigningQueue(registry);
    const reader = authorshipOf('gateway');
    const sizes = [MAX_SIGNING_BATCH - 6, 10, MAX_SIGNING_BATCH + 3];
    const appends = sizes.map((count, a) =>
      Array.from({ length: count }, (_, i) => ({ headers: natsHeaders(), aggregate: 'plugin', subject: names.eventSubject('plugin', `acme:acme/big${a}`), payload: encode(`{"a":${a},"i":${i}}`) })),
    );
    const signed = await Promise.all(appends.map((messages) => queue.sign(messages)));
    expect(signed.map((s) => s.length)).toEqual(sizes);
    appends.forEach((messages, a) => messages.forEach((m, i) => setAuthorshipHeaders(m.headers, signed[a][i])));
    // The second append does not fit beside the first; the third alone exceeds a batch and is split.
    expect(appends.map((messages) => new Set(messages.map((m) => m.headers.get(HEADERS.eventSignature))).size)).toEqual([1, 1, 2]);
    expect(signed[1][0].signature).not.toBe(signed[0][0].signature);
    for (const [seq, m] of appends.flat().entries()) expect(reader.check({ subject: m.subject, data: m.payload, headers: m.headers, seq: seq + 1 })).toBeUndefined();
  });

  it('signing queue - an aggregate the writer does not own is refused at once, not in the batch', () => {
    const queue = new SigningQueue(registry);
    expect(() => queue.sign([{ aggregate: 'token', subject: names.eventSubject('token', 't1'), payload: encode('{}') }])).toThrow(/registry cannot append to aggregate token/);
  });
});
