import { randomBytes } from 'node:crypto';
import { BusClient, connectNats } from '@forgeone/bus';
import { names as namesFor, type HealthReply } from '@forgeone/contracts';
import { createTestEventWriters, eventually, provisionTestStorage, removeNamespace, spawnService, testNamespace, TEST_NATS_URL, TEST_STORAGE_SETTINGS, type ServiceProcess } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The signer stands for every service: they all start through runBusService and its guard.
describe('service start - storage and NATS checks', () => {
  const namespaces: string[] = [];
  const processes: ServiceProcess[] = [];
  const serviceKey = randomBytes(32).toString('hex');
  let nc: NatsConnection;

  const writers = createTestEventWriters();
  const namespace = () => {
    const ns = testNamespace('guard');
    namespaces.push(ns);
    return ns;
  };
  const start = (ns: string, extra: Record<string, string> = {}) => {
    const p = spawnService('signer', { NATS_URL: TEST_NATS_URL, FORGEONE_NAMESPACE: ns, FORGEONE_SERVICE_KEY: serviceKey, ...writers.env('signer'), ...extra });
    processes.push(p);
    return p;
  };
  const exitCode = (p: ServiceProcess) =>
    new Promise<number | null>((resolve) => (p.child.exitCode !== null ? resolve(p.child.exitCode) : p.child.once('exit', (code) => resolve(code))));
  const health = (ns: string) => new BusClient(nc, namesFor(ns)).checkHealth('signer');
  const streamState = async (ns: string) => (await (await jetstreamManager(nc)).streams.info(namesFor(ns).stream)).state;

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'guard-test');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await nc?.close();
    for (const ns of namespaces) await removeNamespace(ns);
  });

  it('service start - storage nobody provisioned is not created: the service exits naming it', async () => {
    const ns = namespace();
    const signer = start(ns);
    expect(await exitCode(signer)).toBe(1);
    const names = namesFor(ns);
    expect(signer.output()).toContain(
      `cannot start signer: stream ${names.stream} does not exist; object store ${names.artifactBucket} does not exist; key-value bucket ${names.pluginKvBucket} does not exist. ` +
        'Refusing to run on it: an operator provisions the storage with `forgeone admin setup`',
    );
    await expect((await jetstreamManager(nc)).streams.info(names.stream)).rejects.toThrow(/stream not found/);
  });

  it('service start - a weakened stream makes the service exit, naming the setting', async () => {
    const ns = namespace();
    await provisionTestStorage(ns);
    const jsm = await jetstreamManager(nc);
    const { config } = await jsm.streams.info(namesFor(ns).stream);
    await jsm.streams.update(config.name, { ...config, max_msgs: 5 });

    const signer = start(ns);
    expect(await exitCode(signer)).toBe(1);
    expect(signer.output()).toContain(`cannot start signer: stream ${namesFor(ns).stream}: max_msgs is 5, must be unlimited.`);
    // The service changed nothing: raising it back is the operator's step.
    expect((await jsm.streams.info(config.name)).config.max_msgs).toBe(5);
  });

  it('service start - an insecure NATS is refused without FORGEONE_NATS_INSECURE, and the probe writes nothing', async () => {
    const ns = namespace();
    await provisionTestStorage(ns);
    await jetstream(nc).publish(namesFor(ns).eventSubject('key', 'acme:k1'), '{}');
    const before = await streamState(ns);

    const signer = start(ns, { FORGEONE_NATS_INSECURE: '0' });
    expect(await exitCode(signer)).toBe(1);
    expect(signer.output()).toMatch(/cannot start signer: NATS nats:\/\/127\.0\.0\.1:4222 is insecure: a client without credentials may publish event subjects into stream /);
    const after = await streamState(ns);
    expect([after.messages, after.last_seq]).toEqual([before.messages, before.last_seq]);
  });

  it('service start - larger limits are kept; health shows insecure mode and storage usage', async () => {
    const ns = namespace();
    const MiB = 1024 * 1024;
    await provisionTestStorage(ns, TEST_NATS_URL, { ...TEST_STORAGE_SETTINGS, eventsMaxBytes: 2 * TEST_STORAGE_SETTINGS.eventsMaxBytes, eventsDuplicateWindowMs: 600_000 });
    start(ns);
    const ready = await eventually(() => health(ns).then((h) => h.ready && h), 'signer ready');

    const { config } = await (await jetstreamManager(nc)).streams.info(namesFor(ns).stream);
    expect([config.max_bytes, config.duplicate_window]).toEqual([128 * MiB, 600_000 * 1_000_000]);
    expect(ready.checks.natsSecurity).toEqual({
      ok: true,
      detail: expect.stringMatching(/^INSECURE \(FORGEONE_NATS_INSECURE=1\): a client without credentials may publish event subjects into stream /),
    });
    expect(ready.checks.storage).toEqual({ ok: true, detail: `stream ${namesFor(ns).stream} 0.0% of 128MB` });
  });

  it('service start - a service that writes warns as its stream fills up, in its log and its health', async () => {
    const ns = namespace();
    const MiB = 1024 * 1024;
    await provisionTestStorage(ns, TEST_NATS_URL, { ...TEST_STORAGE_SETTINGS, eventsMaxBytes: MiB });
    const signer = start(ns, { FORGEONE_EVENTS_MAX_BYTES: '1MB', FORGEONE_STORAGE_CHECK_INTERVAL_MS: '200' });
    await eventually(() => health(ns).then((h) => h.ready), 'signer ready');

    const js = jetstream(nc);
    while ((await streamState(ns)).bytes < 0.82 * MiB) await js.publish(namesFor(ns).eventSubject('key', 'acme:big'), new Uint8Array(32 * 1024));
    const warned = await eventually<HealthReply>(() => health(ns).then((h) => /\(WARN\)$/.test(h.checks.storage?.detail ?? '') && h), 'usage alarm in health');
    expect(warned.ready).toBe(true);
    await eventually(async () => /"level":"warn".*is 8\d\.\d% full/.test(signer.output()), 'warning in the log');
  });
});
