import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { names as namesFor, type Names } from '@forgeone/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPlatformStorage, platformStorage, PlatformStorageError, provisionPlatformStorage, type PlatformStorageSettings } from './platform-storage.js';
import { StorageUsageMonitor } from './storage-usage.monitor.js';

const MiB = 1024 * 1024;
// Small limits: JetStream reserves each stream's max_bytes on the shared server.
const SETTINGS: PlatformStorageSettings = { replicas: 1, eventsMaxBytes: 8 * MiB, artifactsMaxBytes: 8 * MiB, pluginKvMaxBytes: 2 * MiB };

let nc: NatsConnection;
let jsm: JetStreamManager;
const used: Names[] = [];

function freshNames(): Names {
  const names = namesFor(`t-ps-${randomUUID().slice(0, 8)}`);
  used.push(names);
  return names;
}

beforeAll(async () => {
  nc = await connect({ servers: process.env.FORGEONE_TEST_NATS_URL ?? '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const names of used) {
    for (const storage of platformStorage(names, SETTINGS)) await jsm.streams.delete(storage.stream).catch(() => undefined);
  }
  await nc?.close();
});

describe('provisionPlatformStorage', () => {
  it('platform storage - provisioning creates the stream and both buckets with the required settings, then changes nothing', async () => {
    const names = freshNames();
    const first = await provisionPlatformStorage(nc, names, SETTINGS);
    expect(first.map((p) => [p.kind, p.action])).toEqual([
      ['events', 'created'],
      ['artifacts', 'created'],
      ['plugin-kv', 'created'],
    ]);
    const { config } = await jsm.streams.info(names.stream);
    expect(config).toMatchObject({
      subjects: [names.eventsWildcard],
      retention: 'limits',
      storage: 'file',
      discard: 'new',
      deny_delete: true,
      deny_purge: true,
      allow_rollup_hdrs: false,
      max_bytes: 8 * MiB,
      duplicate_window: 120_000 * 1_000_000,
      num_replicas: 1,
    });
    expect((await jsm.streams.info(`OBJ_${names.artifactBucket}`)).config).toMatchObject({ max_bytes: 8 * MiB, discard: 'new', num_replicas: 1 });
    expect((await jsm.streams.info(`KV_${names.pluginKvBucket}`)).config).toMatchObject({ max_bytes: 2 * MiB, max_msgs_per_subject: 1, num_replicas: 1 });

    const again = await provisionPlatformStorage(nc, names, SETTINGS);
    expect(again.map((p) => p.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    await expect(checkPlatformStorage(nc, names, SETTINGS)).resolves.toHaveLength(3);
  });

  it('platform storage - message delete and purge are refused on the provisioned stream', async () => {
    const names = freshNames();
    await provisionPlatformStorage(nc, names, SETTINGS);
    const ack = await jetstream(nc).publish(names.eventSubject('plugin', 'acme/x'), '{}');
    await expect(jsm.streams.deleteMessage(names.stream, ack.seq)).rejects.toThrow(/message delete not permitted/);
    await expect(jsm.streams.purge(names.stream)).rejects.toThrow(/purge not permitted/);
    expect((await jsm.streams.info(names.stream)).state.messages).toBe(1);
  });

  it('platform storage - larger limits and a longer duplicate window survive provisioning and checks with smaller settings', async () => {
    const names = freshNames();
    const raised = { ...SETTINGS, eventsMaxBytes: 16 * MiB, pluginKvMaxBytes: 4 * MiB, eventsDuplicateWindowMs: 300_000 };
    await provisionPlatformStorage(nc, names, raised);

    const again = await provisionPlatformStorage(nc, names, SETTINGS);
    expect(again.map((p) => p.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    await checkPlatformStorage(nc, names, SETTINGS);
    expect((await jsm.streams.info(names.stream)).config).toMatchObject({ max_bytes: 16 * MiB, duplicate_window: 300_000 * 1_000_000 });
    expect((await jsm.streams.info(`KV_${names.pluginKvBucket}`)).config.max_bytes).toBe(4 * MiB);
  });

  it('platform storage - a weakened stream is refused by the check, naming the setting, and restored by provisioning', async () => {
    const names = freshNames();
    await provisionPlatformStorage(nc, names, SETTINGS);
    const { config } = await jsm.streams.info(names.stream);
    await jsm.streams.update(names.stream, { ...config, max_msgs: 5, max_bytes: 2 * MiB });

    const refused = await checkPlatformStorage(nc, names, SETTINGS).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PlatformStorageError);
    expect((refused as PlatformStorageError).problems).toEqual([
      `stream ${names.stream}: max_msgs is 5, must be unlimited`,
      `stream ${names.stream}: max_bytes is 2097152 (2MB), must be at least 8388608 (8MB) (FORGEONE_EVENTS_MAX_BYTES)`,
    ]);
    expect((refused as Error).message).toMatch(/forgeone admin setup/);

    const restored = await provisionPlatformStorage(nc, names, SETTINGS);
    expect(restored[0]).toMatchObject({ action: 'raised', changes: ['max_msgs 5 → unlimited', 'max_bytes 2097152 (2MB) → 8388608 (8MB)'] });
    await checkPlatformStorage(nc, names, SETTINGS);
  });

  it('platform storage - a stream created without deny_delete is refused, then hardened', async () => {
    const names = freshNames();
    await jsm.streams.add({ name: names.stream, subjects: [names.eventsWildcard], deny_delete: false, deny_purge: false, discard: 'old' as never });
    await expect(checkPlatformStorage(nc, names, SETTINGS)).rejects.toThrow(
      new RegExp(`stream ${names.stream}: deny_delete is false, must be true.*object store ${names.artifactBucket} does not exist; key-value bucket ${names.pluginKvBucket} does not exist`),
    );
    const done = await provisionPlatformStorage(nc, names, SETTINGS);
    expect(done.map((p) => p.action)).toEqual(['raised', 'created', 'created']);
    expect((await jsm.streams.info(names.stream)).config).toMatchObject({ deny_delete: true, deny_purge: true, discard: 'new' });
  });
});

describe('StorageUsageMonitor', () => {
  it('storage usage - warns from 80 % and errs from 95 % of the byte limit, and says so in its health entry', async () => {
    const names = freshNames();
    await provisionPlatformStorage(nc, names, { ...SETTINGS, eventsMaxBytes: MiB });
    const lines: Array<{ level: number; msg: string; percent?: number }> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const [events] = platformStorage(names, { ...SETTINGS, eventsMaxBytes: MiB });
    const monitor = new StorageUsageMonitor(nc, [events], logger);
    expect(monitor.health()).toEqual({ ok: true, detail: 'usage not read yet' });

    const js = jetstream(nc);
    const fill = async (target: number) => {
      while ((await jsm.streams.info(names.stream)).state.bytes < target * MiB) await js.publish(names.eventSubject('plugin', 'big'), new Uint8Array(32 * 1024));
    };
    expect((await monitor.check())[0].level).toBe('ok');
    expect(lines).toEqual([]);

    await fill(0.81);
    expect((await monitor.check())[0].level).toBe('warn');
    expect(lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(new RegExp(`^stream ${names.stream} is 8\\d\\.\\d% full .*FORGEONE_EVENTS_MAX_BYTES`)) });
    expect(monitor.health().detail).toMatch(new RegExp(`^stream ${names.stream} 8\\d\\.\\d% of 1MB \\(WARN\\)$`));

    await fill(0.96);
    expect((await monitor.check())[0].level).toBe('error');
    expect(lines.at(-1)).toMatchObject({ level: 50 });
    expect(monitor.health()).toMatchObject({ ok: true, detail: expect.stringMatching(/\(ERROR\)$/) });
  });
});
