import { randomBytes, randomUUID } from 'node:crypto';
import { names as makeNames } from '@forgeone/contracts';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, sha256Digest } from './artifact.store.js';
import { platformStorage, provisionPlatformStorage } from './platform-storage.js';

const names = makeNames(`t-art-${randomUUID().slice(0, 8)}`);
const MiB = 1024 * 1024;
const SETTINGS = { replicas: 1, eventsMaxBytes: MiB, artifactsMaxBytes: 16 * MiB, pluginKvMaxBytes: MiB };
let nc: NatsConnection;
let jsm: JetStreamManager;
let store: ArtifactStore;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionPlatformStorage(nc, names, SETTINGS);
  store = new ArtifactStore(nc, names);
});

afterAll(async () => {
  for (const storage of platformStorage(names, SETTINGS)) await jsm?.streams.delete(storage.stream).catch(() => undefined);
  await nc?.close();
});

describe('ArtifactStore', () => {
  it('artifact - put/get round trip by digest', async () => {
    const bytes = randomBytes(300_000);
    const put = await store.put(bytes);
    expect(put).toEqual({ digest: sha256Digest(bytes), sizeBytes: bytes.byteLength, created: true });
    expect(put.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Buffer.from(await store.get(put.digest)).equals(bytes)).toBe(true);
    expect(await store.has(put.digest)).toBe(true);
  });

  it('artifact - putting the same bytes again does not write again', async () => {
    const bytes = randomBytes(1_000);
    await store.put(bytes);
    const bucket = await new Objm(nc).open(names.artifactBucket);
    const before = await bucket.info(sha256Digest(bytes).slice(7));
    const again = await store.put(bytes);
    const after = await bucket.info(sha256Digest(bytes).slice(7));
    expect(again.created).toBe(false);
    expect(after?.revision).toBe(before?.revision);
  });

  it('artifact - tampered bytes under the same name are ARTIFACT_CORRUPT', async () => {
    const bytes = randomBytes(2_000);
    const { digest } = await store.put(bytes);
    const bucket = await new Objm(nc).open(names.artifactBucket);
    await bucket.putBlob({ name: digest.slice(7) }, randomBytes(2_000));
    await expect(store.get(digest)).rejects.toMatchObject({ code: 'REGISTRY.ARTIFACT_CORRUPT', message: expect.stringContaining(digest) });
  });

  it('artifact - absent digest is ARTIFACT_MISSING; delete removes; malformed digest is refused', async () => {
    const bytes = randomBytes(100);
    const digest = sha256Digest(bytes);
    await expect(store.get(digest)).rejects.toMatchObject({ code: 'REGISTRY.ARTIFACT_MISSING' });
    expect(await store.has(digest)).toBe(false);
    await store.put(bytes);
    await store.delete(digest);
    expect(await store.has(digest)).toBe(false);
    await expect(store.get(digest)).rejects.toMatchObject({ code: 'REGISTRY.ARTIFACT_MISSING' });
    await store.delete(digest);
    await expect(store.get('md5:abc')).rejects.toMatchObject({ code: 'COMMAND.INVALID' });
    const reput = await store.put(bytes);
    expect(reput.created).toBe(true);
  });

  it('artifact - a bucket nobody provisioned is not created on use but named as missing', async () => {
    const unprovisioned = makeNames(`t-art-${randomUUID().slice(0, 8)}`);
    const elsewhere = new ArtifactStore(nc, unprovisioned);
    await expect(elsewhere.put(randomBytes(10))).rejects.toMatchObject({
      code: 'EVENTSTORE.UNAVAILABLE',
      message: `artifact bucket ${unprovisioned.artifactBucket} does not exist: an operator provisions it with \`forgeone admin setup\``,
    });
    await expect(jsm.streams.info(`OBJ_${unprovisioned.artifactBucket}`)).rejects.toThrow(/stream not found/);
  });
});
