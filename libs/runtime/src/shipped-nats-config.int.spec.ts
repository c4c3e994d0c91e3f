import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregateOwner, busInboxPrefix, EVENT_OWNERSHIP, names as namesFor, SERVICE_PRINCIPALS, SERVICES, type BusPrincipal, type ServiceName } from '@forgeone/contracts';
import { provisionPlatformStorage } from '@forgeone/event-store';
import { TEST_STORAGE_SETTINGS } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChildProcess } from './child-process.util.js';
import { natsPasswordVariable, renderPasswordAccounts } from './nats-authorization.js';
import { findRepoRoot } from './platform.js';
import { findFreePort, waitForTcpPort } from './tcp-port.util.js';

// infra/nats/nats-server.conf and accounts.conf (for docker compose and shared servers), run as shipped except for addresses.
describe('infra/nats/nats-server.conf', () => {
  const names = namesFor('');
  const infra = join(findRepoRoot(), 'infra', 'nats');
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const principals: BusPrincipal[] = [{ kind: 'operator' }, ...SERVICE_PRINCIPALS];
  const passwords = new Map(principals.map((principal) => [natsPasswordVariable(principal), `p${randomBytes(18).toString('hex')}`]));
  const connections = new Map<ServiceName | 'operator', NatsConnection>();
  const as = (user: ServiceName | 'operator') => connections.get(user)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-nats-conf-'));
    const port = await findFreePort();
    const shipped = await readFile(join(infra, 'nats-server.conf'), 'utf8');
    await copyFile(join(infra, 'accounts.conf'), join(dir, 'accounts.conf'));
    const local = shipped
      .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
      .replace(/^http: .*$/m, `http: 127.0.0.1:${await findFreePort()}`)
      .replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(join(dir, 'js'))}`);
    expect(local).not.toBe(shipped);
    await writeFile(join(dir, 'nats-server.conf'), local);
    server = spawn('nats-server', ['-c', join(dir, 'nats-server.conf')], { env: { PATH: process.env.PATH, ...Object.fromEntries(passwords) }, stdio: 'ignore' });
    url = `nats://127.0.0.1:${port}`;
    await waitForTcpPort('127.0.0.1', port, 10_000, () => (server.exitCode !== null ? new Error('nats-server exited') : undefined));
    for (const principal of principals) {
      const user = principal.kind === 'service' ? principal.service : 'operator';
      connections.set(user, await connect({ servers: url, user, pass: passwords.get(natsPasswordVariable(principal)), inboxPrefix: busInboxPrefix(names, principal) }));
    }
    await provisionPlatformStorage(as('operator'), names, TEST_STORAGE_SETTINGS);
  });

  afterAll(async () => {
    for (const nc of connections.values()) await nc.close();
    if (server) await stopChildProcess(server, 5_000);
    await rm(dir, { recursive: true, force: true });
  });

  it('nats config - accounts.conf is the one generated from the permission table', async () => {
    expect(await readFile(join(infra, 'accounts.conf'), 'utf8')).toBe(renderPasswordAccounts(names));
  });

  it('nats config - only the owning service may append its events', async () => {
    const appended: Record<string, string[]> = {};
    for (const service of SERVICES) {
      appended[service] = [];
      for (const aggregate of Object.keys(EVENT_OWNERSHIP)) {
        try {
          await jetstream(as(service)).publish(`forgeone.evt.${aggregate}.id1`, 'x', { timeout: 2_000 });
          appended[service].push(aggregate);
        } catch (error) {
          expect((error as Error).message).toMatch(/Permissions Violation for Publish/);
        }
      }
    }
    expect(appended).toEqual(Object.fromEntries(SERVICES.map((service) => [service, Object.keys(EVENT_OWNERSHIP).filter((a) => aggregateOwner(a) === service)])));
  });

  it('nats config - no service may change or delete the stream; the operator may', async () => {
    for (const service of SERVICES) {
      const jsm = await jetstreamManager(as(service), { checkAPI: false });
      const info = await jsm.streams.info(names.stream);
      await expect(jsm.streams.update(names.stream, { ...info.config, max_msgs: 5 })).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.delete(names.stream)).rejects.toThrow(/Permissions Violation/);
    }
    const jsm = await jetstreamManager(as('operator'));
    const info = await jsm.streams.info(names.stream);
    expect((await jsm.streams.update(names.stream, { ...info.config, max_msgs: 1_000_000 })).config.max_msgs).toBe(1_000_000);
  });

  it('nats config - a wrong password or no user is refused', async () => {
    await expect(connect({ servers: url, user: 'gateway', pass: 'wrong', maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: url, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
  });
});
