import 'reflect-metadata';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { ForgeOneError, KEY_AGGREGATE, KEY_EVENT_TYPES, names as namesFor, SIGNER_VERBS, type Action, type DsseEnvelope, type Names, type TrustedKeyInfo, cloudEvent } from '@forgeone/contracts';
import {
  buildPluginStatement,
  generateKeyPair,
  InMemorySigningKeyProvider,
  loadPrivateKey,
  loadTrustStore,
  pluginManifestDigest,
  serializeEnvelope,
  sha256Digest,
  signEnvelope,
  verifyPluginEnvelope,
} from '@forgeone/signing';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signerOptionsFromEnv } from '../src/signer.config.js';
import { SignerModule } from '../src/signer.module.js';

// Test fixture: a stand-in for the policy service with a fixed rule table (see startTestAuthzResponder).
const SERVICE_KEY = 'signer-test-service-key-0123456789abcdef';
const RULES: Record<string, readonly Action[]> = { admin: ['trust-key', 'revoke-key', 'read', 'sign'], developer: ['read', 'sign'] };
const TOKENS = {
  'tok-acme-admin': { id: 'ann', tenant: 'acme', role: 'admin' },
  'tok-acme-dev': { id: 'dev', tenant: 'acme', role: 'developer' },
  'tok-acme-auditor': { id: 'aud', tenant: 'acme', role: 'auditor' },
  'tok-globex-admin': { id: 'gus', tenant: 'globex', role: 'admin' },
};
const ACME_ADMIN = 'Bearer tok-acme-admin';

const manifest = {
  name: 'acme/hello',
  version: '1.0.0',
  abi: 1,
  description: 'greets',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 1024 },
};
const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
const writers = createTestEventWriters();
const createEventStore = (nc: NatsConnection, names: Names) => writers.store(nc, names);

async function startSigner(nc: NatsConnection, names: Names, platformKey?: InMemorySigningKeyProvider): Promise<INestMicroservice> {
  const logger = createLogger('signer', 'silent');
  const authorship = writers.authorship(names, 'signer');
  const context = { config: {} as never, connection: nc, names, logger, authorship, busModule: BusModule.forRoot({ connection: nc, names, authorship, logger }) };
  const app = await NestFactory.createMicroservice(SignerModule.forRoot(context, signerOptionsFromEnv({ FORGEONE_SERVICE_KEY: SERVICE_KEY }), platformKey), {
    strategy: new ForgeOneBusServer({ service: 'signer', names, connection: nc, logger, authorship }),
    logger: false,
  });
  await app.listen();
  return app;
}

