import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { aggregateOwner, busPermissions, EVENT_OWNERSHIP, names as namesFor, SERVICES, type ServiceName } from '@forgeone/contracts';
import { provisionPlatformStorage } from '@forgeone/event-store';
import { TEST_STORAGE_SETTINGS } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsClient, natsCredentialsPath, revokeNatsClient } from './nats-credentials.js';
import { reloadManagedNats, startNats, type NatsHandle } from './nats-server.js';
import { natsCredentialOptions, serviceNatsConnectionOptions } from './nats-url.js';

// The NATS server `npm start` runs, with the users and permissions generated from the table in libs/contracts.
describe('managed NATS permissions', () => {
  const names = namesFor('perm');
  const p = 'perm.';
  let dataDir: string;
  let nats: NatsHandle;
  let operator: NatsConnection;
  const services = new Map<ServiceName, NatsConnection>();
  const as = (service: ServiceName) => services.get(service)!;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forgeone-nats-perm-'));
    nats = await startNats({ dataDir, namespace: names.namespace });
    operator = await connect({ servers: nats.url, ...natsCredentialOptions(nats.operatorCredential!), inboxPrefix: '_INBOX_perm_operator' });
    await provisionPlatformStorage(operator, names, TEST_STORAGE_SETTINGS);
    for (const service of SERVICES) {
      services.set(service, await connect({ ...serviceNatsConnectionOptions(nats.url, service, names, { FORGEONE_NATS_CREDENTIAL: nats.serviceCredentials[service] }) }));
    }
  });

  afterAll(async () => {
    for (const nc of services.values()) await nc.close().catch(() => undefined);
    await operator?.close().catch(() => undefined);
    await nats?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('managed NATS - an anonymous client, a wrong key and no credential are refused', async () => {
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: nats.url, user: 'registry', pass: 'guess', maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
  });

  it('managed NATS - credentials are kept in the data folder with mode 0600 and stay the same across restarts', async () => {
    const path = natsCredentialsPath(dataDir);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
    const file = JSON.parse(await readFile(path, 'utf8')) as { services: Record<string, string> };
    expect(file.services.registry).toBe(nats.serviceCredentials.registry);
    // nats-server's configuration holds public keys only.
    const config = await readFile(join(dataDir, 'nats', 'authorization.conf'), 'utf8');
    for (const seed of Object.values(file.services)) expect(config).not.toContain(seed);
    expect(config).toContain('nkey: "U');
  });

  it("managed NATS - each service may append only its own aggregates' events", async () => {
    const appended: Record<string, string[]> = {};
    for (const service of SERVICES) {
      appended[service] = [];
      for (const aggregate of [...Object.keys(EVENT_OWNERSHIP), 'unowned']) {
        try {
          await jetstream(as(service)).publish(`${p}forgeone.evt.${aggregate}.id1`, 'x', { timeout: 2_000 });
          appended[service].push(aggregate);
        } catch (error) {
          expect((error as Error).message, `${service} on ${aggregate}`).toMatch(/Permissions Violation for Publish/);
        }
      }
    }
    const expected = Object.fromEntries(SERVICES.map((service) => [service, Object.keys(EVENT_OWNERSHIP).filter((aggregate) => aggregateOwner(aggregate) === service)]));
    expect(appended).toEqual(expected);
    const info = await (await jetstreamManager(operator)).streams.info(names.stream);
    expect(info.state.messages).toBe(Object.keys(EVENT_OWNERSHIP).length);
  });

  it('managed NATS - only the service that answers a command subject may subscribe to it', async () => {
    const served: Array<[ServiceName, string]> = [
      ['registry', `${p}forgeone.cmd.registry.publish`],
      ['signer', `${p}forgeone.cmd.signer.trust_key`],
      ['policy', `${p}forgeone.cmd.policy.issue_token`],
      ['policy', names.authzCheck],
      ['sandbox-runner', names.invoke('staging', 'acme/hello')],
    ];
    for (const [owner, subject] of served) {
      for (const service of SERVICES) {
        expect(await canSubscribe(as(service), subject), `${service} on ${subject}`).toBe(service === owner);
      }
    }
    // Nobody but the operator listens to every command, nor to another principal's replies.
    for (const service of SERVICES) {
      expect(await canSubscribe(as(service), `${p}forgeone.cmd.>`), service).toBe(false);
      expect(await canSubscribe(as(service), '_INBOX_perm_gateway.>'), service).toBe(service === 'gateway');
      expect(await canSubscribe(as(service), '_INBOX.>'), service).toBe(false);
    }
  });

  it('managed NATS - no service may create, update, purge or delete the stream', async () => {
    for (const service of SERVICES) {
      const jsm = await jetstreamManager(as(service), { checkAPI: false });
      const info = await jsm.streams.info(names.stream);
      await expect(jsm.streams.update(names.stream, { ...info.config, max_msgs: 5 }), service).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.purge(names.stream), service).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.delete(names.stream), service).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.add({ name: `${names.stream}_X`, subjects: [`${p}x.>`] }), service).rejects.toThrow(/Permissions Violation/);
    }
    const info = await (await jetstreamManager(operator)).streams.info(names.stream);
    expect(info.config.max_msgs).toBe(-1);
    expect(info.state.messages).toBe(Object.keys(EVENT_OWNERSHIP).length);
  });

  it('managed NATS - a service request is answered by the owner through the caller inbox', async () => {
    const sub = as('registry').subscribe(`${p}forgeone.cmd.registry.ping`, { callback: (_error, msg) => void msg.respond(`pong:${msg.string()}`) });
    await as('registry').flush();
    const reply = await as('gateway').request(`${p}forgeone.cmd.registry.ping`, 'gateway', { timeout: 2_000 });
    expect(reply.string()).toBe('pong:gateway');
    sub.unsubscribe();
  });

  it('managed NATS - an automation client sends commands and reads replies, but cannot touch events or the stream; revoking it closes it out', { timeout: 120_000 }, async () => {
    const { seed } = await createNatsClient(dataDir, 'release-bot');
    expect(await reloadManagedNats(dataDir)).toBe(true);
    const permissions = busPermissions(names, { kind: 'client', name: 'release-bot' });
    // Each attempt is bounded: on a loaded machine the server may take a while to apply the reload.
    const client = await connectEventually(() => connect({ servers: nats.url, ...natsCredentialOptions(seed), inboxPrefix: permissions.inboxPrefix, maxReconnectAttempts: 0, timeout: 5_000 }));
    try {
      const sub = as('registry').subscribe(`${p}forgeone.cmd.registry.ping`, { callback: (_error, msg) => void msg.respond(`pong:${msg.string()}`) });
      await as('registry').flush();
      // Room for a loaded machine: the reply must come, however slowly; what is refused is asserted below.
      expect((await client.request(`${p}forgeone.cmd.registry.ping`, 'bot', { timeout: 10_000 })).string()).toBe('pong:bot');
      sub.unsubscribe();

      await expect(jetstream(client).publish(`${p}forgeone.evt.plugin.acme~3ahello`, 'forged', { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish/);
      await expect((await jetstreamManager(client, { checkAPI: false })).streams.info(names.stream)).rejects.toThrow(/Permissions Violation/);
      expect(await canSubscribe(client, `${p}forgeone.evt.>`)).toBe(false);
      expect(await canSubscribe(client, `${p}forgeone.cmd.registry.>`)).toBe(false);
      await expect(client.request(`${p}forgeone.health.registry`, '', { timeout: 1_000 })).rejects.toThrow(/Permissions Violation/);

      await revokeNatsClient(dataDir, 'release-bot');
      expect(await reloadManagedNats(dataDir)).toBe(true);
      await waitFor(() => client.isClosed());
      await expect(connect({ servers: nats.url, ...natsCredentialOptions(seed), maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

// A permission violation for a subscription arrives before the PONG of the flush that follows it.
async function canSubscribe(nc: NatsConnection, subject: string): Promise<boolean> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  await delay(20);
  const allowed = !sub.isClosed();
  if (allowed) sub.unsubscribe();
  return allowed;
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(50);
  }
}

// nats-server applies a reload asynchronously after SIGHUP.
async function connectEventually(attempt: () => Promise<NatsConnection>, timeoutMs = 60_000): Promise<NatsConnection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(100);
    }
  }
}
