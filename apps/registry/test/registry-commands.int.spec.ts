// Over 400 lines: the scenarios share the service's setup on real servers and its helpers; split into files,
// each would repeat that setup.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { ForgeOneError, names as namesFor, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, type Action, type CloudEvent, type Names, cloudEvent } from '@forgeone/contracts';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, provisionTestStorage, removeNamespace, repoRoot, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryOptionsFromEnv } from '../src/registry.config.js';
import { RegistryModule } from '../src/registry.module.js';

const hello = join(repoRoot(), 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const wasm = readFileSync(join(hello, 'plugin.wasm'));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function wat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('test.wat', text);
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

const ABI_PRELUDE = `
  (memory (export "memory") 1 2)
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)`;

// Test fixture: a stand-in for the policy service with a fixed rule table (see startTestAuthzResponder).
const SERVICE_KEY = 'registry-test-service-key-0123456789abcdef';
const RULES: Record<string, readonly Action[]> = {
  developer: ['publish', 'install', 'upgrade', 'remove'],
  'release-manager': ['install', 'upgrade', 'rollback', 'remove'],
  auditor: ['read-audit'],
  // What the default policies give the platform administrator alone.
  'platform-admin': ['publish', 'publish-private-egress'],
};
const TOKENS = {
  'tok-acme-dev': { id: 'alice', tenant: 'acme', role: 'developer' },
  'tok-acme-dev-2': { id: 'alex', tenant: 'acme', role: 'developer' },
  'tok-acme-auditor': { id: 'carol', tenant: 'acme', role: 'auditor' },
  'tok-acme-release': { id: 'rita', tenant: 'acme', role: 'release-manager' },
  'tok-globex-dev': { id: 'gina', tenant: 'globex', role: 'developer' },
  'tok-acme-root': { id: 'root', tenant: 'acme', role: 'platform-admin' },
};
const ACME_DEV = 'Bearer tok-acme-dev';
const writers = createTestEventWriters();

describe('registry - commands on the bus', () => {
  const namespace = testNamespace('reg');
  let names: Names;
  let nc: NatsConnection;
  let app: INestMicroservice;
  let client: BusClient;
  let responder: TestAuthzResponder;

  const startResponder = async () =>
    (responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: serviceCredential('registry', SERVICE_KEY) }));

  beforeAll(async () => {
    names = namesFor(namespace);
    nc = await connectNats(TEST_NATS_URL, 'registry-test');
    await provisionTestStorage(namespace);
    await startResponder();
    const logger = createLogger('registry', 'silent');
    const authorship = writers.authorship(names, 'registry');
    const context = { config: {} as never, connection: nc, names, logger, authorship, busModule: BusModule.forRoot({ connection: nc, names, authorship }) };
    // Production in audit mode here, so the command tests below need no keys; environments not listed
    // (such as "vault") stay strict, and the signature tests use one. test/e2e covers signed plugins.
    const options = registryOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY, FORGEONE_SIGNATURE_POLICY: '{"live":{"mode":"audit"}}' });
    app = await NestFactory.createMicroservice(RegistryModule.forRoot(context, options), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: nc, logger, authorship }),
      logger: false,
    });
    await app.listen();
    client = new BusClient(nc, names);
  });

  afterAll(async () => {
    await responder?.stop();
    await app?.close();
    await nc?.close();
    await removeNamespace(namespace);
  });

  async function streamMessages(): Promise<number> {
    const info = await (await jetstreamManager(nc)).streams.info(names.stream);
    return info.state.messages;
  }

  async function artifactCount(): Promise<number> {
    const os = await new Objm(nc).open(names.artifactBucket).catch(() => undefined);
    if (!os) return 0;
    return (await os.list()).length;
  }

  async function lastEvent(tenant: string, plugin: string): Promise<CloudEvent> {
    const message = await (await jetstreamManager(nc)).streams.getMessage(names.stream, { last_by_subj: names.eventSubject('plugin', `${tenant}:${plugin}`) });
    return message!.json<CloudEvent>();
  }

  // null sends no credential at all.
  const send = <T = unknown>(verb: string, body: unknown, credential: string | null = ACME_DEV) =>
    client.request<T>('registry', verb, body, credential === null ? {} : { credential });

  async function refusal(verb: string, body: unknown, credential: string | null = ACME_DEV): Promise<ForgeOneError> {
    const before = { events: await streamMessages(), artifacts: await artifactCount() };
    const error = await send(verb, body, credential).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ForgeOneError);
    // A refused command stores nothing: no event, no artifact.
    expect({ events: await streamMessages(), artifacts: await artifactCount() }).toEqual(before);
    return error as ForgeOneError;
  }

  it('refuses a manifest with a missing field and names it', async () => {
    const { version: _v, ...missing } = manifest;
    const error = await refusal('publish', { manifest: missing, wasm: b64(wasm) });
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    expect(error.message).toMatch(/version: is required/);
  });

  it('refuses a manifest with a wrong value and names the field', async () => {
    const error = await refusal('publish', { manifest: { ...manifest, handlers: ['not a name!'] }, wasm: b64(wasm) });
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    expect(error.message).toMatch(/handlers\[0\]/);
  });

  it('refuses a file that is not WebAssembly', async () => {
    const error = await refusal('publish', { manifest, wasm: b64(new TextEncoder().encode('#!/bin/sh\nrm -rf /\n')) });
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/not a WebAssembly module/);
  });

  it('refuses a module missing a required export', async () => {
    const module = await wat(`(module (memory (export "memory") 1)
      (func (export "forgeone_abi_version") (result i32) i32.const 1)
      (func (export "greet") (param i32 i32) (result i64) i64.const 0))`);
    const error = await refusal('publish', { manifest, wasm: b64(module) });
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/missing export forgeone_alloc/);
  });

  it('refuses a module importing an unknown host function', async () => {
    const module = await wat(`(module (import "forgeone" "sys_exec" (func (param i32 i32) (result i32)))
      ${ABI_PRELUDE}
      (func (export "greet") (param i32 i32) (result i64) i64.const 0))`);
    const error = await refusal('publish', { manifest, wasm: b64(module) });
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/forgeone\.sys_exec is not a ForgeOne host function/);
  });

  it('refuses a module that imports a hook its manifest does not grant', async () => {
    const module = await wat(`(module (import "forgeone" "kv_get" (func (param i32 i32) (result i64)))
      ${ABI_PRELUDE}
      (func (export "greet") (param i32 i32) (result i64) i64.const 0))`);
    const error = await refusal('publish', { manifest, wasm: b64(module) });
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    expect(error.message).toMatch(/"storage"/);
  });

  it('refuses a module declaring another ABI version', async () => {
    const module = await wat(`(module (memory (export "memory") 1)
      (func (export "forgeone_abi_version") (result i32) i32.const 2)
      (func (export "forgeone_alloc") (param i32) (result i32) i32.const 0)
      (func (export "greet") (param i32 i32) (result i64) i64.const 0))`);
    const error = await refusal('publish', { manifest, wasm: b64(module) });
    expect(error.code).toBe('REGISTRY.ABI_MISMATCH');
  });

  it('publishes once, treats an identical republish as a no-op, and refuses different bytes for that version', async () => {
    const first = await send<{ sequence: number; digest: string }>('publish', { manifest, wasm: b64(wasm) });
    expect(first.sequence).toBeGreaterThan(0);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await send<{ unchanged?: boolean }>('publish', { manifest, wasm: b64(wasm) });
    expect(again.unchanged).toBe(true);

    const other = await wat(`(module ${ABI_PRELUDE} (func (export "greet") (param i32 i32) (result i64) i64.const 7))`);
    const error = await refusal('publish', { manifest, wasm: b64(other) });
    expect(error.code).toBe('REGISTRY.VERSION_EXISTS');
    expect(error.details?.existingDigest).toBe(first.digest);
  });

  describe('private egress', () => {
    const fetching = (version: string, allow: string[]) => ({
      ...manifest,
      name: 'acme/fetch',
      version,
      capabilities: { ...(manifest.capabilities as object), http: { allow } },
    });

    it('refuses an allow-list naming loopback, link-local or localhost for a publisher policy does not allow it, naming each entry and its range', async () => {
      const error = await refusal('publish', { manifest: fetching('1.0.0', ['api.example.com', '127.0.0.1:8080', '169.254.169.254', 'localhost']), wasm: b64(wasm) });
      expect(error.code).toBe('REGISTRY.PRIVATE_EGRESS_REFUSED');
      expect(error.message).toContain('"127.0.0.1:8080" is in 127.0.0.0/8 (loopback (this machine))');
      expect(error.message).toContain('"169.254.169.254" is in 169.254.0.0/16 (link-local (cloud metadata at 169.254.169.254))');
      expect(error.message).toContain('"localhost" is in 127.0.0.0/8, ::1/128');
      expect(error.message).toMatch(/Only a principal allowed publish-private-egress on acme\/fetch \(by default the platform administrator\)/);
      expect(error.details?.entries).toEqual([
        { entry: '127.0.0.1:8080', range: '127.0.0.0/8', rangeName: 'loopback (this machine)' },
        { entry: '169.254.169.254', range: '169.254.0.0/16', rangeName: 'link-local (cloud metadata at 169.254.169.254)' },
        { entry: 'localhost', range: '127.0.0.0/8, ::1/128', rangeName: 'loopback (a name for this machine)' },
      ]);
      expect(responder.requests.at(-1)).toMatchObject({ action: 'publish-private-egress', resource: { type: 'Plugin', id: 'acme/fetch' } });
    });

    it('publishes it for a principal allowed publish-private-egress, recording exactly those entries', async () => {
      const published = await send<{ sequence: number }>('publish', { manifest: fetching('1.0.0', ['api.example.com', '10.0.0.7:443', 'localhost:8080']), wasm: b64(wasm) }, 'Bearer tok-acme-root');
      expect(published.sequence).toBeGreaterThan(0);
      const event = await lastEvent('acme', 'acme/fetch');
      expect(event.data).toMatchObject({ version: '1.0.0', publisher: 'root', privateEgress: ['10.0.0.7:443', 'localhost:8080'] });
      // A public allow-list needs no more than publish, and records nothing.
      await send('publish', { manifest: fetching('1.1.0', ['api.example.com']), wasm: b64(wasm) });
      expect((await lastEvent('acme', 'acme/fetch')).data).not.toHaveProperty('privateEgress');
    });
  });

  it('refuses a body nested 10,000 levels deep with COMMAND.INVALID, stores nothing and keeps answering', async () => {
    const deep = `{"manifest":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"wasm":"AA=="}`;
    const before = await streamMessages();
    const reply = await nc.request(names.command('registry', 'publish'), deep, { timeout: 5_000 });
    expect(reply.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'COMMAND.INVALID',
      message: 'the body of registry.publish nests objects and arrays more than 64 levels deep; send a flatter JSON document',
    });
    expect(await streamMessages()).toBe(before);
    expect((await refusal('install', { name: 'forgeone/hello', version: '9.9.9', environment: 'staging' })).code).toBe('REGISTRY.VERSION_NOT_FOUND');
  });

  it('answers a credential over 4096 characters with AUTH.UNAUTHENTICATED saying it is too long', async () => {
    const error = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, `Bearer ${'x'.repeat(5000)}`);
    expect(error.code).toBe('AUTH.UNAUTHENTICATED');
    expect(error.message).toMatch(/^the credential is 5000 characters long, more than the 4096/);
  });

  it('passes the Forgeone-Source header on with its authorisation check', async () => {
    // A question not asked before, so the decision is not in the registry's cache.
    await client.request('registry', 'install', { name: 'acme/sourced', version: '1.0.0', environment: 'staging' }, { credential: ACME_DEV, headers: { 'Forgeone-Source': 'http 203.0.113.7' } }).catch(() => undefined);
    expect(responder.requests.at(-1)).toMatchObject({ action: 'install', resource: { id: 'acme/sourced' }, source: 'http 203.0.113.7' });
  });

  it('refuses to install a version that does not exist', async () => {
    const error = await refusal('install', { name: 'forgeone/hello', version: '9.9.9', environment: 'staging' });
    expect(error.code).toBe('REGISTRY.VERSION_NOT_FOUND');
  });

  it('refuses a request with unknown or malformed fields before deciding', async () => {
    const error = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', env: 'staging' });
    expect(error.code).toBe('COMMAND.INVALID');
    expect(error.message).toMatch(/environment: is required/);
    expect(error.message).toMatch(/"env"/);
  });

  it('of two racing installs into one environment exactly one wins', async () => {
    const install = () =>
      send('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'live' }).then(
        () => 'ok',
        (e: ForgeOneError) => e.code,
      );
    const outcomes = await Promise.all([install(), install(), install()]);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'REGISTRY.ALREADY_INSTALLED')).toHaveLength(2);
  });

  it("records the authenticated principal as actor and tenant, on the subject of the tenant's plugin", async () => {
    const event = await lastEvent('acme', 'forgeone/hello');
    expect(event).toMatchObject({ type: 'io.forgeone.plugin.installed.v1', actor: 'alice', tenant: 'acme', subject: 'forgeone/hello' });
    // Policy was asked about that plugin in that environment, its tenant left for policy to fill in (the caller's).
    expect(responder.requests).toContainEqual({
      credential: 'tok-acme-dev',
      action: 'install',
      resource: { type: 'Plugin', id: 'forgeone/hello', attributes: { environment: 'live' } },
      context: { environment: 'live' },
    });
  });

  it('rollback - refuses a downgrade by upgrade, a rollback without reason or right, then rolls back with the reason', async () => {
    await send('publish', { manifest: { ...manifest, version: '1.1.0' }, wasm: b64(wasm) });
    await send('upgrade', { name: 'forgeone/hello', version: '1.1.0', environment: 'live' });
    const downgrade = await refusal('upgrade', { name: 'forgeone/hello', version: '1.0.0', environment: 'live' });
    expect(downgrade.code).toBe('REGISTRY.DOWNGRADE_REFUSED');
    expect(downgrade.message).toContain('lower than 1.1.0, the highest version live has had');

    const request = { name: 'forgeone/hello', version: '1.0.0', environment: 'live' };
    const release = 'Bearer tok-acme-release';
    const noReason = await refusal('rollback', request, release);
    expect(noReason.code).toBe('COMMAND.INVALID');
    expect(noReason.message).toBe('the rollback request is invalid: reason: is required (string)');
    const denied = await refusal('rollback', { ...request, reason: 'broken' });
    expect(denied.code).toBe('AUTHZ.DENIED');

    await send('rollback', { ...request, reason: ' 1.1.0 mangles names ' }, release);
    expect(await lastEvent('acme', 'forgeone/hello')).toMatchObject({
      type: 'io.forgeone.plugin.rolled_back.v1',
      actor: 'rita',
      data: { name: 'forgeone/hello', fromVersion: '1.1.0', version: '1.0.0', environment: 'live', reason: '1.1.0 mangles names' },
    });
    const again = await refusal('rollback', { ...request, reason: 'twice' }, release);
    expect(again.code).toBe('REGISTRY.NOT_A_ROLLBACK');
  });

  it('refuses a command without a credential or with an unknown one, and stores nothing', async () => {
    const missing = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, null);
    expect(missing.code).toBe('AUTH.UNAUTHENTICATED');
    const unknown = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, 'Bearer tok-forged');
    expect(unknown.code).toBe('AUTH.UNAUTHENTICATED');
  });

  it('refuses what policy denies before looking at the module, and stores nothing', async () => {
    const auditor = 'Bearer tok-acme-auditor';
    const publish = await refusal('publish', { manifest: { ...manifest, version: '2.0.0' }, wasm: b64(wasm) }, auditor);
    expect(publish.code).toBe('AUTHZ.DENIED');
    expect(publish.message).toMatch(/^carol may not publish Plugin forgeone\/hello/);
    expect(publish.details).toMatchObject({ policyIds: [], decisionId: expect.any(String) });
    // Policy refuses first: a file that is not WebAssembly is never examined for a caller who may not publish.
    const notWasm = await refusal('publish', { manifest, wasm: b64(new TextEncoder().encode('#!/bin/sh\n')) }, auditor);
    expect(notWasm.code).toBe('AUTHZ.DENIED');
    const install = await refusal('remove', { name: 'forgeone/hello', environment: 'live' }, auditor);
    expect(install.code).toBe('AUTHZ.DENIED');
    expect(install.message).toMatch(/^carol may not remove Plugin forgeone\/hello in live/);
  });

  it("cannot reach another tenant's plugin: for globex, acme's forgeone/hello does not exist", async () => {
    const globex = 'Bearer tok-globex-dev';
    const install = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, globex);
    expect(install.code).toBe('REGISTRY.PLUGIN_NOT_FOUND');
    const remove = await refusal('remove', { name: 'forgeone/hello', environment: 'live' }, globex);
    expect(remove.code).toBe('REGISTRY.NOT_INSTALLED');

    // The same name published in globex is globex's own plugin, with its own history.
    const acmeBefore = await lastEvent('acme', 'forgeone/hello');
    const published = await send<{ unchanged?: boolean; sequence: number }>('publish', { manifest, wasm: b64(wasm) }, globex);
    expect(published.unchanged).toBeUndefined();
    expect(await lastEvent('globex', 'forgeone/hello')).toMatchObject({ type: 'io.forgeone.plugin.version_published.v1', actor: 'gina', tenant: 'globex' });
    expect(await lastEvent('acme', 'forgeone/hello')).toEqual(acmeBefore);
  });

  async function signatureEvents(tenant: string, plugin: string): Promise<CloudEvent[]> {
    return (await writers.store(nc, names).read('signature', `${tenant}:${plugin}`)).map((stored) => stored.event);
  }

  it('authorship - plugin events the registry did not write are not history: the decider ignores them and the next command is not wedged', async () => {
    const name = 'forgeone/forged-history';
    await send('publish', { manifest: { ...manifest, name }, wasm: b64(wasm) });
    const subject = names.eventSubject(PLUGIN_AGGREGATE, `acme:${name}`);
    const forgedEvent = (type: string, data: Record<string, unknown>) =>
      new TextEncoder().encode(
        JSON.stringify(cloudEvent(PLUGIN_AGGREGATE, `acme:${name}`, { id: crypto.randomUUID(), type, subject: name, time: new Date().toISOString(), data, actor: 'alice', tenant: 'acme' })),
      );
    const js = jetstream(nc);
    const published = (await lastEvent('acme', name)).data as Record<string, unknown>;
    // An unsigned publish of 5.0.0 and a signer-signed install of 1.0.0 in live.
    await js.publish(subject, forgedEvent(PLUGIN_EVENT_TYPES.versionPublished, { ...published, version: '5.0.0' }));
    const installed = forgedEvent(PLUGIN_EVENT_TYPES.installed, { name, version: '1.0.0', digest: published.digest, environment: 'live' });
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(writers.signatureHeaders('signer', subject, installed))) hdrs.set(key, value);
    await js.publish(subject, installed, { headers: hdrs });

    expect((await refusal('install', { name, version: '5.0.0', environment: 'staging' })).code).toBe('REGISTRY.VERSION_NOT_FOUND');
    expect((await refusal('upgrade', { name, version: '1.0.0', environment: 'live' })).code).toBe('REGISTRY.NOT_INSTALLED');
    // The decider's expected sequence is the subject's true last one, so the genuine install appends at once.
    const genuine = await send<{ sequence: number }>('install', { name, version: '1.0.0', environment: 'live' });
    expect(await lastEvent('acme', name)).toMatchObject({ type: PLUGIN_EVENT_TYPES.installed, data: { environment: 'live' } });
    expect(genuine.sequence).toBeGreaterThan(0);
  });

  it('signatures - a publish with an oversized or malformed envelope is refused with its code, storing nothing', async () => {
    const body = { manifest: { ...manifest, version: '3.0.0' }, wasm: b64(wasm) };
    const large = await refusal('publish', { ...body, signature: `{"payloadType":"${'x'.repeat(64 * 1024)}"}` });
    expect(large.code).toBe('SIGNATURE.TOO_LARGE');
    expect(large.message).toMatch(/^plugin\.sig\.json is refused: the signature envelope is \d+ bytes; at most 65536/);
    const malformed = await refusal('publish', { ...body, signature: '{"payloadType":"application/vnd.in-toto+json","payload":"not base64!","signatures":[]}' });
    expect(malformed.code).toBe('SIGNATURE.MALFORMED');
  });

  it('signatures - an unsigned version: a strict environment refuses it (MISSING) after recording the rejection; installs in audit mode are flagged', async () => {
    const recorded = await signatureEvents('acme', 'forgeone/hello');
    // Production runs in audit mode in this file: its earlier installs were recorded and flagged.
    expect(recorded.find((e) => (e.data as { stage: string }).stage === 'install')).toMatchObject({
      type: 'io.forgeone.signature.rejected.v1',
      actor: 'alice',
      tenant: 'acme',
      subject: 'forgeone/hello',
      data: { name: 'forgeone/hello', version: '1.0.0', environment: 'live', mode: 'audit', reason: 'SIGNATURE.MISSING', flagged: true, envelopeDigest: null },
    });
    const before = await lastEvent('acme', 'forgeone/hello');
    const error = await send('install', { name: 'forgeone/hello', version: '1.1.0', environment: 'vault' }).then(
      () => undefined,
      (e: unknown) => e as ForgeOneError,
    );
    expect(error).toMatchObject({ code: 'SIGNATURE.MISSING', details: { mode: 'strict', environment: 'vault' } });
    expect(error?.message).toMatch(/^forgeone\/hello@1\.1\.0 cannot be installed in vault, where signatures are strict: the plugin is not signed/);
    expect(await lastEvent('acme', 'forgeone/hello')).toEqual(before);
    expect((await signatureEvents('acme', 'forgeone/hello')).at(-1)).toMatchObject({
      type: 'io.forgeone.signature.rejected.v1',
      data: { version: '1.1.0', environment: 'vault', stage: 'install', mode: 'strict', reason: 'SIGNATURE.MISSING', flagged: false },
    });
  });

  describe('dry runs', () => {
    const name = 'forgeone/dry-run';
    const dry = { dryRun: true };

    beforeAll(async () => {
      for (const version of ['1.0.0', '2.0.0']) await send('publish', { manifest: { ...manifest, name, version }, wasm: b64(wasm) });
      await send('install', { name, version: '2.0.0', environment: 'staging' });
    });

    it('dry run - an install, upgrade and rollback that would succeed append nothing and answer the would-be events and signature verdict', async () => {
      const before = await streamMessages();
      const install = await send('install', { name, version: '1.0.0', environment: 'live', ...dry });
      expect(install).toMatchObject({
        dryRun: true,
        wouldSucceed: true,
        name,
        version: '1.0.0',
        environment: 'live',
        digest: expect.stringMatching(/^sha256:/),
        checks: [
          { check: 'authorisation', ok: true, message: `alice may install ${name} in live` },
          { check: 'decision', ok: true, message: 'would append io.forgeone.plugin.installed.v1 (1.0.0 in live)' },
          { check: 'signature', ok: true, message: expect.stringMatching(/^SIGNATURE\.MISSING, accepted and flagged in audit mode/) },
        ],
        events: [{ type: PLUGIN_EVENT_TYPES.installed, data: { name, version: '1.0.0', environment: 'live', digest: expect.stringMatching(/^sha256:/) } }],
        signature: { stage: 'install', mode: 'audit', threshold: 1, ok: false, reason: 'SIGNATURE.MISSING', flagged: true },
      });
      expect(install).not.toHaveProperty('sequence');
      const rollback = await send('rollback', { name, version: '1.0.0', environment: 'staging', reason: 'checking first', ...dry }, 'Bearer tok-acme-release');
      expect(rollback).toMatchObject({
        events: [{ type: PLUGIN_EVENT_TYPES.rolledBack, data: { fromVersion: '2.0.0', version: '1.0.0', reason: 'checking first' } }],
        signature: { stage: 'rollback', mode: 'audit' },
      });
      // No plugin event and no signature result event.
      expect(await streamMessages()).toBe(before);
      expect(await lastEvent('acme', name)).toMatchObject({ type: PLUGIN_EVENT_TYPES.installed, data: { version: '2.0.0', environment: 'staging' } });
      // The command itself then goes through as the dry run said.
      await send('install', { name, version: '1.0.0', environment: 'live' });
      expect(await lastEvent('acme', name)).toMatchObject({ type: PLUGIN_EVENT_TYPES.installed, data: { version: '1.0.0', environment: 'live' } });
    });

    // Each refusal: the dry run first (nothing stored), then the command, which answers the same code.
    async function refusedLikeTheCommand(verb: string, body: Record<string, unknown>, credential = ACME_DEV): Promise<ForgeOneError> {
      const dryRun = await refusal(verb, { ...body, ...dry }, credential);
      expect(dryRun.details).toMatchObject({ dryRun: true });
      const real = await send(verb, body, credential).then(
        () => undefined,
        (e: unknown) => e as ForgeOneError,
      );
      expect(real?.code).toBe(dryRun.code);
      expect(real?.message).toBe(dryRun.message);
      return dryRun;
    }

    it('dry run - refused by policy: AUTHZ.DENIED, after the same question the command asks, and nothing appended', async () => {
      const body = { name, version: '2.0.0', environment: 'live' };
      const asked = responder.requests.length;
      const error = await refusedLikeTheCommand('upgrade', body, 'Bearer tok-acme-auditor');
      expect(error).toMatchObject({ code: 'AUTHZ.DENIED', details: { failedCheck: 'authorisation' } });
      expect(error.message).toMatch(/^carol may not upgrade Plugin forgeone\/dry-run in live/);
      // The dry run asked policy the command's own question (the registry then caches the answer for the
      // command); the policy service records a denial whenever it is asked, so a denied dry run is on record.
      expect(responder.requests.slice(asked)).toEqual([
        { credential: 'tok-acme-auditor', action: 'upgrade', resource: { type: 'Plugin', id: name, attributes: { environment: 'live' } }, context: { environment: 'live' } },
      ]);
    });

    it('dry run - refused by rollback protection: REGISTRY.DOWNGRADE_REFUSED from the decider, nothing appended', async () => {
      const error = await refusedLikeTheCommand('upgrade', { name, version: '1.0.0', environment: 'staging' });
      expect(error).toMatchObject({ code: 'REGISTRY.DOWNGRADE_REFUSED', details: { failedCheck: 'decision' } });
      expect(error.message).toContain('lower than 2.0.0, the highest version staging has had');
    });

    it('dry run - refused by a strict signature policy: the reason as code, and no signature result recorded', async () => {
      const recorded = (await signatureEvents('acme', name)).length;
      const dryRun = await refusal('install', { name, version: '2.0.0', environment: 'vault', ...dry });
      expect(dryRun).toMatchObject({ code: 'SIGNATURE.MISSING', details: { dryRun: true, failedCheck: 'signature', mode: 'strict', environment: 'vault' } });
      expect((await signatureEvents('acme', name)).length).toBe(recorded);
      // The command records its rejection, as always, and answers the same.
      const real = await send('install', { name, version: '2.0.0', environment: 'vault' }).then(
        () => undefined,
        (e: unknown) => e as ForgeOneError,
      );
      expect({ code: real?.code, message: real?.message }).toEqual({ code: dryRun.code, message: dryRun.message });
      expect((await signatureEvents('acme', name)).length).toBe(recorded + 1);
    });

    it('dry run - a dryRun that is not a boolean is refused before deciding', async () => {
      const error = await refusal('install', { name, version: '1.0.0', environment: 'staging', dryRun: 'yes' });
      expect(error.code).toBe('COMMAND.INVALID');
      expect(error.message).toMatch(/dryRun/);
    });
  });

  it('fails closed: without a reachable policy service a command is refused with AUTHZ.UNAVAILABLE and nothing is stored', async () => {
    await responder.stop();
    try {
      // A credential the registry has no cached decision for.
      const error = await refusal('install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, 'Bearer tok-acme-dev-2');
      expect(error.code).toBe('AUTHZ.UNAVAILABLE');
      expect(error.message).toMatch(/^authorisation service unreachable; the action was refused/);
    } finally {
      await startResponder();
    }
  });
});
