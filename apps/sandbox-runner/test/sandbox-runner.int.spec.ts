// Over 400 lines: the scenarios share the service's setup on real servers and its helpers; split into files,
// each would repeat that setup.
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import {
  ForgeOneError,
  INVOCATION_AGGREGATE,
  INVOCATION_EVENT_TYPES,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  RUNNER_SIGNATURE_AGGREGATE,
  RUNNER_SIGNATURE_EVENT_TYPES,
  SIGNATURE_AGGREGATE,
  names as namesFor,
  type Action,
  type CloudEvent,
  type InvokeReply,
  type Names,
  type PluginStorageReply,
  cloudEvent,
} from '@forgeone/contracts';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, provisionTestStorage, removeNamespace, repoRoot, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The registry runs in-process beside the runner: publish and install go through its real commands.
// The registry app exports no library entry, so the test reaches its module by path.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { registryOptionsFromEnv } from '../../registry/src/registry.config.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { RegistryModule } from '../../registry/src/registry.module.js';
// The example builder is a plain script of the repository, not a project: it builds the storage test plugin.
/* eslint-disable @nx/enforce-module-boundaries */
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildExample } from '../../../examples/plugins/plugin-builder.mjs';
/* eslint-enable @nx/enforce-module-boundaries */
import { sandboxRunnerOptionsFromEnv } from '../src/sandbox-runner.config.js';
import { SandboxRunner, sandboxRunnerConsumer, SandboxRunnerModule } from '../src/sandbox-runner.module.js';

const root = repoRoot();
const helloDir = join(root, 'examples', 'plugins', 'hello');
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

// Test fixture: a stand-in for the policy service; registry and runner share its service credential.
const SERVICE_KEY = 'runner-test-service-key-0123456789abcdef';
const HOOKS: Action[] = ['hook:log', 'hook:metrics', 'hook:clock', 'hook:config', 'hook:storage', 'hook:auth'];
const RULES: Record<string, readonly Action[]> = {
  developer: ['publish', 'install', 'upgrade', 'rollback', 'remove', 'invoke', 'read', ...HOOKS, 'hook:http'],
  // May call plugins, but policy keeps plugins it calls away from the network.
  caller: ['invoke', ...HOOKS],
  // May call plugins, which may log and read the clock and config, nothing more.
  sealed: ['invoke', 'hook:log', 'hook:metrics', 'hook:clock', 'hook:config'],
  viewer: ['read'],
  // What the default policies give the platform administrator alone: letting a plugin reach a private address.
  root: ['publish', 'publish-private-egress', 'install', 'invoke', ...HOOKS, 'hook:http'],
};
const TOKENS = {
  'tok-dev': { id: 'alice', tenant: 'acme', role: 'developer' },
  'tok-caller': { id: 'bob', tenant: 'acme', role: 'caller' },
  'tok-sealed': { id: 'sam', tenant: 'acme', role: 'sealed' },
  'tok-viewer': { id: 'vera', tenant: 'acme', role: 'viewer' },
  'tok-initech': { id: 'ian', tenant: 'initech', role: 'developer' },
  'tok-root': { id: 'root', tenant: 'acme', role: 'root' },
};
// Every tenant's storage total in this test: small, so two plugins of one tenant reach it.
const TENANT_STORAGE_KEYS = 8;
const DEV = 'Bearer tok-dev';
// Environment `vault` is audit for the registry but strict for the runner: the runner's own check
// before instantiation is what refuses there.
const REGISTRY_SIGNATURE_POLICY = '{"vault":{"mode":"audit"}}';
const RUNNER_SIGNATURE_POLICY = '{"vault":{"mode":"strict"}}';
const writers = createTestEventWriters();

