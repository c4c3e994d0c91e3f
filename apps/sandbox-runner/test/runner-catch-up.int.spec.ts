import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as namesFor, tenantAggregateId, type Action, type InvokeReply, type Names } from '@forgeone/contracts';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, provisionTestStorage, removeNamespace, repoRoot, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The registry runs in-process to publish and install through its real commands; it exports no library entry.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { registryOptionsFromEnv } from '../../registry/src/registry.config.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { RegistryModule } from '../../registry/src/registry.module.js';
import { sandboxRunnerOptionsFromEnv } from '../src/sandbox-runner.config.js';
import { SandboxRunner, sandboxRunnerConsumer, SandboxRunnerModule } from '../src/sandbox-runner.module.js';

const helloDir = join(repoRoot(), 'examples', 'plugins', 'hello');
const manifest = { ...(JSON.parse(readFileSync(join(helloDir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>), name: 'acme/hello' };
const wasm = readFileSync(join(helloDir, 'plugin.wasm')).toString('base64');
const SERVICE_KEY = 'catch-up-test-service-key-0123456789abcdef';
const RULES: Record<string, readonly Action[]> = { developer: ['publish', 'install', 'invoke', 'hook:log', 'hook:metrics', 'hook:clock', 'hook:config'] };
const DEV = 'Bearer tok-dev';
// Plugin events a starting runner reads before it may take a call: enough that reading them takes seconds.
const BACKLOG = 1_000;
const CLIENTS = 1;
const writers = createTestEventWriters();

describe('sandbox-runner - a starting runner takes calls only once it has read the plugin events', () => {
  const namespace = testNamespace('catchup');
  const names: Names = namesFor(namespace);
  const connections: NatsConnection[] = [];
  const apps: INestMicroservice[] = [];
  const credential = serviceCredential('registry', SERVICE_KEY);
  let nc: NatsConnection;
  let client: BusClient;
  let responder: TestAuthzResponder;
  const logger = createLogger('sandbox-runner', 'silent');

  const connect = async (name: string) => {
    const c = await connectNats(TEST_NATS_URL, name);
    connections.push(c);
    return c;
  };

  /** A runner of its own identity, created but not yet listening. */
  const createRunner = async (id: string) => {
    const conn = await connect(`runner-${id}`);
    const options = { ...sandboxRunnerOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_RUNNER_ID: id }), serviceCredential: () => credential };
    const authorship = writers.authorship(names, 'sandbox-runner');
    const context = { config: {} as never, connection: conn, names, logger, authorship, busModule: BusModule.forRoot({ connection: conn, names, authorship }) };
    const app = await NestFactory.createMicroservice(SandboxRunnerModule.forRoot(context, options), {
      strategy: new ForgeOneBusServer({ service: 'sandbox-runner', names, connection: conn, logger, authorship, consumer: sandboxRunnerConsumer(names, options) }),
      logger: false,
    });
    apps.push(app);
    return app;
  };

  const call = () => client.requestSubject<InvokeReply>(names.invoke('staging', 'acme/hello'), { handler: 'greet', input: 'x' }, { credential: DEV, timeoutMs: 10_000 });

  beforeAll(async () => {
    nc = await connect('catch-up-test');
    client = new BusClient(nc, names);
    await provisionTestStorage(namespace);
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: { 'tok-dev': { id: 'alice', tenant: 'acme', role: 'developer' } }, rules: RULES, serviceCredential: credential });

    const regConn = await connect('registry-in-test');
    const regAuthorship = writers.authorship(names, 'registry');
    const regContext = { config: {} as never, connection: regConn, names, logger, authorship: regAuthorship, busModule: BusModule.forRoot({ connection: regConn, names, authorship: regAuthorship }) };
    const registry = await NestFactory.createMicroservice(RegistryModule.forRoot(regContext, registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_TEST_ON_INSTALL: '' })), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: regConn, logger, authorship: regAuthorship }),
      logger: false,
    });
    await registry.listen();
    const { digest } = await client.request<{ digest: string }>('registry', 'publish', { manifest, wasm }, { credential: DEV });
    await client.request('registry', 'install', { name: 'acme/hello', version: '1.0.0', environment: 'staging' }, { credential: DEV });
    // Only the events below matter from here on: the registry would read them too.
    await registry.close();
    // The first runner reads the events below as they are appended, and serves meanwhile.
    await (await createRunner('first')).listen();

    // The plugin installed in and removed from another environment, over and over: its latest change is the last of these.
    const store = writers.store(nc, names, 'registry');
    const change = (i: number) => ({
      id: randomUUID(),
      type: i % 2 === 0 ? PLUGIN_EVENT_TYPES.installed : PLUGIN_EVENT_TYPES.removed,
      data: i % 2 === 0 ? { name: 'acme/hello', version: '1.0.0', digest, environment: 'dev' } : { name: 'acme/hello', version: '1.0.0', environment: 'dev' },
      time: new Date().toISOString(),
      actor: 'alice',
      tenant: 'acme',
      source: 'forgeone/registry',
    });
    for (let i = 0; i < BACKLOG; i += 200) {
      await store.append(PLUGIN_AGGREGATE, tenantAggregateId('acme', 'acme/hello'), Array.from({ length: 200 }, (_, k) => change(i + k)), { expectedSequence: 'any' });
    }
  }, 180_000);

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await responder?.stop();
    await new Kvm(nc).open(names.pluginKvBucket).then((kv) => kv.destroy()).catch(() => undefined);
    for (const c of connections) if (!c.isClosed()) await c.close();
    await removeNamespace(namespace);
  }, 60_000);

  it('a second runner started under load takes no call before its table holds the plugin events, and no call fails', async () => {
    expect((await call()).output).toBe('hello, x');

    const jsm = await jetstreamManager(nc);
    const target = (await jsm.streams.getMessage(names.stream, { last_by_subj: names.aggregateEvents(PLUGIN_AGGREGATE) }))!.seq;
    const second = await createRunner('second');
    const { invoker, installations } = second.get(SandboxRunner);
    // Where the second runner's table stood when each call reached it.
    const seenAt: number[] = [];
    const invoke = invoker.invoke.bind(invoker);
    invoker.invoke = (...args) => {
      seenAt.push(installations.sequence);
      return invoke(...args);
    };

    const outcomes: string[] = [];
    let calling = true;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (calling) outcomes.push(await call().then((r) => r.output ?? `(bytes) ${r.outputBase64}`, (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`));
    });
    try {
      await second.listen();
      // The queue group now spreads the calls over both runners.
      await expect.poll(() => seenAt.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
    } finally {
      calling = false;
      await Promise.all(clients);
    }

    expect(installations.sequence).toBeGreaterThanOrEqual(target);
    expect(Math.min(...seenAt)).toBeGreaterThanOrEqual(target);
    expect(outcomes.filter((o) => o !== 'hello, x')).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(seenAt.length);
  }, 120_000);
});
