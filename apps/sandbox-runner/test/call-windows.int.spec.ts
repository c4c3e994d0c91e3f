import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES, names as namesFor, type Action, type CloudEvent, type InvocationsRecorded, type InvokeReply, type Names } from '@forgeone/contracts';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, eventually, provisionTestStorage, removeNamespace, repoRoot, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The registry runs in-process beside the runner: publish, install and upgrade go through its real commands.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { registryOptionsFromEnv } from '../../registry/src/registry.config.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { RegistryModule } from '../../registry/src/registry.module.js';
import { sandboxRunnerOptionsFromEnv } from '../src/sandbox-runner.config.js';
import { SandboxRunner, sandboxRunnerConsumer, SandboxRunnerModule } from '../src/sandbox-runner.module.js';

const helloDir = join(repoRoot(), 'examples', 'plugins', 'hello');
const helloManifest = JSON.parse(readFileSync(join(helloDir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const helloWat = readFileSync(join(helloDir, 'plugin.wat'), 'utf8');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function wat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('plugin.wat', text);
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

const SERVICE_KEY = 'call-windows-test-service-key-0123456789';
const RULES: Record<string, readonly Action[]> = {
  developer: ['publish', 'install', 'upgrade', 'invoke', 'read', 'hook:log', 'hook:metrics', 'hook:clock', 'hook:config'],
  caller: ['invoke', 'hook:log', 'hook:metrics', 'hook:clock', 'hook:config'],
  viewer: ['read'],
};
const TOKENS = {
  'tok-dev': { id: 'alice', tenant: 'acme', role: 'developer' },
  'tok-caller': { id: 'bob', tenant: 'acme', role: 'caller' },
  'tok-viewer': { id: 'vera', tenant: 'acme', role: 'viewer' },
};
const DEV = 'Bearer tok-dev';
// Longer than any test waits: a window written sooner was written by a flush, not by its timer.
const WINDOW_MS = 10_000;
const writers = createTestEventWriters();

// Nearest-rank percentile of exact values, as HdrHistogram defines it.
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('sandbox-runner - call windows', () => {
  // Alice's calls answered by the new version, which fall into the window after the swap.
  const afterSwap: number[] = [];
  const namespace = testNamespace('win');
  let names: Names;
  const connections: NatsConnection[] = [];
  let nc: NatsConnection;
  let registry: INestMicroservice;
  let runnerApp: INestMicroservice;
  let client: BusClient;
  let responder: TestAuthzResponder;

  const connect = async (name: string) => {
    const c = await connectNats(TEST_NATS_URL, name);
    connections.push(c);
    return c;
  };

  beforeAll(async () => {
    names = namesFor(namespace);
    nc = await connect('windows-test');
    await provisionTestStorage(namespace);
    const credential = serviceCredential('registry', SERVICE_KEY);
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: credential });
    const logger = createLogger('sandbox-runner', 'silent');

    const regConn = await connect('registry-in-test');
    const regAuthorship = writers.authorship(names, 'registry');
    const regContext = { config: {} as never, connection: regConn, names, logger, authorship: regAuthorship, busModule: BusModule.forRoot({ connection: regConn, names, authorship: regAuthorship }) };
    registry = await NestFactory.createMicroservice(RegistryModule.forRoot(regContext, registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY })), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: regConn, logger, authorship: regAuthorship }),
      logger: false,
    });
    await registry.listen();

    const runConn = await connect('runner-in-test');
    const options = { ...sandboxRunnerOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_RUNNER_ID: 'win-test', FORGEONE_CALL_WINDOW_MS: String(WINDOW_MS) }), serviceCredential: () => credential };
    const runAuthorship = writers.authorship(names, 'sandbox-runner');
    const runContext = { config: {} as never, connection: runConn, names, logger, authorship: runAuthorship, busModule: BusModule.forRoot({ connection: runConn, names, authorship: runAuthorship }) };
    const started: { runner?: SandboxRunner } = {};
    runnerApp = await NestFactory.createMicroservice(SandboxRunnerModule.forRoot(runContext, options), {
      // As runBusService wires it: the open window is written before the connection drains.
      strategy: new ForgeOneBusServer({
        service: 'sandbox-runner',
        names,
        connection: runConn,
        logger,
        authorship: runAuthorship,
        consumer: sandboxRunnerConsumer(names, options),
        beforeDisconnect: () => started.runner!.calls.flush(),
      }),
      logger: false,
    });
    await runnerApp.listen();
    started.runner = runnerApp.get(SandboxRunner);
    client = new BusClient(nc, names);
  }, 60_000);

  afterAll(async () => {
    await responder?.stop();
    await runnerApp?.close();
    await registry?.close();
    await new Kvm(nc).open(names.pluginKvBucket).then((kv) => kv.destroy()).catch(() => undefined);
    for (const c of connections) if (!c.isClosed()) await c.close();
    await removeNamespace(namespace);
  }, 30_000);

  const registryCommand = <T = unknown>(verb: string, body: unknown, credential = DEV) => client.request<T>('registry', verb, body, { credential });
  const call = (handler: string, input: string, credential = DEV) =>
    client.requestSubject<InvokeReply>(names.invoke('staging', 'forgeone/hello'), { handler, input }, { credential, timeoutMs: 10_000 });

  async function summaries(): Promise<Array<CloudEvent & { data: InvocationsRecorded['data'] }>> {
    const events = await writers.store(nc, names).read(INVOCATION_AGGREGATE, 'acme');
    return events.map((e) => e.event).filter((e) => e.type === INVOCATION_EVENT_TYPES.invocationsRecorded) as Array<CloudEvent & { data: InvocationsRecorded['data'] }>;
  }

  it('hot swap - the calls of the old version are written before it is unloaded, long before the window would close', async () => {
    await registryCommand('publish', { manifest: helloManifest, wasm: b64(await wat(helloWat)) });
    await registryCommand('publish', { manifest: { ...helloManifest, version: '1.0.1' }, wasm: b64(await wat(helloWat.replace('"hello, "', '"howdy, "'))) });
    await registryCommand('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' });
    for (let i = 0; i < 3; i++) expect((await call('greet', 'x')).version).toBe('1.0.0');
    expect(await summaries()).toEqual([]);
    const swapped = Date.now();
    await registryCommand('upgrade', { name: 'forgeone/hello', version: '1.0.1', environment: 'staging' });
    await eventually(async () => {
      const reply = await call('greet', 'x');
      if (reply.version === '1.0.1') afterSwap.push(reply.durationMs);
      return reply.version === '1.0.1';
    }, 'the new version serving');
    const [old] = await eventually(async () => {
      const s = await summaries();
      return s.length > 0 ? s : undefined;
    }, 'the old version\'s window written', WINDOW_MS / 2);
    expect(Date.now() - swapped).toBeLessThan(WINDOW_MS);
    // Three calls, and those made to see the new version serve that the old one still answered.
    expect(old.data).toMatchObject({ tenant: 'acme', plugin: 'forgeone/hello', version: '1.0.0', environment: 'staging', principal: 'alice', failures: {} });
    expect(old.data.count).toBeGreaterThanOrEqual(3);
    expect(old.data.window).toMatchObject({ runner: 'win-test', sequence: 1, part: 1, parts: 1 });
  }, 60_000);

  it('shutdown - the open window is written with counts, failures and percentiles per caller', async () => {
    const durations: number[] = [...afterSwap];
    for (let i = 0; i < 40; i++) {
      const reply = await call('greet', `caller ${i}`);
      durations.push(reply.durationMs);
    }
    for (let i = 0; i < 5; i++) await call('greet', 'bob', 'Bearer tok-caller');
    await expect(call('greet', 'vera', 'Bearer tok-viewer')).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    const before = (await summaries()).length;
    await runnerApp.close();

    const written = (await summaries()).slice(before);
    // The window opened after the swap's flush, so it is the runner's second; one part per caller.
    expect(written.map((e) => e.data.window.sequence)).toEqual([2, 2, 2]);
    expect(written.map((e) => e.data.window.part).sort()).toEqual([1, 2, 3]);
    expect(written.every((e) => e.data.window.parts === 3)).toBe(true);
    const of = (principal: string) => written.find((e) => e.data.principal === principal)!.data;

    const alice = of('alice');
    // The call that saw the new version serve after the swap is in this window too.
    expect(alice.count).toBe(durations.length);
    expect(alice).toMatchObject({ version: '1.0.1', failures: {} });
    expect(alice.fuelTotal).toBeGreaterThan(0);
    expect(alice.bytesOut).toBeGreaterThan(0);
    expect(of('bob')).toMatchObject({ count: 5, failures: {}, version: '1.0.1' });
    const vera = of('vera');
    expect(vera).toMatchObject({ count: 1, failures: { 'AUTHZ.DENIED': 1 }, durationMs: null, fuelTotal: 0 });
    expect(vera.version).toBeUndefined();

    // Alice's percentiles against the exact ones of the durations she was answered (0.1 % precision, µs resolution).
    const sorted = [...durations].sort((a, b) => a - b);
    const close = (hdr: number, exact: number) => expect(Math.abs(hdr - exact)).toBeLessThanOrEqual(exact * 0.002 + 0.001);
    close(alice.durationMs!.p50, percentile(sorted, 50));
    close(alice.durationMs!.p95, percentile(sorted, 95));
    close(alice.durationMs!.p99, percentile(sorted, 99));
    close(alice.durationMs!.max, sorted.at(-1)!);
    const d = alice.durationMs!;
    expect(d.p50).toBeLessThanOrEqual(d.p95);
    expect(d.p95).toBeLessThanOrEqual(d.p99);
    expect(d.p99).toBeLessThanOrEqual(d.max);
  }, 60_000);
});
