import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { generateApiToken, serviceCredential } from '@forgeone/authz';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import {
  AuthzDecisionSchema,
  CreateTokenReplySchema,
  ForgeOneError,
  HEADERS,
  IDENTITY_EVENT_TYPES,
  names as namesFor,
  POLICY_AGGREGATE,
  POLICY_EVENT_TYPES,
  PolicySetReplySchema,
  TOKEN_AGGREGATE,
  type AuthzCheckRequest,
  type AuthzDecision,
  type Names,
  cloudEvent,
} from '@forgeone/contracts';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, proofHeadersOf, provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyLifecycle, PolicyModule } from '../src/policy.module.js';
import type { PolicyServiceOptions } from '../src/policy.options.js';

const SERVICE_KEY = randomBytes(32).toString('base64url');
const GATEWAY = serviceCredential('gateway', SERVICE_KEY);
const writers = createTestEventWriters();
const encoder = new TextEncoder();
const AUTHENTICATION_FAILURES = { windowMs: 60_000, recordedPerSource: 1000, limitPerSource: 20 };

async function startPolicyService(nc: NatsConnection, names: Names, options: PolicyServiceOptions): Promise<INestMicroservice> {
  const logger = createLogger('policy', 'silent');
  const authorship = writers.authorship(names, 'policy');
  const context = { config: {} as never, connection: nc, names, logger, authorship, busModule: BusModule.forRoot({ connection: nc, names, authorship, logger }) };
  const created: { app?: INestMicroservice } = {};
  const app = await NestFactory.createMicroservice(PolicyModule.forRoot(context, options), {
    strategy: new ForgeOneBusServer({ service: 'policy', names, connection: nc, logger, authorship, beforeDisconnect: async () => created.app?.get(PolicyLifecycle).finishWrites() }),
    logger: false,
  });
  created.app = app;
  await app.listen();
  return app;
}

/** A token_issued envelope as the policy service would write it, for a token the forger holds. */
function tokenIssued(tenant: string, role = 'admin', principal = 'mallory') {
  const token = generateApiToken();
  const event = cloudEvent(TOKEN_AGGREGATE, token.tokenId, {
    id: randomUUID(),
    type: IDENTITY_EVENT_TYPES.tokenIssued,
    time: new Date().toISOString(),
    data: { tokenId: token.tokenId, principal, principalType: 'user', role, tenant, secretHash: token.secretHash, issuedBy: 'service.policy' },
    actor: 'service.policy',
    tenant,
  });
  return { token, payload: encoder.encode(JSON.stringify(event)) };
}

