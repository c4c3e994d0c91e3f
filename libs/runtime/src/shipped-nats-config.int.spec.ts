import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChildProcess } from './child-process.util.js';
import { findRepoRoot } from './platform.js';
import { findFreePort, waitForTcpPort } from './tcp-port.util.js';

// infra/nats/nats-server.conf, run as shipped except for addresses and the store folder.
const USERS = ['registry', 'signer', 'policy', 'sandbox-runner', 'audit-projector', 'gateway', 'cli'] as const;
type User = (typeof USERS)[number];
// Signature verification results are recorded by every service that verifies (registry, runner, signer).
const OWNED: Record<User, readonly string[]> = {
  registry: ['plugin', 'signature'],
  signer: ['key', 'signature'],
  policy: ['policy', 'decision', 'token', 'platform'],
  'sandbox-runner': ['signature', 'invocation'],
  'audit-projector': [],
  gateway: [],
  cli: [],
};
const AGGREGATES = ['plugin', 'key', 'signature', 'policy', 'decision', 'token', 'invocation', 'platform', 'anything'];

describe('infra/nats/nats-server.conf', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const passwords = Object.fromEntries(USERS.map((user) => [user, `p${randomBytes(18).toString('hex')}`])) as Record<User, string>;
  const connections = new Map<User, NatsConnection>();
  const as = (user: User) => connections.get(user)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-nats-conf-'));
    const port = await findFreePort();
    const infra = join(findRepoRoot(), 'infra', 'nats');
    const shipped = await readFile(join(infra, 'nats-server.conf'), 'utf8');
    await copyFile(join(infra, 'accounts.conf'), join(dir, 'accounts.conf'));
    const local = shipped
      .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
      .replace(/^http: .*$/m, `http: 127.0.0.1:${await findFreePort()}`)
      .replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(join(dir, 'js'))}`);
    expect(local).not.toBe(shipped);
    await writeFile(join(dir, 'nats-server.conf'), local);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const user of USERS) env[`FORGEONE_NATS_${user.toUpperCase().replace('-', '_')}_PASSWORD`] = passwords[user];
    server = spawn('nats-server', ['-c', join(dir, 'nats-server.conf')], { env, stdio: 'ignore' });
    url = `nats://127.0.0.1:${port}`;
    await waitForTcpPort('127.0.0.1', port, 10_000, () => (server.exitCode !== null ? new Error('nats-server exited') : undefined));
    for (const user of USERS) connections.set(user, await connect({ servers: url, user, pass: passwords[user] }));
    await (await jetstreamManager(as('registry'))).streams.add({
      name: 'FORGEONE_EVENTS',
      subjects: ['forgeone.evt.>'],
      deny_delete: true,
      deny_purge: true,
    });
  });

  afterAll(async () => {
    for (const nc of connections.values()) await nc.close();
    if (server) await stopChildProcess(server, 5_000);
    await rm(dir, { recursive: true, force: true });
  });

  it('nats config - only the owning service may append its events', async () => {
    const outcomes: Record<string, string[]> = {};
    for (const user of USERS) {
      outcomes[user] = [];
      for (const aggregate of AGGREGATES) {
        try {
          await jetstream(as(user)).publish(`forgeone.evt.${aggregate}.id1`, 'x', { timeout: 2_000 });
          outcomes[user].push(aggregate);
        } catch (error) {
          expect((error as Error).message).toMatch(/Permissions Violation for Publish/);
        }
      }
    }
    expect(outcomes).toEqual(Object.fromEntries(USERS.map((user) => [user, [...OWNED[user]]])));
    const info = await (await jetstreamManager(as('gateway'))).streams.info('FORGEONE_EVENTS');
    expect(info.state.messages).toBe(Object.values(OWNED).flat().length);
  });

  it('nats config - every user may send commands, and services may answer them', async () => {
    const subscription = as('registry').subscribe('forgeone.cmd.registry.ping', {
      callback: (_error, msg) => {
        msg.respond(`pong:${msg.string()}`);
      },
    });
    await as('registry').flush();
    for (const user of USERS) {
      const reply = await as(user).request('forgeone.cmd.registry.ping', user, { timeout: 2_000 });
      expect(reply.string()).toBe(`pong:${user}`);
    }
    subscription.unsubscribe();
  });

  it('nats config - nobody may delete the stream or its messages', async () => {
    for (const user of USERS) {
      const jsm = await jetstreamManager(as(user));
      await expect(jsm.streams.delete('FORGEONE_EVENTS')).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.deleteMessage('FORGEONE_EVENTS', 1)).rejects.toThrow(/Permissions Violation/);
    }
    expect((await (await jetstreamManager(as('cli'))).streams.info('FORGEONE_EVENTS')).config.name).toBe('FORGEONE_EVENTS');
  });

  it('nats config - readers can consume and acknowledge events, and read artifacts the registry stored', async () => {
    const projector = as('audit-projector');
    const jsm = await jetstreamManager(projector);
    await jsm.consumers.add('FORGEONE_EVENTS', { durable_name: 'projector-check', ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(projector).consumers.get('FORGEONE_EVENTS', 'projector-check');
    const message = await consumer.next({ expires: 2_000 });
    expect(message).not.toBeNull();
    await message!.ackAck();
    expect((await jsm.consumers.info('FORGEONE_EVENTS', 'projector-check')).ack_floor.stream_seq).toBe(message!.seq);
    await jsm.consumers.delete('FORGEONE_EVENTS', 'projector-check');

    const bucket = await new Objm(as('registry')).create('forgeone-artifacts-check');
    await bucket.putBlob({ name: 'sha256-abc' }, new TextEncoder().encode('wasm bytes'));
    const readerBucket = await new Objm(as('sandbox-runner')).open('forgeone-artifacts-check');
    expect(new TextDecoder().decode((await readerBucket.getBlob('sha256-abc'))!)).toBe('wasm bytes');
    // Only the registry writes artifacts.
    await expect(readerBucket.putBlob({ name: 'sha256-evil' }, new Uint8Array([1]))).rejects.toThrow(/Permissions Violation/);
  });

  it('nats config - a wrong password or no user is refused', async () => {
    await expect(connect({ servers: url, user: 'gateway', pass: 'wrong' })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: url })).rejects.toThrow(/Authorization Violation/);
  });
});
