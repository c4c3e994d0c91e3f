import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { ForgeOneError, names as namesFor, type Names } from '@forgeone/contracts';
import { ensureEventStream } from '@forgeone/event-store';
import { createLogger } from '@forgeone/telemetry';
import { removeNamespace, repoRoot, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('registry - commands on the bus', () => {
  const namespace = testNamespace('reg');
  let names: Names;
  let nc: NatsConnection;
  let app: INestMicroservice;
  let client: BusClient;

  beforeAll(async () => {
    names = namesFor(namespace);
    nc = await connectNats(TEST_NATS_URL, 'registry-test');
    await ensureEventStream(await jetstreamManager(nc), names);
    const logger = createLogger('registry', 'silent');
    const context = { config: {} as never, connection: nc, names, logger, busModule: BusModule.forRoot({ connection: nc, names }) };
    app = await NestFactory.createMicroservice(RegistryModule.forRoot(context), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: nc, logger }),
      logger: false,
    });
    await app.listen();
    client = new BusClient(nc, names);
  });

  afterAll(async () => {
    await app?.close();
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

  async function refusal(verb: string, body: unknown): Promise<ForgeOneError> {
    const before = { events: await streamMessages(), artifacts: await artifactCount() };
    const error = await client.request('registry', verb, body).then(
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
    const first = await client.request<{ sequence: number; digest: string }>('registry', 'publish', { manifest, wasm: b64(wasm) });
    expect(first.sequence).toBeGreaterThan(0);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await client.request<{ unchanged?: boolean }>('registry', 'publish', { manifest, wasm: b64(wasm) });
    expect(again.unchanged).toBe(true);

    const other = await wat(`(module ${ABI_PRELUDE} (func (export "greet") (param i32 i32) (result i64) i64.const 7))`);
    const error = await refusal('publish', { manifest, wasm: b64(other) });
    expect(error.code).toBe('REGISTRY.VERSION_EXISTS');
    expect(error.details?.existingDigest).toBe(first.digest);
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
      client.request('registry', 'install', { name: 'forgeone/hello', version: '1.0.0', environment: 'production' }).then(
        () => 'ok',
        (e: ForgeOneError) => e.code,
      );
    const outcomes = await Promise.all([install(), install(), install()]);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'REGISTRY.ALREADY_INSTALLED')).toHaveLength(2);
  });
});