describe('policy service - events the policy service did not write change nothing', () => {
  const namespace = testNamespace('polf');
  const names = namesFor(namespace);
  const announced: string[] = [];
  let nc: NatsConnection;
  let app: INestMicroservice | undefined;
  let replica: INestMicroservice | undefined;
  let client: BusClient;
  let admin: string;
  const bootstrapSubject = () => names.eventSubject(TOKEN_AGGREGATE, 'bootstrap-admin');

  const publish = async (subject: string, payload: Uint8Array, headers: Record<string, string> = {}) => {
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(headers)) hdrs.set(key, value);
    return jetstream(nc).publish(subject, payload, { headers: hdrs });
  };
  const check = (request: AuthzCheckRequest) =>
    client.requestSubject<AuthzDecision>(names.authzCheck, request, { credential: GATEWAY }).then((reply) => AuthzDecisionSchema.parse(reply));
  const refusal = async (work: Promise<unknown>): Promise<ForgeOneError> => {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ForgeOneError);
    return error as ForgeOneError;
  };
  const command = <T>(verb: string, body: unknown, credential: string) => client.request<T>('policy', verb, body, { credential });

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'policy-forgery-test');
    await provisionTestStorage(namespace);
    client = new BusClient(nc, names);
  });

  afterAll(async () => {
    await replica?.close();
    await app?.close();
    await removeNamespace(namespace);
  });

  it('forged token_issued - admin tokens published on the bootstrap subject before the first start grant nothing, and the real bootstrap token is still issued', async () => {
    // Unsigned, signed by the registry (wrong writer for tokens), and naming the policy service with a bad signature.
    const unsigned = tokenIssued('default');
    await publish(bootstrapSubject(), unsigned.payload);
    const wrongWriter = tokenIssued('globex');
    await publish(bootstrapSubject(), wrongWriter.payload, writers.signatureHeaders('registry', bootstrapSubject(), wrongWriter.payload));
    const badSignature = tokenIssued('default');
    await publish(bootstrapSubject(), badSignature.payload, { [HEADERS.eventWriter]: 'policy', [HEADERS.eventSignature]: randomBytes(64).toString('base64') });

    app = await startPolicyService(nc, names, { serviceKey: SERVICE_KEY, recordAllows: { mode: 'none' }, authenticationFailures: AUTHENTICATION_FAILURES, announce: (line) => announced.push(line) });
    expect(announced).toHaveLength(1);
    admin = /(fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43})$/.exec(announced[0])![1];
    expect((await check({ credential: admin, action: 'read', resource: { type: 'Tenant', id: 'default', tenant: 'default' } })).decision).toBe('allow');

    for (const forged of [unsigned, wrongWriter, badSignature]) {
      const error = await refusal(check({ credential: forged.token.token, action: 'read', resource: { type: 'Tenant', id: 'globex', tenant: 'globex' } }));
      expect(error.code).toBe('AUTH.UNAUTHENTICATED');
      // The forged admin cannot issue an admin token in another tenant.
      expect((await refusal(command('token_create', { principal: 'mallory-2', role: 'admin', tenant: 'globex' }, forged.token.token))).code).toBe('AUTH.UNAUTHENTICATED');
    }
    expect(await client.checkHealth('policy')).toMatchObject({ ready: true });
  });

  it('forged token_issued - published while the service runs, on its own token subject, is refused too', async () => {
    const forged = tokenIssued('globex');
    const subject = names.eventSubject(TOKEN_AGGREGATE, forged.token.tokenId);
    await publish(subject, forged.payload, writers.signatureHeaders('signer', subject, forged.payload));
    const unsigned = tokenIssued('globex');
    await publish(names.eventSubject(TOKEN_AGGREGATE, unsigned.token.tokenId), unsigned.payload);
    // Let the live tail see them before asking.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const { token } of [forged, unsigned]) {
      expect((await refusal(check({ credential: token.token, action: 'read', resource: { type: 'Tenant', id: 'globex', tenant: 'globex' } }))).code).toBe('AUTH.UNAUTHENTICATED');
    }
    const listed = await command<{ tokens: Array<{ tokenId: string }> }>('token_list', { tenant: 'globex' }, admin);
    expect(listed.tokens.map((t) => t.tokenId)).not.toContain(forged.token.tokenId);
    expect(await client.checkHealth('policy')).toMatchObject({ ready: true });
  });

  it('replayed token_issued - a revoked token stays revoked when its genuine issue event is published again', async () => {
    const created = CreateTokenReplySchema.parse(await command('token_create', { principal: 'dev-1', role: 'developer', tenant: 'acme' }, admin));
    const subject = names.eventSubject(TOKEN_AGGREGATE, created.tokenId);
    const issued = (await jetstreamManager(nc).then((jsm) => jsm.streams.getMessage(names.stream, { last_by_subj: subject })))!;
    await command('token_revoke', { tokenId: created.tokenId, reason: 'left the team' }, admin);
    expect((await refusal(check({ credential: created.token, action: 'read', resource: { type: 'Tenant', id: 'acme', tenant: 'acme' } }))).code).toBe('AUTH.TOKEN_REVOKED');

    // The genuine bytes and headers, published again without a message id: the signature verifies, the id was seen.
    await publish(subject, issued.data, proofHeadersOf(issued.header));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await refusal(check({ credential: created.token, action: 'read', resource: { type: 'Tenant', id: 'acme', tenant: 'acme' } }))).code).toBe('AUTH.TOKEN_REVOKED');
  });

  it('replayed policy set - an older set published again does not come back, and applying still works past forged messages', async () => {
    const subject = names.eventSubject(POLICY_AGGREGATE, 'active');
    const first = (await jetstreamManager(nc).then((jsm) => jsm.streams.getMessage(names.stream, { last_by_subj: subject })))!;
    const shown = PolicySetReplySchema.parse(await command('show', {}, admin));
    const { 'developer-publish': _dropped, ...stricter } = shown.policies;
    expect(PolicySetReplySchema.parse(await command('apply', { policies: stricter, expectedVersion: 1 }, admin)).version).toBe(2);

    await publish(subject, first.data, proofHeadersOf(first.header));
    await publish(subject, encoder.encode(JSON.stringify({ type: POLICY_EVENT_TYPES.policySetApplied, data: { version: 99, policies: {} } })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(PolicySetReplySchema.parse(await command('show', {}, admin)).version).toBe(2);
    // The forged and replayed messages sit on the subject; the next apply expects them and is not wedged in conflicts.
    expect(PolicySetReplySchema.parse(await command('apply', { policies: shown.policies, expectedVersion: 2 }, admin)).version).toBe(3);
  });

  it('replicas - a second instance that folds the history from the start refuses the same forgeries and replays', async () => {
    const nc2 = await connectNats(TEST_NATS_URL, 'policy-forgery-replica');
    replica = await startPolicyService(nc2, names, { serviceKey: SERVICE_KEY, recordAllows: { mode: 'none' }, authenticationFailures: AUTHENTICATION_FAILURES, announce: () => undefined });
    await app?.close();
    app = undefined;
    const replicaClient = new BusClient(nc2, names);
    expect(PolicySetReplySchema.parse(await replicaClient.request('policy', 'show', {}, { credential: admin })).version).toBe(3);
    const revoked = await replicaClient.request<{ tokens: Array<{ principal: string; revokedAt?: string | null }> }>('policy', 'token_list', { tenant: 'acme' }, { credential: admin });
    expect(revoked.tokens.find((t) => t.principal === 'dev-1')?.revokedAt).toEqual(expect.any(String));
    const globex = await replicaClient.request<{ tokens: unknown[] }>('policy', 'token_list', { tenant: 'globex' }, { credential: admin });
    expect(globex.tokens).toEqual([]);
    expect(await replicaClient.checkHealth('policy')).toMatchObject({ ready: true });
  });
});