describe('sandbox-runner - invocations on the bus', () => {
  const namespace = testNamespace('run');
  let names: Names;
  const connections: NatsConnection[] = [];
  let nc: NatsConnection;
  let registry: INestMicroservice;
  let runnerApp: INestMicroservice;
  let runner: SandboxRunner;
  let client: BusClient;
  let responder: TestAuthzResponder;
  let web: Server;
  let webPort = 0;

  const connect = async (name: string) => {
    const c = await connectNats(TEST_NATS_URL, name);
    connections.push(c);
    return c;
  };

  beforeAll(async () => {
    names = namesFor(namespace);
    nc = await connect('runner-test');
    await provisionTestStorage(namespace);
    const credential = serviceCredential('registry', SERVICE_KEY);
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: credential });
    const logger = createLogger('sandbox-runner', 'silent');

    const regConn = await connect('registry-in-test');
    const regAuthorship = writers.authorship(names, 'registry');
    const regContext = { config: {} as never, connection: regConn, names, logger, authorship: regAuthorship, busModule: BusModule.forRoot({ connection: regConn, names, authorship: regAuthorship }) };
    registry = await NestFactory.createMicroservice(RegistryModule.forRoot(regContext, registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_SIGNATURE_POLICY: REGISTRY_SIGNATURE_POLICY, FORGEONE_TEST_ON_INSTALL: '' })), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: regConn, logger, authorship: regAuthorship }),
      logger: false,
    });
    await registry.listen();

    const runConn = await connect('runner-in-test');
    const options = { ...sandboxRunnerOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_RUNNER_ID: 'test', FORGEONE_SIGNATURE_POLICY: RUNNER_SIGNATURE_POLICY, FORGEONE_STORAGE_TENANT_KEYS: String(TENANT_STORAGE_KEYS) }), serviceCredential: () => credential };
    const runAuthorship = writers.authorship(names, 'sandbox-runner');
    const runContext = { config: {} as never, connection: runConn, names, logger, authorship: runAuthorship, busModule: BusModule.forRoot({ connection: runConn, names, authorship: runAuthorship }) };
    runnerApp = await NestFactory.createMicroservice(SandboxRunnerModule.forRoot(runContext, options), {
      strategy: new ForgeOneBusServer({ service: 'sandbox-runner', names, connection: runConn, logger, authorship: runAuthorship, consumer: sandboxRunnerConsumer(names, options) }),
      logger: false,
    });
    await runnerApp.listen();
    runner = runnerApp.get(SandboxRunner);
    client = new BusClient(nc, names);

    web = createServer((req, res) => {
      if (req.url === '/hop') {
        res.writeHead(302, { location: 'http://example.invalid/elsewhere' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`pong ${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as { port: number }).port;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => web?.close(resolve));
    await responder?.stop();
    await runnerApp?.close();
    await registry?.close();
    await new Kvm(nc).open(names.pluginKvBucket).then((kv) => kv.destroy()).catch(() => undefined);
    for (const c of connections) if (!c.isClosed()) await c.close();
    await removeNamespace(namespace);
  }, 30_000);

  const registryCommand = <T = unknown>(verb: string, body: unknown, credential = DEV) => client.request<T>('registry', verb, body, { credential });
  const publish = async (manifest: Record<string, unknown>, wasm: Uint8Array, credential = DEV) => registryCommand<{ digest: string }>('publish', { manifest, wasm: b64(wasm) }, credential);
  const call = (plugin: string, handler: string, input: string, credential = DEV, environment = 'staging') =>
    client.requestSubject<InvokeReply>(names.invoke(environment, plugin), { handler, input }, { credential, timeoutMs: 10_000 });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('the call succeeded but was expected to fail');
      },
      (e: unknown) => e as ForgeOneError,
    );

  async function invocationEvents(): Promise<CloudEvent[]> {
    const events = await writers.store(nc, names).read(INVOCATION_AGGREGATE, 'acme');
    return events.map((e) => e.event);
  }

  // hello with another 7-byte greeting, as a new version's different code.
  function helloGreeting(greeting: string): Promise<Uint8Array> {
    expect(greeting).toHaveLength(7);
    const segment = '(data (i32.const 16) "hello, ")';
    expect(helloWat).toContain(segment);
    return wat(helloWat.replace(segment, `(data (i32.const 16) "${greeting}")`));
  }

  it('runs an installed plugin: greet answers "hello, world" with the version and fuel', async () => {
    await publish(helloManifest, await wat(helloWat));
    await registryCommand('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' });
    // No wait: the runner reads up to the install before it answers "not installed".
    const reply = await call('forgeone/hello', 'greet', 'world');
    expect(reply.output).toBe('hello, world');
    expect(reply.version).toBe('1.0.0');
    expect(reply.fuelUsed).toBeGreaterThan(0);
    // Successes are counted, not recorded one by one.
    expect((await invocationEvents()).length).toBe(0);
  });

  it('refuses a caller policy does not allow to invoke, with AUTHZ.DENIED and an event', async () => {
    const error = await failure(call('forgeone/hello', 'greet', 'world', 'Bearer tok-viewer'));
    expect(error.code).toBe('AUTHZ.DENIED');
    const failed = (await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.invocationFailed);
    expect(failed.at(-1)?.data).toMatchObject({ plugin: 'forgeone/hello', code: 'AUTHZ.DENIED', principal: 'vera', tenant: 'acme', environment: 'staging' });
  });

  it('answers SANDBOX.NOT_FOUND for a plugin not installed in that environment', async () => {
    const error = await failure(call('forgeone/hello', 'greet', 'world', DEV, 'production'));
    expect(error.code).toBe('SANDBOX.NOT_FOUND');
  });

  it('installs nothing from a plugin.installed the registry did not write: the call is refused at once', async () => {
    const subject = names.eventSubject(PLUGIN_AGGREGATE, 'acme:forgeone/hello');
    const [published] = (await writers.store(nc, names).read(PLUGIN_AGGREGATE, 'acme:forgeone/hello')).filter((e) => e.event.type === PLUGIN_EVENT_TYPES.versionPublished);
    const forged = (environment: string) =>
      new TextEncoder().encode(
        JSON.stringify(
          cloudEvent(PLUGIN_AGGREGATE, 'acme:forgeone/hello', {
            id: crypto.randomUUID(),
            type: PLUGIN_EVENT_TYPES.installed,
            subject: 'forgeone/hello',
            time: new Date().toISOString(),
            data: { name: 'forgeone/hello', version: '1.0.0', digest: (published.event.data as { digest: string }).digest, environment },
            actor: 'alice',
            tenant: 'acme',
          }),
        ),
      );
    const js = jetstream(nc);
    await js.publish(subject, forged('shadow'));
    const signedByRunner = forged('shadow');
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(writers.signatureHeaders('sandbox-runner', subject, signedByRunner))) hdrs.set(key, value);
    await js.publish(subject, signedByRunner, { headers: hdrs });
    const started = Date.now();
    expect((await failure(call('forgeone/hello', 'greet', 'world', DEV, 'shadow'))).code).toBe('SANDBOX.NOT_FOUND');
    // The refused messages count as read: the call does not wait out the install wait (2 s) for them.
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(runner.installations.list().some((i) => i.environment === 'shadow')).toBe(false);
    expect((await call('forgeone/hello', 'greet', 'world')).output).toBe('hello, world');
  });

  it('refuses an invoke subject naming no valid environment or plugin, every time, before anything else', async () => {
    const bad = (environment: string, plugin: string) =>
      failure(client.requestSubject<InvokeReply>(`${names.invoke('staging', 'forgeone/hello').split('.invoke.')[0]}.invoke.${environment}.${plugin}`, { handler: 'greet', input: 'x' }, { credential: DEV }));
    for (let attempt = 0; attempt < 2; attempt++) {
      const env = await bad('Not_An_Env', 'forgeone~2fhello');
      expect(env.code).toBe('COMMAND.INVALID');
      expect(env.message).toContain('the environment of the invoke subject');
      const plugin = await bad('staging', 'no-slash');
      expect(plugin.code).toBe('COMMAND.INVALID');
      expect(plugin.message).toContain('the plugin of the invoke subject');
    }
    // A valid subject still answers after the refusals.
    expect((await call('forgeone/hello', 'greet', 'world')).output).toBe('hello, world');
  });

  it('ends a hostile call at its limit with a sandbox_violation while other calls keep succeeding', async () => {
    const spin = readFileSync(join(root, 'test', 'hostile', 'infinite-loop-handler.wat'), 'utf8');
    const manifest = { name: 'evil/spin', version: '1.0.0', abi: 1, description: 'never returns', handlers: ['run'], capabilities: {}, limits: { memoryMiB: 1, fuel: 1e12, timeoutMs: 300, maxOutputBytes: 1024 } };
    await publish(manifest, await wat(spin));
    await registryCommand('install', { name: 'evil/spin', version: '1.0.0', environment: 'staging' });
    const hostile = failure(call('evil/spin', 'run', 'x'));
    const friendly = await Promise.all(Array.from({ length: 20 }, (_, i) => call('forgeone/hello', 'greet', `n${i}`)));
    expect(friendly.map((r) => r.output)).toEqual(Array.from({ length: 20 }, (_, i) => `hello, n${i}`));
    const error = await hostile;
    expect(error.code).toBe('SANDBOX.TIMEOUT');

    const fuelManifest = { ...manifest, name: 'evil/burn', limits: { ...manifest.limits, fuel: 100_000, timeoutMs: 5_000 } };
    await publish(fuelManifest, await wat(spin));
    await registryCommand('install', { name: 'evil/burn', version: '1.0.0', environment: 'staging' });
    expect((await failure(call('evil/burn', 'run', 'x'))).code).toBe('SANDBOX.FUEL_EXHAUSTED');

    const violations = (await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.sandboxViolation).map((e) => e.data);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ plugin: 'evil/spin', limit: 'timeout', code: 'SANDBOX.TIMEOUT', version: '1.0.0', tenant: 'acme', environment: 'staging', principal: 'alice' }),
        expect.objectContaining({ plugin: 'evil/burn', limit: 'fuel', code: 'SANDBOX.FUEL_EXHAUSTED' }),
      ]),
    );
    // The runner still serves.
    expect((await call('forgeone/hello', 'greet', 'again')).output).toBe('hello, again');
  });

  it('checks a module again before instantiating it: altered stored bytes never run, and a strict environment refuses an unsigned module', async () => {
    const manifest = { ...helloManifest, name: 'evil/tampered', version: '1.0.0' };
    // Bytes of its own (hello's would share a digest, and an artifact, with forgeone/hello).
    const { digest } = await publish(manifest, await wat(helloWat.replace('"hello, ")', '"salut, ")')));
    await registryCommand('install', { name: 'evil/tampered', version: '1.0.0', environment: 'staging' });
    // After the install, someone with write access to the object store swaps the module's bytes.
    const bucket = await new Objm(nc).open(names.artifactBucket);
    await bucket.putBlob({ name: digest.slice('sha256:'.length) }, await wat(helloWat.replace('"hello, ")', '"pwned, ")')));
    const altered = await failure(call('evil/tampered', 'greet', 'x'));
    expect(altered.code).toBe('SIGNATURE.WASM_DIGEST_MISMATCH');
    expect(altered.message).toMatch(/altered after publishing and will not run/);
    // The refusal stands: a second call is refused the same way without checking (and recording) again.
    expect((await failure(call('evil/tampered', 'greet', 'x'))).code).toBe('SIGNATURE.WASM_DIGEST_MISMATCH');

    await registryCommand('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'vault' });
    const unsigned = await failure(call('forgeone/hello', 'greet', 'x', DEV, 'vault'));
    expect(unsigned.code).toBe('SIGNATURE.MISSING');

    const store = writers.store(nc, names);
    const results = [...(await store.read(RUNNER_SIGNATURE_AGGREGATE, 'acme:evil/tampered')), ...(await store.read(RUNNER_SIGNATURE_AGGREGATE, 'acme:forgeone/hello'))].map(
      (e): Record<string, unknown> => ({ type: e.event.type, ...(e.event.data as Record<string, unknown>) }),
    );
    expect(results.filter((r) => r.name === 'evil/tampered')).toEqual([
      expect.objectContaining({ type: RUNNER_SIGNATURE_EVENT_TYPES.rejected, stage: 'runner', mode: 'strict', reason: 'SIGNATURE.WASM_DIGEST_MISMATCH', environment: 'staging', pluginDigest: digest }),
    ]);
    expect(results).toContainEqual(expect.objectContaining({ type: RUNNER_SIGNATURE_EVENT_TYPES.rejected, name: 'forgeone/hello', stage: 'runner', mode: 'strict', reason: 'SIGNATURE.MISSING', environment: 'vault', flagged: false }));
    // Staging is audit: the unsigned hello ran there, flagged.
    expect(results).toContainEqual(expect.objectContaining({ type: RUNNER_SIGNATURE_EVENT_TYPES.rejected, name: 'forgeone/hello', stage: 'runner', mode: 'audit', reason: 'SIGNATURE.MISSING', environment: 'staging', flagged: true }));
    // The registry's aggregate holds only the registry's own results now.
    const registryResults = [...(await store.read(SIGNATURE_AGGREGATE, 'acme:evil/tampered')), ...(await store.read(SIGNATURE_AGGREGATE, 'acme:forgeone/hello'))];
    expect(registryResults.every((e) => (e.event.data as { stage: string }).stage !== 'runner')).toBe(true);
  });

  it('runs the hostile corpus through the runner: each call ends in its typed error and event while concurrent clients keep being served', async () => {
    const corpus: { file: string; code: string; limit?: string; limits?: Record<string, number> }[] = [
      { file: 'memory-bomb', code: 'SANDBOX.MEMORY_LIMIT', limit: 'memory' },
      { file: 'deep-recursion', code: 'SANDBOX.STACK_OVERFLOW', limit: 'stack', limits: { fuel: 1e12, timeoutMs: 5_000 } },
      { file: 'huge-output', code: 'SANDBOX.OUTPUT_TOO_LARGE', limit: 'output_size' },
      { file: 'output-out-of-bounds', code: 'SANDBOX.OUT_OF_BOUNDS', limit: 'memory_access', limits: { maxOutputBytes: 65536 } },
      { file: 'trap-mid-write', code: 'SANDBOX.TRAP' },
      { file: 'infinite-loop-start', code: 'SANDBOX.FUEL_EXHAUSTED', limit: 'fuel' },
      { file: 'infinite-loop-start', code: 'SANDBOX.TIMEOUT', limit: 'timeout', limits: { fuel: 1e12, timeoutMs: 300 } },
    ];
    const base = { abi: 1, description: 'hostile', handlers: ['run'], capabilities: {}, limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 5_000, maxOutputBytes: 1024 } };
    const names: string[] = [];
    for (const [i, entry] of corpus.entries()) {
      const name = `evil/corpus-${i}`;
      names.push(name);
      await publish({ ...base, name, version: '1.0.0', limits: { ...base.limits, ...entry.limits } }, await wat(readFileSync(join(root, 'test', 'hostile', `${entry.file}.wat`), 'utf8')));
      await registryCommand('install', { name, version: '1.0.0', environment: 'staging' });
    }
    // Concurrent clients keep calling a well-behaved plugin for as long as the hostile calls run.
    let running = true;
    const served: string[] = [];
    const clientErrors: unknown[] = [];
    const clients = Array.from({ length: 4 }, async (_, c) => {
      for (let i = 0; running; i++) {
        await call('forgeone/hello', 'greet', `c${c}-${i}`).then((r) => served.push(r.output as string), (e: unknown) => clientErrors.push(e));
      }
    });
    const outcomes = await Promise.all(names.map((name) => failure(call(name, 'run', 'x'))));
    running = false;
    await Promise.all(clients);
    expect(clientErrors).toEqual([]);
    expect(outcomes.map((o) => o.code)).toEqual(corpus.map((c) => c.code));
    expect(served.length).toBeGreaterThan(4);
    expect(served.every((o) => /^hello, c\d-\d+$/.test(o))).toBe(true);

    const events = await invocationEvents();
    for (const [i, entry] of corpus.entries()) {
      const mine = events.filter((e) => (e.data as { plugin: string }).plugin === names[i]);
      expect(mine.map((e) => e.type)).toContain(INVOCATION_EVENT_TYPES.invocationFailed);
      if (entry.limit !== undefined) {
        expect(mine.map((e) => e.data)).toContainEqual(expect.objectContaining({ limit: entry.limit, code: entry.code }));
      }
    }

    // Modules that break ABI v1 never get that far: the registry refuses them at publish.
    for (const [file, code] of [['wrong-abi-version', 'REGISTRY.ABI_MISMATCH'], ['unknown-import', 'REGISTRY.WASM_INVALID']] as const) {
      const wasm = await wat(readFileSync(join(root, 'test', 'hostile', `${file}.wat`), 'utf8'));
      await expect(publish({ ...base, name: `evil/${file}`, version: '1.0.0' }, wasm)).rejects.toMatchObject({ code });
    }
  });

  it('hot swaps under load: every call succeeds, on the old or the new version, and the old one is released', async () => {
    await publish({ ...helloManifest, version: '1.1.0' }, await helloGreeting('howdy, '));
    const outputs = new Map<string, string>([
      ['1.0.0', 'hello, x'],
      ['1.1.0', 'howdy, x'],
    ]);
    let running = true;
    const failures: unknown[] = [];
    const seen: string[] = [];
    const worker = async () => {
      while (running) {
        try {
          const reply = await call('forgeone/hello', 'greet', 'x');
          expect(reply.output).toBe(outputs.get(reply.version));
          seen.push(reply.version);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 200));
    await registryCommand('upgrade', { name: 'forgeone/hello', version: '1.1.0', environment: 'staging' });
    const upgradedAt = seen.length;
    // Keep the load on until the new version has answered a good number of calls.
    await expect.poll(() => seen.filter((v) => v === '1.1.0').length, { timeout: 10_000 }).toBeGreaterThan(50);
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(seen.slice(0, 5).every((v) => v === '1.0.0')).toBe(true);
    // Long after the switch, the last call of every client ran on 1.1.0.
    expect(seen.slice(-8).every((v) => v === '1.1.0')).toBe(true);
    expect(seen.length).toBeGreaterThan(upgradedAt);
    // Once no call holds it, 1.0.0 is unloaded: one hello key is left in the sandbox.
    await expect.poll(() => runner.host.loaded().filter((p) => p.key.includes('forgeone/hello')).map((p) => p.key), { timeout: 10_000 }).toHaveLength(1);
    expect(runner.installations.draining).toBe(0);

    // A rollback swaps like an upgrade: once the runner has read it, every call is on 1.0.0.
    await registryCommand('rollback', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging', reason: 'howdy is too casual' });
    await expect.poll(() => call('forgeone/hello', 'greet', 'x').then((r) => r.output), { timeout: 10_000 }).toBe('hello, x');
    const after = await Promise.all(Array.from({ length: 10 }, () => call('forgeone/hello', 'greet', 'x')));
    expect(new Set(after.map((r) => r.version))).toEqual(new Set(['1.0.0']));
    // Removed, the plugin is gone for callers.
    await registryCommand('remove', { name: 'forgeone/hello', environment: 'staging' });
    expect((await failure(call('forgeone/hello', 'greet', 'x'))).code).toBe('SANDBOX.NOT_FOUND');
  });

  describe('host hooks', () => {
    beforeAll(async () => {
      const hostCalls = readFileSync(join(root, 'libs', 'sandbox', 'test', 'plugins', 'host-calls.wat'), 'utf8');
      const manifest = {
        name: 'acme/hooks',
        version: '1.0.0',
        abi: 1,
        description: 'uses every host function',
        handlers: ['kv_roundtrip', 'kv_read', 'kv_remove', 'http', 'auth', 'env', 'clock'],
        capabilities: { log: true, metrics: true, clock: true, config: true, storage: true, auth: true, http: { allow: [`127.0.0.1:${webPort}`, 'localhost'] } },
        limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 5_000, maxOutputBytes: 65_536 },
      };
      // The allow-list names loopback: only a principal allowed publish-private-egress may publish it.
      await expect(publish(manifest, await wat(hostCalls))).rejects.toMatchObject({ code: 'REGISTRY.PRIVATE_EGRESS_REFUSED' });
      await publish(manifest, await wat(hostCalls), 'Bearer tok-root');
      await registryCommand('install', { name: 'acme/hooks', version: '1.0.0', environment: 'staging' });
    });

    it('storage is persistent and namespaced per tenant, plugin and environment; usage counters sit beside the data', async () => {
      expect((await call('acme/hooks', 'kv_roundtrip', 'colour')).output).toBe('colour');
      expect((await call('acme/hooks', 'kv_read', 'colour')).output).toBe('colour');
      const kv = await new Kvm(nc).open(names.pluginKvBucket);
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      // The runner's call-window counter lives in the same bucket, under `_windows.`.
      expect(keys.sort()).toEqual(['_usage.acme', '_usage.acme.acme.hooks.staging', '_windows.test', `acme.acme.hooks.staging.${Buffer.from('colour').toString('base64url')}`]);
      expect((await call('acme/hooks', 'kv_remove', 'colour')).output).toBe('0');
      expect((await call('acme/hooks', 'kv_remove', 'colour')).output).toBe('/');
    });

    it('http reaches an allowed host and nothing else; a refusal is a sandbox_violation', async () => {
      // A loopback address, reachable because this version was allowed it at publish.
      const ok = await call('acme/hooks', 'http', JSON.stringify({ url: `http://127.0.0.1:${webPort}/ping` }));
      expect(JSON.parse(ok.output ?? '{}')).toMatchObject({ status: 200, body: 'pong GET /ping' });

      // Not on the allow-list; a redirect to another host; ports the entries do not name.
      for (const url of ['http://example.com/', `http://127.0.0.1:${webPort}/hop`, `http://localhost:${webPort}/`, `http://127.0.0.1:${webPort + 1}/`]) {
        const error = await failure(call('acme/hooks', 'http', JSON.stringify({ url })));
        expect(error.code, url).toBe('SANDBOX.GUEST_ERROR');
      }
      const violations = (await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.sandboxViolation && (e.data as { hook?: string }).hook === 'http');
      expect(violations.length).toBeGreaterThanOrEqual(4);
      expect(violations[0].data).toMatchObject({ plugin: 'acme/hooks', limit: 'capability', code: 'SANDBOX.CAPABILITY_DENIED' });
    });

    it('a hook policy denies for this caller is refused and recorded', async () => {
      const error = await failure(call('acme/hooks', 'http', JSON.stringify({ url: `http://127.0.0.1:${webPort}/ping` }), 'Bearer tok-caller'));
      expect(error.code).toBe('SANDBOX.GUEST_ERROR');
      const last = (await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.sandboxViolation).at(-1);
      expect(last?.data).toMatchObject({ plugin: 'acme/hooks', limit: 'capability', hook: 'http', code: 'AUTHZ.DENIED', principal: 'bob' });
      // Storage stays allowed for the same caller.
      expect((await call('acme/hooks', 'kv_roundtrip', 'k', 'Bearer tok-caller')).output).toBe('k');
    });

    it('a refusal the plugin carries on from is recorded too, though the call succeeds', async () => {
      // The auth hook answers '.' when the host refuses it; this plugin answers that instead of failing.
      expect((await call('acme/hooks', 'auth', JSON.stringify({ action: 'install' }), 'Bearer tok-sealed')).output).toBe('.');
      const last = (await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.sandboxViolation).at(-1);
      expect(last?.data).toMatchObject({ plugin: 'acme/hooks', limit: 'capability', hook: 'auth', code: 'AUTHZ.DENIED', principal: 'sam' });
      expect((await invocationEvents()).filter((e) => e.type === INVOCATION_EVENT_TYPES.invocationFailed && (e.data as { principal?: string }).principal === 'sam')).toEqual([]);
    });

    it('auth asks policy for the caller', async () => {
      expect((await call('acme/hooks', 'auth', JSON.stringify({ action: 'install' }))).output).toBe('1');
      expect((await call('acme/hooks', 'auth', JSON.stringify({ action: 'install' }), 'Bearer tok-caller')).output).toBe('0');
    });
  });

  describe('storage quotas (AssemblyScript plugin through the SDK)', () => {
    const fillerDir = join(root, 'test', 'examples', 'storage-filler');
    const fillerManifest = JSON.parse(readFileSync(join(fillerDir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown> & { limits: Record<string, number> };
    const staging = { tenant: 'acme', name: 'acme/filler', environment: 'staging' };
    let filler: Uint8Array;

    /** What a plugin really holds in one environment, read from the bucket: data keys and their key + value bytes. */
    async function held(scope: { tenant: string; name: string; environment: string }): Promise<{ bytes: number; keys: number }> {
      const kv = await new Kvm(nc).open(names.pluginKvBucket);
      const prefix = `${scope.tenant}.${scope.name.replace('/', '.')}.${scope.environment}.`;
      let bytes = 0;
      let keys = 0;
      for await (const key of await kv.keys(`${prefix}>`)) {
        const entry = await kv.get(key);
        if (entry === null || entry.operation !== 'PUT') continue;
        keys += 1;
        bytes += Buffer.from(key.slice(prefix.length), 'base64url').byteLength + entry.length;
      }
      return { bytes, keys };
    }

    beforeAll(async () => {
      filler = await (buildExample as (dir: string) => Promise<Uint8Array>)(fillerDir);
      await publish(fillerManifest, filler);
      await registryCommand('install', { name: 'acme/filler', version: '1.0.0', environment: 'staging' });
    }, 60_000);

    it('a plugin writing past its quota gets StorageQuotaExceeded from the SDK, and the bucket holds no more than the quota', async () => {
      const reply = await call('acme/filler', 'fill', '10:100:k');
      expect(reply.output).toBe('stored 5; StorageQuotaExceeded -6: storing 100 bytes under "k5" would exceed the storage quota (host status -6)');
      expect(await held(staging)).toEqual({ keys: 5, bytes: 5 * (2 + 100) });
      expect(await runner.storage.usage(staging)).toEqual({ keys: 5, bytes: 510 });
      // Refused again on the next call: the quota holds across calls and instances.
      expect((await call('acme/filler', 'put', 'k7:1')).output).toMatch(/^StorageQuotaExceeded -6: /);
    });

    it('an overwrite adjusts usage by the difference and a delete gives its key and bytes back', async () => {
      expect((await call('acme/filler', 'put', 'k0:40')).output).toBe('ok');
      expect(await runner.storage.usage(staging)).toEqual({ keys: 5, bytes: 450 });
      expect((await call('acme/filler', 'remove', 'k1')).output).toBe('0');
      expect((await call('acme/filler', 'remove', 'k1')).output).toBe('-1');
      expect(await runner.storage.usage(staging)).toEqual({ keys: 4, bytes: 348 });
      expect((await call('acme/filler', 'put', 'k9:100')).output).toBe('ok');
      expect((await call('acme/filler', 'put', 'k10:1')).output).toMatch(/^StorageQuotaExceeded -6: /);
      expect(await runner.storage.usage(staging)).toEqual(await held(staging));
    });

    it('a value too large for the bus or for the host channel is StorageValueTooLarge, not a generic failure, and nothing is stored', async () => {
      const before = await runner.storage.usage(staging);
      // Over what one NATS message carries beside its headers, under the 1 MiB host channel: refused by the runner.
      expect((await call('acme/filler', 'put', 'big:1048000')).output).toBe('StorageValueTooLarge -5: storing 1048000 bytes under "big": the value is larger than the host stores (host status -5)');
      // Over the host channel: refused in the worker before it is copied out.
      expect((await call('acme/filler', 'put', 'big:1048577')).output).toMatch(/^StorageValueTooLarge -5: storing 1048577 bytes/);
      expect(await runner.storage.usage(staging)).toEqual(before);
      expect(await held(staging)).toEqual(before);
    });

    it("the tenant total holds across a tenant's plugins: the second stops where the tenant is full", async () => {
      const initech = 'Bearer tok-initech';
      for (const name of ['initech/filler-a', 'initech/filler-b']) {
        await publish({ ...fillerManifest, name }, filler, initech);
        await client.request('registry', 'install', { name, version: '1.0.0', environment: 'staging' }, { credential: initech });
      }
      expect((await call('initech/filler-a', 'fill', '10:10:k', initech)).output).toMatch(/^stored 5; StorageQuotaExceeded -6: /);
      expect((await call('initech/filler-b', 'fill', '10:10:k', initech)).output).toMatch(/^stored 3; StorageQuotaExceeded -6: /);
      expect(await runner.storage.tenantUsage('initech')).toEqual({ keys: TENANT_STORAGE_KEYS, bytes: 8 * 12 });
      expect((await held({ tenant: 'initech', name: 'initech/filler-b', environment: 'staging' })).keys).toBe(3);
      // Another tenant's plugin is not held back by initech's total.
      expect((await runner.storage.tenantUsage('acme')).keys).toBeLessThanOrEqual(TENANT_STORAGE_KEYS);
    });

    it('publish refuses a storage quota above the platform cap, naming the cap and its variable', async () => {
      const error = await failure(publish({ ...fillerManifest, version: '1.0.1', limits: { ...fillerManifest.limits, maxStorageKeys: 100_001 } }, filler));
      expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
      expect(error.message).toContain("limits.maxStorageKeys: 100001 is above this platform's cap of 100000 (FORGEONE_STORAGE_MAX_QUOTA_KEYS)");
    });

    it('sandbox-runner.storage answers quota and usage per environment and the tenant total, to callers allowed to read', async () => {
      const reply = await client.request<PluginStorageReply>('sandbox-runner', 'storage', { name: 'acme/filler' }, { credential: 'Bearer tok-viewer' });
      const usage = await held(staging);
      expect(reply.environments).toEqual([{ environment: 'staging', version: '1.0.0', usedBytes: usage.bytes, usedKeys: usage.keys, maxBytes: 100_000, maxKeys: 5 }]);
      expect(reply.tenant).toEqual({ ...(await runner.storage.tenantUsage('acme').then((u) => ({ usedBytes: u.bytes, usedKeys: u.keys }))), maxBytes: 64 * 1024 * 1024, maxKeys: TENANT_STORAGE_KEYS });
      expect((await failure(client.request('sandbox-runner', 'storage', { name: 'acme/filler' }, { credential: 'Bearer tok-caller' }))).code).toBe('AUTHZ.DENIED');
      expect((await failure(client.request('sandbox-runner', 'storage', { name: 'filler' }, { credential: DEV }))).code).toBe('COMMAND.INVALID');
    });
  });

  it('counts successes and failures per plugin in sandbox-runner.stats', async () => {
    const stats = await client.request<{ invocations: Record<string, { ok: number; failed: number }> }>('sandbox-runner', 'stats', {}, { credential: DEV });
    expect(stats.invocations['staging/forgeone/hello'].ok).toBeGreaterThan(30);
    expect(stats.invocations['staging/evil/spin']).toEqual({ ok: 0, failed: 1 });
  });
});
