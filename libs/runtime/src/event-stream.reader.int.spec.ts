import { names as namesFor } from '@forgeone/contracts';
import { createTestEventWriters, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStreamMessages } from './event-stream.reader.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('event stream reader', () => {
  // The platform's event stream refuses deletes; a stream of the test's own (read as the event stream) has
  // messages 7 and 30 removed, so reads must answer "none" inside the stream and at its end.
  const stream = testNamespace('ESR').replace('-', '_');
  const names = { ...namesFor(''), stream };
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connect({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const js = jetstream(nc);
    for (let i = 1; i <= 30; i += 1) await js.publish(`${stream}.p${i}`, encoder.encode(`message ${i}`));
    await jsm.streams.deleteMessage(stream, 7);
    await jsm.streams.deleteMessage(stream, 30);
  });

  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  const text = (payload: Uint8Array | undefined) => (payload ? decoder.decode(payload) : undefined);

  it('event stream reader - reads in order through a batch consumer give every message at its sequence and none where there is none', { timeout: 60_000 }, async () => {
    const reader = await eventStreamMessages(nc, names, { batch: 4 });
    try {
      const read: (string | undefined)[] = [];
      for (let sequence = 1; sequence <= 32; sequence += 1) read.push(text(await reader.read(sequence)));
      expect(read).toEqual(Array.from({ length: 32 }, (_, i) => (i + 1 === 7 || i + 1 >= 30 ? undefined : `message ${i + 1}`)));
    } finally {
      await reader.close();
    }
  });

  it('event stream reader - a read again, a look one ahead, a read back and a jump far ahead each give the message at that sequence', { timeout: 60_000 }, async () => {
    const reader = await eventStreamMessages(nc, names, { batch: 2 });
    try {
      expect(text(await reader.read(3))).toBe('message 3');
      expect(text(await reader.read(3))).toBe('message 3');
      expect(text(await reader.read(4))).toBe('message 4');
      expect(text(await reader.read(5))).toBe('message 5');
      expect(text(await reader.read(4))).toBe('message 4');
      expect(text(await reader.read(6))).toBe('message 6');
      expect(text(await reader.read(7))).toBeUndefined();
      expect(text(await reader.read(8))).toBe('message 8');
      expect(text(await reader.read(29))).toBe('message 29');
      expect(text(await reader.read(2))).toBe('message 2');
      expect(text(await reader.read(1000))).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('event stream reader - given authorship, each message comes with the verdict of the pinned writer keys; without, with its payload alone', { timeout: 60_000 }, async () => {
    const writers = createTestEventWriters();
    // Unsigned messages after the cut-over are refused; at or below it they pass the signature check, and one that is no CloudEvent is refused as invalid.
    const strict = await eventStreamMessages(nc, names, { batch: 4, authorship: writers.authorship(names) });
    const lenient = await eventStreamMessages(nc, names, { batch: 4, authorship: writers.authorship(names, undefined, 100) });
    const plain = await eventStreamMessages(nc, names, { batch: 4 });
    try {
      const strictly = await strict.message(3);
      expect([text(strictly?.data), strictly?.authorship]).toEqual(['message 3', { ok: false, reason: 'unsigned', message: expect.stringContaining('after the cut-over (0)') }]);
      expect((await lenient.message(3))?.authorship).toEqual({ ok: false, reason: 'invalid', message: expect.stringContaining('stream message 3 is not valid JSON') });
      const plainly = await plain.message(3);
      expect([text(plainly?.data), plainly && 'authorship' in plainly]).toEqual(['message 3', false]);
      expect(await strict.message(7)).toBeUndefined();
    } finally {
      await strict.close();
      await lenient.close();
      await plain.close();
    }
  });
});