describe('signer - trust store commands on the bus', () => {
  const namespace = testNamespace('sign');
  let names: Names;
  let nc: NatsConnection;
  let app: INestMicroservice;
  let client: BusClient;
  let responder: TestAuthzResponder;
  const platformPair = generateKeyPair();

  beforeAll(async () => {
    names = namesFor(namespace);
    nc = await connectNats(TEST_NATS_URL, 'signer-test');
    await provisionTestStorage(namespace);
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: serviceCredential('signer', SERVICE_KEY) });
    app = await startSigner(nc, names, new InMemorySigningKeyProvider(loadPrivateKey(platformPair.privateKeyPem)));
    client = new BusClient(nc, names);
  });

  afterAll(async () => {
    await responder?.stop();
    await app?.close();
    await nc?.close();
    await removeNamespace(namespace);
  });

  const send = <T = unknown>(verb: string, body: unknown, credential: string | null = ACME_ADMIN) =>
    client.request<T>('signer', verb, body, credential === null ? {} : { credential });
  const refusal = (verb: string, body: unknown, credential: string | null = ACME_ADMIN) =>
    send(verb, body, credential).then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: unknown) => error as ForgeOneError,
    );

  it('signer - trust, list and revoke a key; the revocation applies to the next verification', async () => {
    const pair = generateKeyPair();
    const trusted = await send<TrustedKeyInfo & { sequence: number }>(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme', validFrom: '2026-01-01T00:00:00Z' });
    expect(trusted).toMatchObject({ keyId: pair.keyId, publisher: 'acme', scope: 'acme/*', validUntil: null, trustedBy: 'ann', revokedAt: null });

    const listed = await send<{ keys: TrustedKeyInfo[] }>(SIGNER_VERBS.listKeys, {}, 'Bearer tok-acme-dev');
    expect(listed.keys.map((k) => k.keyId)).toContain(pair.keyId);

    // What the registry will do: read the store fresh and verify.
    const events = createEventStore(nc, names);
    const envelope = new TextEncoder().encode(serializeEnvelope(signEnvelope(buildPluginStatement({ wasm, manifest, publisher: 'acme' }), pair.privateKeyPem)));
    const verify = async () =>
      verifyPluginEnvelope({
        envelope,
        wasmDigest: sha256Digest(wasm),
        manifestDigest: pluginManifestDigest(manifest),
        manifest,
        trustStore: await loadTrustStore(events, 'acme'),
        signedAt: new Date(),
        now: new Date(),
      });
    expect((await verify()).ok).toBe(true);

    const revoked = await send<TrustedKeyInfo>(SIGNER_VERBS.revokeKey, { keyId: pair.keyId, reason: 'laptop lost' });
    expect(revoked).toMatchObject({ keyId: pair.keyId, revokedReason: 'laptop lost', revokedBy: 'ann' });
    expect((await verify()).reason).toBe('SIGNATURE.KEY_REVOKED');
    expect((await events.read(KEY_AGGREGATE, `acme:${pair.keyId}`)).map((e) => e.event.type)).toEqual(['io.forgeone.key.trusted.v1', 'io.forgeone.key.revoked.v1']);
  });

  it('signer - refuses a second trust, a second revocation, an unknown key and a bad key, each with its code', async () => {
    const pair = generateKeyPair();
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' });
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' })).code).toBe('KEY.ALREADY_TRUSTED');
    await send(SIGNER_VERBS.revokeKey, { keyId: pair.keyId, reason: 'rotated' });
    expect((await refusal(SIGNER_VERBS.revokeKey, { keyId: pair.keyId, reason: 'again' })).code).toBe('KEY.ALREADY_REVOKED');
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' })).code).toBe('KEY.ALREADY_REVOKED');
    expect((await refusal(SIGNER_VERBS.revokeKey, { keyId: 'f'.repeat(64), reason: 'x' })).code).toBe('KEY.NOT_FOUND');
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem.replace(/[A-Za-z]{8}/, 'AAAAAAAA'), publisher: 'acme' })).code).toBe('KEY.INVALID');
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'Acme Corp' })).code).toBe('COMMAND.INVALID');
    expect((await refusal(SIGNER_VERBS.revokeKey, { keyId: pair.keyId, reason: 'x', revokedAt: '2999-01-01T00:00:00Z' })).code).toBe('COMMAND.INVALID');
  });

  it('signer - deny by default: no token, a role without trust-key, and tenants see only their own store', async () => {
    const pair = generateKeyPair();
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' }, null)).code).toBe('AUTH.UNAUTHENTICATED');
    expect((await refusal(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' }, 'Bearer tok-acme-dev')).code).toBe('AUTHZ.DENIED');
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'globex' }, 'Bearer tok-globex-admin');
    const acme = await send<{ keys: TrustedKeyInfo[] }>(SIGNER_VERBS.listKeys, {});
    expect(acme.keys.map((k) => k.keyId)).not.toContain(pair.keyId);
    // The same key may be trusted by two tenants independently.
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme' });
    await send(SIGNER_VERBS.revokeKey, { keyId: pair.keyId, reason: 'globex stops trusting it' }, 'Bearer tok-globex-admin');
    expect((await send<{ keys: TrustedKeyInfo[] }>(SIGNER_VERBS.listKeys, {})).keys.find((k) => k.keyId === pair.keyId)?.revokedAt).toBeNull();
    // Another tenant's key does not exist for a tenant.
    const acmeOnly = generateKeyPair();
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: acmeOnly.publicKeyPem, publisher: 'acme' });
    expect((await refusal(SIGNER_VERBS.revokeKey, { keyId: acmeOnly.keyId, reason: 'not yours' }, 'Bearer tok-globex-admin')).code).toBe('KEY.NOT_FOUND');
  });

  it('signer - sign: the platform key signs a statement; the envelope verifies once the key is trusted', async () => {
    const statement = buildPluginStatement({ wasm, manifest, publisher: 'acme' });
    const reply = await send<{ envelope: DsseEnvelope; keyId: string }>(SIGNER_VERBS.sign, { statement }, 'Bearer tok-acme-dev');
    expect(reply.keyId).toBe(platformPair.keyId);
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: platformPair.publicKeyPem, publisher: 'acme', validFrom: '2026-01-01T00:00:00Z' });
    const result = verifyPluginEnvelope({
      envelope: new TextEncoder().encode(serializeEnvelope(reply.envelope)),
      wasmDigest: sha256Digest(wasm),
      manifestDigest: pluginManifestDigest(manifest),
      manifest,
      trustStore: await loadTrustStore(createEventStore(nc, names), 'acme'),
      signedAt: new Date(),
      now: new Date(),
    });
    expect(result).toMatchObject({ ok: true, keyIds: [platformPair.keyId] });
    expect((await refusal(SIGNER_VERBS.sign, { statement }, 'Bearer tok-acme-auditor')).code).toBe('AUTHZ.DENIED');
  });

  it('signer - a key.trusted event the signer did not write trusts nothing, and the real trust-key still goes through', async () => {
    const pair = generateKeyPair();
    const subject = names.eventSubject(KEY_AGGREGATE, `acme:${pair.keyId}`);
    const forged = new TextEncoder().encode(
      JSON.stringify(
        cloudEvent(KEY_AGGREGATE, `acme:${pair.keyId}`, {
          id: crypto.randomUUID(),
          type: KEY_EVENT_TYPES.trusted,
          subject: pair.keyId,
          time: new Date().toISOString(),
          data: { keyId: pair.keyId, publicKeyPem: pair.publicKeyPem, publisher: 'acme', scope: 'acme/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'ann' },
          actor: 'ann',
          tenant: 'acme',
        }),
      ),
    );
    const publish = (headers: Record<string, string>) => {
      const hdrs = natsHeaders();
      for (const [key, value] of Object.entries(headers)) hdrs.set(key, value);
      return jetstream(nc).publish(subject, forged, { headers: hdrs });
    };
    await publish({});
    await publish(writers.signatureHeaders('registry', subject, forged));
    const envelope = new TextEncoder().encode(serializeEnvelope(signEnvelope(buildPluginStatement({ wasm, manifest, publisher: 'acme' }), pair.privateKeyPem)));
    const verify = async () =>
      verifyPluginEnvelope({
        envelope,
        wasmDigest: sha256Digest(wasm),
        manifestDigest: pluginManifestDigest(manifest),
        manifest,
        trustStore: await loadTrustStore(createEventStore(nc, names), 'acme'),
        signedAt: new Date(),
        now: new Date(),
      });
    expect(await verify()).toMatchObject({ ok: false, reason: 'SIGNATURE.UNTRUSTED_KEY' });
    const listed = await send<{ keys: TrustedKeyInfo[] }>(SIGNER_VERBS.listKeys, {});
    expect(listed.keys.map((k) => k.keyId)).not.toContain(pair.keyId);
    // The forged messages sit on the key's subject; trusting it for real expects them instead of conflicting.
    await send(SIGNER_VERBS.trustKey, { publicKeyPem: pair.publicKeyPem, publisher: 'acme', validFrom: '2026-01-01T00:00:00Z' });
    expect(await verify()).toMatchObject({ ok: true, keyIds: [pair.keyId] });
  });
});

describe('signer - without a platform key', () => {
  const namespace = testNamespace('sign-nokey');
  let nc: NatsConnection;
  let app: INestMicroservice;
  let responder: TestAuthzResponder;

  afterAll(async () => {
    await responder?.stop();
    await app?.close();
    await nc?.close();
    await removeNamespace(namespace);
  });

  it('signer - sign is refused with SIGNER.KEY_NOT_CONFIGURED', async () => {
    const names = namesFor(namespace);
    nc = await connectNats(TEST_NATS_URL, 'signer-test');
    await provisionTestStorage(namespace);
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: serviceCredential('signer', SERVICE_KEY) });
    app = await startSigner(nc, names);
    const statement = buildPluginStatement({ wasm, manifest, publisher: 'acme' });
    const error = await new BusClient(nc, names).request('signer', SIGNER_VERBS.sign, { statement }, { credential: 'Bearer tok-acme-dev' }).catch((e: unknown) => e as ForgeOneError);
    expect(error).toMatchObject({ code: 'SIGNER.KEY_NOT_CONFIGURED' });
  });
});
