import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findNatsServerBinary, startNats } from './nats-server.js';
import { natsCredentialOptions } from './nats-url.js';
import { isTcpPortOpen } from './tcp-port.util.js';

describe('startNats', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forgeone-nats-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('startNats - starts a private JetStream server on loopback and stops it', async () => {
    const nats = await startNats({ dataDir });
    const port = Number(new URL(nats.url).port);
    try {
      expect(nats.managed).toBe(true);
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(port).not.toBe(4222);

      const nc = await connect({ servers: nats.url, ...natsCredentialOptions(nats.operatorCredential!) });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'RUNTIME_CHECK', subjects: ['runtime.check.>'] });
        const ack = await jetstream(nc).publish('runtime.check.one', 'hello');
        expect(ack.stream).toBe('RUNTIME_CHECK');
        expect(ack.seq).toBe(1);
        const message = await jsm.streams.getMessage('RUNTIME_CHECK', { seq: 1 });
        expect(message?.string()).toBe('hello');
        // The server accepts the 8 MB payloads the platform's config allows.
        expect(nc.info?.max_payload).toBe(8 * 1024 * 1024);
        // Its environment holds none of the platform's variables.
        const environ = (await readFile(`/proc/${nats.pid}/environ`, 'utf8')).split('\0').filter(Boolean);
        expect(environ.map((entry) => entry.split('=')[0]).filter((key) => !['PATH', 'TZ', 'LANG', 'LC_ALL'].includes(key))).toEqual([]);
      } finally {
        await nc.close();
      }
      // JetStream files live inside the data folder.
      expect(await readdir(join(dataDir, 'nats'))).toContain('jetstream');
    } finally {
      await nats.stop();
    }
    expect(await isTcpPortOpen('127.0.0.1', port)).toBe(false);
  });

  it('startNats - keeps streams across restarts of the same data folder', async () => {
    const first = await startNats({ dataDir });
    let nc = await connect({ servers: first.url, ...natsCredentialOptions(first.operatorCredential!) });
    await (await jetstreamManager(nc)).streams.add({ name: 'KEPT', subjects: ['kept.>'] });
    await jetstream(nc).publish('kept.a', 'x');
    await nc.close();
    await first.stop();

    const second = await startNats({ dataDir });
    try {
      nc = await connect({ servers: second.url, ...natsCredentialOptions(second.operatorCredential!) });
      // The same data folder keeps the same identities.
      expect(second.serviceCredentials).toEqual(first.serviceCredentials);
      const info = await (await jetstreamManager(nc)).streams.info('KEPT');
      expect(info.state.messages).toBe(1);
      await nc.close();
    } finally {
      await second.stop();
    }
  });

  it('startNats - uses a given URL without starting anything', async () => {
    const shared = await startNats({ dataDir, url: 'nats://127.0.0.1:4222' });
    expect(shared).toMatchObject({ url: 'nats://127.0.0.1:4222', managed: false });
    await shared.stop();
    expect(await isTcpPortOpen('127.0.0.1', 4222)).toBe(true);
  });

  it('startNats - a URL nobody answers on is refused with a hint', async () => {
    await expect(startNats({ dataDir, url: 'nats://user:pw@127.0.0.1:1' })).rejects.toThrow(
      /NATS_URL nats:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1 does not answer.*unset NATS_URL/,
    );
  });

  it('startNats - without NATS_URL and without nats-server tells the user what to install', async () => {
    await expect(startNats({ dataDir, searchDirs: [dataDir] })).rejects.toThrow(/apt-get install nats-server.*NATS_URL/);
  });

  it('findNatsServerBinary - finds the machine\'s nats-server', async () => {
    expect(await findNatsServerBinary()).toMatch(/\/nats-server$/);
    expect(await findNatsServerBinary([dataDir])).toBeUndefined();
  });
});
