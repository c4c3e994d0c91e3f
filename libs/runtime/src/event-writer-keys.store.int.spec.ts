import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names as namesFor } from '@forgeone/contracts';
import { eventAuthorshipFromEnv } from '@forgeone/event-store';
import { provisionTestStorage, removeNamespace } from '@forgeone/test-harness';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventWriterKeysFile, prepareEventWriterKeys, withEventAuthorship } from './event-writer-keys.store.js';

const NATS_URL = process.env.FORGEONE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const logger = pino({ level: 'silent' });

describe('event writer keys in the data folder', () => {
  let dataDir: string;
  let nc: NatsConnection;
  const namespaces: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    for (const namespace of namespaces) await removeNamespace(namespace);
    await nc.close();
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forgeone-keys-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const fresh = () => {
    const names = namesFor(`t-keys-${randomBytes(4).toString('hex')}`);
    namespaces.push(names.namespace);
    return names;
  };

  it('keys - made once (file 0600 in a 0700 folder), the same on every later start, cut-over 0 for a new stream', async () => {
    const names = fresh();
    const first = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    expect(first.stream).toBe(names.stream);
    expect(first.unsignedUntil).toBe(0);
    expect(Object.keys(first.writers).sort()).toEqual(['audit-projector', 'policy', 'registry', 'sandbox-runner', 'signer']);
    expect((await stat(eventWriterKeysFile(dataDir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger })).toEqual(first);
  });

  it('keys - a file made before the audit-projector wrote events gets its key added, the other keys kept', async () => {
    const names = fresh();
    const first = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    const { 'audit-projector': _dropped, ...older } = first.writers;
    await writeFile(eventWriterKeysFile(dataDir), JSON.stringify({ ...first, writers: older }), { mode: 0o600 });
    const later = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    expect(Object.keys(later.writers).sort()).toEqual(['audit-projector', 'policy', 'registry', 'sandbox-runner', 'signer']);
    for (const [writer, key] of Object.entries(older)) expect(later.writers[writer]).toEqual(key);
    expect(JSON.parse(await readFile(eventWriterKeysFile(dataDir), 'utf8'))).toEqual(later);
    expect((await stat(eventWriterKeysFile(dataDir))).mode & 0o777).toBe(0o600);
  });

  it('keys - the cut-over is the stream\'s last sequence when the keys are first made, and stays put', async () => {
    const names = fresh();
    await provisionTestStorage(names.namespace);
    for (let i = 0; i < 3; i++) await jetstream(nc).publish(names.eventSubject('plugin', `acme:p${i}`), '{}');
    const made = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    expect(made.unsignedUntil).toBe(3);
    await jetstream(nc).publish(names.eventSubject('plugin', 'acme:later'), '{}');
    expect((await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger })).unsignedUntil).toBe(3);
  });

  it('keys - a file made before a service wrote events gets a key for it; the other keys and the cut-over stay', async () => {
    const names = fresh();
    const made = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    const { 'audit-projector': _added, ...older } = made.writers;
    await writeFile(eventWriterKeysFile(dataDir), JSON.stringify({ ...made, unsignedUntil: 7, writers: older }), { mode: 0o600 });
    const upgraded = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    expect(upgraded.unsignedUntil).toBe(7);
    expect(upgraded.writers).toMatchObject(older);
    expect(upgraded.writers['audit-projector'].publicKey).not.toBe(made.writers['audit-projector'].publicKey);
    expect(JSON.parse(await readFile(eventWriterKeysFile(dataDir), 'utf8'))).toEqual(upgraded);
    expect((await stat(eventWriterKeysFile(dataDir))).mode & 0o777).toBe(0o600);
  });

  it('keys - two starts at once keep one set of keys', async () => {
    const names = fresh();
    const [a, b] = await Promise.all([prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger }), prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger })]);
    expect(a).toEqual(b);
    expect(JSON.parse(await readFile(eventWriterKeysFile(dataDir), 'utf8'))).toEqual(a);
  });

  it('keys - a file others may read, one for another stream, or one that is not a key file is refused with what to do', async () => {
    const names = fresh();
    await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    await expect(prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names: namesFor('other'), logger })).rejects.toThrow(
      /was made for the event stream .* but this platform uses OTHER_FORGEONE_EVENTS .*give each stream its own FORGEONE_DATA_DIR/,
    );
    await chmod(eventWriterKeysFile(dataDir), 0o644);
    await expect(prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger })).rejects.toThrow(/may be read by other users \(mode 644\).*chmod 600/);
    await writeFile(eventWriterKeysFile(dataDir), '{"stream":"x"}', { mode: 0o600 });
    await chmod(eventWriterKeysFile(dataDir), 0o600);
    await expect(prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger })).rejects.toThrow(/does not hold the event writers' private keys: unsignedUntil/);
  });

  it('withEventAuthorship - each writer gets its own private key only, every service the pinned keys and the cut-over, and a passed-through key is dropped', async () => {
    const names = fresh();
    const secrets = await prepareEventWriterKeys({ dataDir, natsUrl: NATS_URL, names, logger });
    const parent = { FORGEONE_EVENT_SIGNING_KEY: secrets.writers.registry.privateKey, FORGEONE_EVENT_UNSIGNED_UNTIL: '999', FORGEONE_NAMESPACE: names.namespace };
    for (const service of ['registry', 'signer', 'policy', 'sandbox-runner', 'audit-projector'] as const) {
      const env = withEventAuthorship(service, parent, secrets);
      expect(env.FORGEONE_EVENT_SIGNING_KEY).toBe(secrets.writers[service].privateKey);
      expect(env.FORGEONE_EVENT_UNSIGNED_UNTIL).toBe('0');
      // What the service itself does with it at start.
      expect(eventAuthorshipFromEnv(env, service, names).writer).toBe(service);
    }
    for (const service of ['gateway'] as const) {
      const env = withEventAuthorship(service, parent, secrets);
      expect(env.FORGEONE_EVENT_SIGNING_KEY).toBeUndefined();
      expect(JSON.parse(env.FORGEONE_EVENT_WRITER_KEYS)).toEqual(Object.fromEntries(Object.entries(secrets.writers).map(([w, k]) => [w, k.publicKey])));
      expect(eventAuthorshipFromEnv(env, service, names).writer).toBeUndefined();
    }
  });
});
