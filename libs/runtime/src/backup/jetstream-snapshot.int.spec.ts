import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startPrivateNats, type PrivateNats } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreStream, snapshotStream, StreamSnapshotError } from './jetstream-snapshot.js';

describe('jetstream snapshot - a stream restored on another server', () => {
  let source: PrivateNats;
  let target: PrivateNats;
  let a: NatsConnection;
  let b: NatsConnection;
  const work = mkdtempSync(join(tmpdir(), 'forgeone-snapshot-'));

  beforeAll(async () => {
    [source, target] = await Promise.all([startPrivateNats(), startPrivateNats()]);
    [a, b] = await Promise.all([connect({ servers: source.url }), connect({ servers: target.url })]);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await source?.remove();
    await target?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('jetstream snapshot - keeps every message at its sequence number, gaps included', async () => {
    const jsm = await jetstreamManager(a);
    await jsm.streams.add({ name: 'SNAP', subjects: ['snap.>'] });
    const js = jetstream(a);
    // Enough data for several chunks, so flow control is exercised.
    const body = new Uint8Array(40_000).fill(7);
    for (let i = 1; i <= 40; i++) await js.publish(`snap.${i}`, i === 1 ? new TextEncoder().encode('first') : body);
    await jsm.streams.deleteMessage('SNAP', 5);

    const file = join(work, 'snap.tar.s2');
    const { meta, bytes } = await snapshotStream(a, 'SNAP', file);
    expect(bytes).toBe(statSync(file).size);
    expect(meta.state.last_seq).toBe(40);

    const restored = await restoreStream(b, meta, file);
    expect(restored).toMatchObject({ messages: 39, first_seq: 1, last_seq: 40 });
    const jsmB = await jetstreamManager(b);
    expect((await jsmB.streams.getMessage('SNAP', { seq: 1 }))!.string()).toBe('first');
    expect((await jsmB.streams.getMessage('SNAP', { seq: 40 }))!.subject).toBe('snap.40');
    expect(await jsmB.streams.getMessage('SNAP', { seq: 5 })).toBeNull();
    // The next message continues the sequence.
    expect((await jetstream(b).publish('snap.41', body)).seq).toBe(41);
  });

  it('jetstream snapshot - refuses to restore over a stream that exists, and to snapshot one that does not', async () => {
    const file = join(work, 'twice.tar.s2');
    const { meta } = await snapshotStream(a, 'SNAP', file);
    await expect(restoreStream(b, meta, file)).rejects.toThrow(StreamSnapshotError);
    await expect(snapshotStream(a, 'MISSING', join(work, 'missing.tar.s2'))).rejects.toThrow(/snapshot of stream MISSING refused by the server: stream not found/);
  });
});
