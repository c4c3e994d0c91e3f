// Over 400 lines: the scenarios share the service's setup on real servers and its helpers; split into files,
// each would repeat that setup.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { DEFAULT_POLICIES, serviceCredential } from '@forgeone/authz';
import { BusClient, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import {
  AuthzDecisionSchema,
  CreateTokenReplySchema,
  DECISION_AGGREGATE,
  ForgeOneError,
  IDENTITY_EVENT_TYPES,
  names as namesFor,
  OWN_TENANT,
  POLICY_AGGREGATE,
  POLICY_EVENT_TYPES,
  PolicySetReplySchema,
  TOKEN_AGGREGATE,
  TokenListReplySchema,
  type AuthzCheckRequest,
  type AuthzDecision,
  type Names,
} from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import { createLogger } from '@forgeone/telemetry';
import { createTestEventWriters, provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyServiceOptions } from '../src/policy.options.js';
import { BREAK_GLASS_POLICY_ID } from '../src/authorization.gate.js';
import { PolicyLifecycle, PolicyModule } from '../src/policy.module.js';

const SERVICE_KEY = randomBytes(32).toString('base64url');
const GATEWAY = serviceCredential('gateway', SERVICE_KEY);
const ENV_BOOTSTRAP = `env-bootstrap-${randomBytes(8).toString('hex')}`;
const writers = createTestEventWriters();
// Every failed authentication of the tests below is recorded one by one; the bounds have a describe of their own.
const RECORD_EVERY_FAILURE = { windowMs: 60_000, recordedPerSource: 1000, limitPerSource: 20 };

async function startPolicyService(nc: NatsConnection, names: Names, options: PolicyServiceOptions): Promise<INestMicroservice> {
  const logger = createLogger('policy', 'silent');
  const authorship = writers.authorship(names, 'policy');
  const context = { config: {} as never, connection: nc, names, logger, authorship, busModule: BusModule.forRoot({ connection: nc, names, authorship, logger }) };
  const created: { app?: INestMicroservice } = {};
  const app = await NestFactory.createMicroservice(PolicyModule.forRoot(context, options), {
    // As main.ts wires it: the open window's counts are written before the connection is drained.
    strategy: new ForgeOneBusServer({ service: 'policy', names, connection: nc, logger, authorship, beforeDisconnect: async () => created.app?.get(PolicyLifecycle).finishWrites() }),
    logger: false,
  });
  created.app = app;
  await app.listen();
  return app;
}

describe('policy service - tokens, decisions and policy sets over NATS', () => {
  const namespace = testNamespace('pol');
  const names = namesFor(namespace);
  const announced: string[] = [];
  let nc: NatsConnection;
  let nc2: NatsConnection;
  let app: INestMicroservice;
  let replica: INestMicroservice | undefined;
  let client: BusClient;
  let store: JetStreamEventStore;
  let admin: string;

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'policy-test');
    await provisionTestStorage(namespace);
    app = await startPolicyService(nc, names, {
      serviceKey: SERVICE_KEY,
      recordAllows: { mode: 'all' },
      authenticationFailures: RECORD_EVERY_FAILURE,
      announce: (line) => announced.push(line),
    });
    client = new BusClient(nc, names);
    store = writers.store(nc, names);
  });

  afterAll(async () => {
    await replica?.close();
    await app?.close();
    await removeNamespace(namespace);
  });

  const command = <T>(verb: string, body: unknown, credential?: string) => client.request<T>('policy', verb, body, credential ? { credential } : {});
  const check = (request: AuthzCheckRequest, on: BusClient = client) =>
    on.requestSubject<AuthzDecision>(names.authzCheck, request, { credential: GATEWAY }).then((reply) => AuthzDecisionSchema.parse(reply));
  const refusal = async (work: Promise<unknown>): Promise<ForgeOneError> => {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ForgeOneError);
    return error as ForgeOneError;
  };
  const createToken = async (body: Record<string, unknown>, credential = admin) => CreateTokenReplySchema.parse(await command('token_create', body, credential));
  const plugin = (tenant: string, extra: Record<string, unknown> = {}) => ({ type: 'Plugin' as const, id: `${tenant}/hello`, tenant, ...extra });

  it('first start - applies the default policies as version 1 and shows one bootstrap admin token once', async () => {
    expect(announced).toHaveLength(1);
    const match = /^ForgeOne bootstrap admin token \(shown once\): (fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43})$/.exec(announced[0]);
    expect(match).not.toBeNull();
    admin = match![1];
    const shown = PolicySetReplySchema.parse(await command('show', {}, admin));
    expect(shown).toMatchObject({ version: 1, appliedBy: 'service.policy' });
    expect(Object.keys(shown.policies)).toEqual(Object.keys(DEFAULT_POLICIES));
    // Only the hash of the secret is stored.
    const [issued] = await store.read(TOKEN_AGGREGATE, 'bootstrap-admin');
    expect(issued.event.type).toBe(IDENTITY_EVENT_TYPES.tokenIssued);
    expect(issued.event.data).toMatchObject({ principal: 'bootstrap-admin', role: 'admin', tenant: 'default' });
    expect(JSON.stringify(issued.event)).not.toContain(admin.slice(20));
  });

  it('token create - the token is printed once and decides as its role: allow and deny', async () => {
    const created = await createToken({ principal: 'dev-1', role: 'developer', tenant: 'acme' });
    expect(created).toMatchObject({ principal: 'dev-1', role: 'developer', tenant: 'acme' });
    const [issued] = await store.read(TOKEN_AGGREGATE, created.tokenId);
    expect(JSON.stringify(issued.event)).not.toContain(created.token.slice(20));

    const allowed = await check({ credential: created.token, action: 'publish', resource: plugin('acme') });
    expect(allowed).toMatchObject({ decision: 'allow', policyIds: ['developer-publish'], policyVersion: 1, principal: { id: 'dev-1', tenant: 'acme', roles: ['developer'], tokenId: created.tokenId } });
    const denied = await check({ credential: created.token, action: 'install', resource: plugin('acme'), context: { environment: 'production' } });
    expect(denied).toMatchObject({ decision: 'deny', policyIds: [] });
    const staging = await check({ credential: created.token, action: 'install', resource: plugin('acme'), context: { environment: 'staging' } });
    expect(staging).toMatchObject({ decision: 'allow', policyIds: ['developer-install-non-production'] });
  });

  it('decision record - a denial is an event with principal, action, resource and policy ids', async () => {
    const created = await createToken({ principal: 'dev-2', role: 'developer', tenant: 'acme' });
    const denied = await check({ credential: created.token, action: 'install', resource: plugin('acme'), context: { environment: 'production' } });
    const crossTenant = await check({ credential: created.token, action: 'read', resource: plugin('globex') });
    expect(crossTenant).toMatchObject({ decision: 'deny', policyIds: ['forbid-cross-tenant'] });

    const acme = await store.read(DECISION_AGGREGATE, 'acme');
    const record = acme.find((e) => e.event.id === denied.decisionId);
    expect(record?.event).toMatchObject({ type: POLICY_EVENT_TYPES.decisionRecorded, actor: 'dev-2', tenant: 'acme' });
    expect(record?.event.data).toEqual({
      decisionId: denied.decisionId,
      decision: 'deny',
      principal: 'dev-2',
      principalTenant: 'acme',
      action: 'install',
      resource: { type: 'Plugin', id: 'acme/hello', tenant: 'acme' },
      environment: 'production',
      policyIds: [],
      policyVersion: 1,
    });
    const globex = await store.read(DECISION_AGGREGATE, 'globex');
    expect(globex.find((e) => e.event.id === crossTenant.decisionId)?.event.data).toMatchObject({ principal: 'dev-2', policyIds: ['forbid-cross-tenant'] });

    // A dry run records nothing.
    const dry = await check({ credential: created.token, action: 'read', resource: plugin('acme'), dryRun: true });
    expect((await store.read(DECISION_AGGREGATE, 'acme')).some((e) => e.event.id === dry.decisionId)).toBe(false);
  });

  it("own tenant - a resource without a tenant, or the Tenant @own, is the principal's: decided and recorded as such", async () => {
    const dev = await createToken({ principal: 'dev-12', role: 'developer', tenant: 'acme' });
    const auditor = await createToken({ principal: 'aud-12', role: 'auditor', tenant: 'acme' });
    const unnamed = { type: 'Plugin' as const, id: 'acme/hello' };
    expect(await check({ credential: dev.token, action: 'publish', resource: unnamed })).toMatchObject({ decision: 'allow', principal: { id: 'dev-12', tenant: 'acme' } });
    const denied = await check({ credential: dev.token, action: 'install', resource: unnamed, context: { environment: 'production' } });
    expect(denied).toMatchObject({ decision: 'deny', principal: { tenant: 'acme' } });
    expect(await check({ credential: auditor.token, action: 'read-audit', resource: { type: 'Tenant', id: OWN_TENANT } })).toMatchObject({
      decision: 'allow',
      policyIds: ['auditor-read-audit'],
      principal: { tenant: 'acme' },
    });
    const ownRead = await check({ credential: auditor.token, action: 'read', resource: { type: 'Tenant', id: OWN_TENANT } });
    expect(ownRead.decision).toBe('deny');
    // A Tenant named without a tenant owns itself: another tenant's, refused as cross-tenant.
    const other = await check({ credential: dev.token, action: 'read', resource: { type: 'Tenant', id: 'globex' } });
    expect(other).toMatchObject({ decision: 'deny', policyIds: ['forbid-cross-tenant'] });
    // @own is the caller's tenant: naming another owner for it is a contradiction.
    expect((await refusal(check({ credential: dev.token, action: 'read', resource: { type: 'Tenant', id: OWN_TENANT, tenant: 'globex' } }))).code).toBe('COMMAND.INVALID');

    const acme = await store.read(DECISION_AGGREGATE, 'acme');
    const dataOf = (decisionId: string) => acme.find((e) => e.event.id === decisionId)?.event.data;
    expect(dataOf(denied.decisionId)).toMatchObject({ principal: 'dev-12', resource: { type: 'Plugin', id: 'acme/hello', tenant: 'acme' }, environment: 'production' });
    expect(dataOf(ownRead.decisionId)).toMatchObject({ principal: 'aud-12', action: 'read', resource: { type: 'Tenant', id: 'acme', tenant: 'acme' } });
    const globex = await store.read(DECISION_AGGREGATE, 'globex');
    expect(globex.find((e) => e.event.id === other.decisionId)?.event.data).toMatchObject({ resource: { type: 'Tenant', id: 'globex', tenant: 'globex' } });

    // Nobody's tenant is known for a forged token: its refusal is the platform's record.
    const forged = await refusal(check({ credential: `fo_${dev.tokenId}_${randomBytes(32).toString('base64url')}`, action: 'read', resource: { type: 'Tenant', id: OWN_TENANT } }));
    expect(forged.code).toBe('AUTH.UNAUTHENTICATED');
    const platform = await store.read(DECISION_AGGREGATE, 'default');
    expect(platform.find((e) => e.event.id === forged.details?.decisionId)?.event.data).toMatchObject({
      principal: 'anonymous',
      reason: 'invalid token',
      resource: { type: 'Tenant', id: 'default', tenant: 'default' },
    });
  });

  it('bad credentials - missing, forged and truncated tokens are refused and recorded', async () => {
    const created = await createToken({ principal: 'dev-3', role: 'developer', tenant: 'acme' });
    const forged = `fo_${created.tokenId}_${randomBytes(32).toString('base64url')}`;
    for (const [credential, reason] of [
      [undefined, 'no credential'],
      [forged, 'invalid token'],
      [created.token.slice(0, -3), 'malformed token'],
    ] as const) {
      const error = await refusal(check({ ...(credential ? { credential } : {}), action: 'read', resource: plugin('acme') }));
      expect(error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(error.message).not.toContain(created.token.slice(20, 40));
      const recorded = (await store.read(DECISION_AGGREGATE, 'acme')).find((e) => e.event.id === error.details?.decisionId);
      expect(recorded?.event.data).toMatchObject({ decision: 'deny', principal: 'anonymous', reason, source: 'bus', via: 'service.gateway' });
    }
    // Over 4096 characters: refused as too long, on authz.check and on the policy service's own commands.
    const long = `fo_${'a'.repeat(5000)}`;
    const tooLong = await refusal(command('show', {}, long));
    expect(tooLong.code).toBe('AUTH.UNAUTHENTICATED');
    expect(tooLong.message).toMatch(/^the credential is 5003 characters long, more than the 4096/);
    const recordedLong = (await store.read(DECISION_AGGREGATE, 'default')).find((e) => e.event.id === tooLong.details?.decisionId);
    expect(recordedLong?.event.data).toMatchObject({ reason: 'credential too long', source: 'bus', via: 'service.policy' });
    // The token itself still works.
    expect((await check({ credential: created.token, action: 'read', resource: plugin('acme') })).decision).toBe('allow');
  });

  it('authz.check - answers ForgeOne services only', async () => {
    const created = await createToken({ principal: 'dev-4', role: 'developer', tenant: 'acme' });
    const request = { credential: created.token, action: 'read', resource: plugin('acme') };
    for (const header of [undefined, created.token, serviceCredential('gateway', 'x'.repeat(40))]) {
      const error = await refusal(client.requestSubject(names.authzCheck, request, header ? { credential: header } : {}));
      expect(error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(error.message).toMatch(/answers ForgeOne services only/);
    }
    // A service may also ask about itself.
    const runner = serviceCredential('sandbox-runner', SERVICE_KEY);
    expect(await check({ credential: runner, action: 'read', resource: plugin('globex') })).toMatchObject({
      decision: 'allow',
      principal: { id: 'service.sandbox-runner', type: 'service' },
      policyIds: ['platform-services-read'],
    });
  });

  it('revoke - the token is refused with AUTH.TOKEN_REVOKED from then on', async () => {
    const created = await createToken({ principal: 'dev-5', role: 'developer', tenant: 'acme' });
    expect((await check({ credential: created.token, action: 'read', resource: plugin('acme') })).decision).toBe('allow');
    const revoked = await command<{ revokedAt: string; alreadyRevoked: boolean }>('token_revoke', { tokenId: created.tokenId, reason: 'laptop lost' }, admin);
    expect(revoked).toMatchObject({ tokenId: created.tokenId, revokedReason: 'laptop lost', alreadyRevoked: false });
    const error = await refusal(check({ credential: created.token, action: 'read', resource: plugin('acme') }));
    expect(error.code).toBe('AUTH.TOKEN_REVOKED');
    expect(error.message).toMatch(/laptop lost/);
    const recorded = (await store.read(DECISION_AGGREGATE, 'acme')).find((e) => e.event.id === error.details?.decisionId);
    expect(recorded?.event.data).toMatchObject({ principal: 'dev-5', reason: 'token revoked' });
    expect(await command('token_revoke', { tokenId: created.tokenId, reason: 'again' }, admin)).toMatchObject({ alreadyRevoked: true, revokedReason: 'laptop lost' });
    expect((await store.read(TOKEN_AGGREGATE, created.tokenId)).map((e) => e.event.type)).toEqual([IDENTITY_EVENT_TYPES.tokenIssued, IDENTITY_EVENT_TYPES.tokenRevoked]);
  });

  it('expiry - a token works until it expires and is refused with AUTH.TOKEN_EXPIRED after', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const created = await createToken({ principal: 'dev-6', role: 'developer', tenant: 'acme', expiresAt });
    expect((await check({ credential: created.token, action: 'read', resource: plugin('acme') })).decision).toBe('allow');
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));
    const error = await refusal(check({ credential: created.token, action: 'read', resource: plugin('acme') }));
    expect(error.code).toBe('AUTH.TOKEN_EXPIRED');
    expect(error.message).toContain(expiresAt);
    const past = await refusal(createToken({ principal: 'dev-7', role: 'developer', tenant: 'acme', expiresAt: '2001-01-01T00:00:00Z' }));
    expect(past.message).toMatch(/is in the past/);
  });

  it('bad input - unknown roles, reserved principals and malformed requests change nothing', async () => {
    const before = TokenListReplySchema.parse(await command('token_list', { tenant: 'acme' }, admin)).tokens.length;
    const unknownRole = await refusal(createToken({ principal: 'dev-8', role: 'superuser', tenant: 'acme' }));
    expect(unknownRole.code).toBe('IDENTITY.UNKNOWN_ROLE');
    expect(unknownRole.message).toBe('role "superuser" is unknown: use one of admin, release-manager, developer, operator, auditor, approver, watcher');
    expect((await refusal(createToken({ principal: 'bootstrap-admin', role: 'admin' }))).message).toMatch(/reserved/);
    expect((await refusal(createToken({ principal: 'Ann@Example.com', role: 'admin' }))).code).toBe('COMMAND.INVALID');
    expect(TokenListReplySchema.parse(await command('token_list', { tenant: 'acme' }, admin)).tokens.length).toBe(before);
    expect((await refusal(command('token_revoke', { tokenId: 'ffffffffffffffff', reason: 'x' }, admin))).code).toBe('IDENTITY.TOKEN_NOT_FOUND');
    expect((await refusal(command('show', {}, undefined))).code).toBe('AUTH.UNAUTHENTICATED');
  });

  it('policy apply - malformed Cedar and schema violations are refused with Cedar\'s message; the version stays', async () => {
    const policyEvents = async () => (await store.read(POLICY_AGGREGATE, 'active')).length;
    const before = await policyEvents();
    const malformed = await refusal(command('apply', { policies: 'permit (principal, action, resource) when { 1 + };' }, admin));
    expect(malformed.code).toBe('POLICY.INVALID');
    expect(malformed.message).toMatch(/unexpected token `}` \(line 1, column/);
    const violation = await refusal(command('apply', { policies: '@id("p") permit (principal, action, resource is ForgeOne::Plugin) when { resource.owner == "me" };' }, admin));
    expect(violation.code).toBe('POLICY.SCHEMA_VIOLATION');
    expect(violation.message).toMatch(/attribute `owner` on entity type `ForgeOne::Plugin` not found/);
    expect(await policyEvents()).toBe(before);
    expect(PolicySetReplySchema.parse(await command('show', {}, admin)).version).toBe(1);
  });

  it('policy apply - a stricter set changes decisions at once; a stale version is refused', async () => {
    const dev = await createToken({ principal: 'dev-9', role: 'developer', tenant: 'acme' });
    expect((await check({ credential: dev.token, action: 'publish', resource: plugin('acme') })).decision).toBe('allow');
    const { 'developer-publish': _dropped, ...stricter } = DEFAULT_POLICIES;
    const applied = PolicySetReplySchema.parse(await command('apply', { policies: stricter, expectedVersion: 1 }, admin));
    expect(applied).toMatchObject({ version: 2, appliedBy: 'bootstrap-admin' });
    expect(await check({ credential: dev.token, action: 'publish', resource: plugin('acme') })).toMatchObject({ decision: 'deny', policyVersion: 2 });
    const stale = await refusal(command('apply', { policies: DEFAULT_POLICIES, expectedVersion: 1 }, admin));
    expect(stale.code).toBe('POLICY.CONFLICT');
    const [, second] = await store.read(POLICY_AGGREGATE, 'active');
    expect(second.event.data).toMatchObject({ version: 2, appliedBy: 'bootstrap-admin', sha256: applied.sha256 });
    // Back to the defaults for the tests that follow.
    expect(PolicySetReplySchema.parse(await command('apply', { policies: DEFAULT_POLICIES, expectedVersion: 2 }, admin)).version).toBe(3);
  });

  it('policy apply - the platform administrator can always repair a set that locks everybody out', async () => {
    const lockout = PolicySetReplySchema.parse(await command('apply', { policies: '@id("deny-all") forbid (principal, action, resource);' }, admin));
    expect(lockout.version).toBe(4);
    const denied = await refusal(createToken({ principal: 'dev-11', role: 'developer', tenant: 'acme' }));
    expect(denied.code).toBe('AUTHZ.DENIED');
    expect(denied.details?.policyIds).toEqual(['deny-all']);
    const repaired = PolicySetReplySchema.parse(await command('apply', { policies: DEFAULT_POLICIES, expectedVersion: 4 }, admin));
    expect(repaired.version).toBe(5);
    // The repair is on record as an allow by the built-in rule, not by the set that denied it.
    let recorded;
    for (let i = 0; i < 40 && !recorded; i++) {
      recorded = (await store.read(DECISION_AGGREGATE, 'default')).find(
        (e) => (e.event.data as { action: string; policyIds: string[] }).action === 'apply-policy' && (e.event.data as { policyIds: string[] }).policyIds[0] === BREAK_GLASS_POLICY_ID,
      );
      if (!recorded) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(recorded?.event.data).toMatchObject({ decision: 'allow', principal: 'bootstrap-admin', policyVersion: 4 });
    expect((await createToken({ principal: 'dev-11', role: 'developer', tenant: 'acme' })).role).toBe('developer');
  });

  it('policy check - answers what-if questions with the deciding policy ids', async () => {
    await createToken({ principal: 'rel-1', role: 'release-manager', tenant: 'acme' });
    const ask = (body: Record<string, unknown>) => command<{ decision: string; policyIds: string[] }>('check', body, admin);
    expect(await ask({ principal: 'dev-1', action: 'install', resource: plugin('acme'), environment: 'production' })).toMatchObject({ decision: 'deny', policyIds: [] });
    expect(await ask({ principal: 'rel-1', action: 'install', resource: plugin('acme'), environment: 'production' })).toMatchObject({
      decision: 'allow',
      policyIds: ['release-manager-release'],
    });
    expect(await ask({ principal: 'someone', role: 'auditor', tenant: 'acme', action: 'read-audit', resource: { type: 'Tenant', id: 'acme', tenant: 'acme' } })).toMatchObject({
      decision: 'allow',
      policyIds: ['auditor-read-audit'],
    });
    expect((await refusal(ask({ principal: 'nobody', action: 'read', resource: plugin('acme') }))).code).toBe('IDENTITY.TOKEN_NOT_FOUND');
    // A resource without a tenant is in the check's tenant, else the caller's (the administrator's: default).
    const unnamed = { type: 'Plugin', id: 'acme/hello' };
    expect(await ask({ principal: 'rel-1', tenant: 'acme', action: 'install', resource: unnamed, environment: 'production' })).toMatchObject({
      decision: 'allow',
      policyIds: ['release-manager-release'],
    });
    expect(await ask({ principal: 'rel-1', action: 'install', resource: unnamed, environment: 'production' })).toMatchObject({
      decision: 'deny',
      policyIds: ['forbid-cross-tenant'],
    });
    expect(await ask({ principal: 'someone', role: 'auditor', tenant: 'acme', action: 'read-audit', resource: { type: 'Tenant', id: OWN_TENANT } })).toMatchObject({
      decision: 'allow',
    });
  });

  it('tenants - an admin of one tenant can neither see nor touch another tenant', async () => {
    const acmeAdmin = (await createToken({ principal: 'acme-admin', role: 'admin', tenant: 'acme' })).token;
    const globexDev = await createToken({ principal: 'globex-dev', role: 'developer', tenant: 'globex' });
    // Within its tenant it manages tokens.
    const own = await createToken({ principal: 'acme-ops', role: 'operator' }, acmeAdmin);
    expect(own.tenant).toBe('acme');
    const denied = await refusal(createToken({ principal: 'intruder', role: 'admin', tenant: 'globex' }, acmeAdmin));
    expect(denied.code).toBe('AUTHZ.DENIED');
    expect(denied.details?.policyIds).toEqual(['forbid-cross-tenant']);
    expect((await refusal(command('token_list', { tenant: 'globex' }, acmeAdmin))).code).toBe('AUTHZ.DENIED');
    const listed = TokenListReplySchema.parse(await command('token_list', {}, acmeAdmin));
    expect(listed.tokens.every((t) => t.tenant === 'acme')).toBe(true);
    expect((await refusal(command('token_revoke', { tokenId: globexDev.tokenId, reason: 'mine now' }, acmeAdmin))).code).toBe('IDENTITY.TOKEN_NOT_FOUND');
    // The policy set is platform-wide: a tenant admin reads it but cannot change it.
    expect(PolicySetReplySchema.parse(await command('show', {}, acmeAdmin)).version).toBe(5);
    const apply = await refusal(command('apply', { policies: 'permit (principal, action, resource);' }, acmeAdmin));
    expect(apply.code).toBe('AUTHZ.DENIED');
    expect((await check({ credential: acmeAdmin, action: 'install', resource: plugin('globex'), context: { environment: 'staging' } })).policyIds).toEqual(['forbid-cross-tenant']);
  });

  it('replicas - a second instance loads the same state, takes the env bootstrap token and follows changes', async () => {
    nc2 = await connectNats(TEST_NATS_URL, 'policy-test-replica');
    const announcedByReplica: string[] = [];
    replica = await startPolicyService(nc2, names, {
      serviceKey: SERVICE_KEY,
      bootstrapToken: ENV_BOOTSTRAP,
      recordAllows: { mode: 'none' },
      authenticationFailures: RECORD_EVERY_FAILURE,
      announce: (line) => announcedByReplica.push(line),
    });
    expect(announcedByReplica).toEqual([]);
    const replicaClient = new BusClient(nc2, names);
    // The first instance stops answering so every request below reaches the replica.
    await app.close();
    const shown = PolicySetReplySchema.parse(await replicaClient.request('policy', 'show', {}, { credential: ENV_BOOTSTRAP }));
    expect(shown.version).toBe(5);
    expect(await replicaClient.request('policy', 'show', {}, { credential: admin })).toMatchObject({ version: 5 });
    const created = CreateTokenReplySchema.parse(
      await replicaClient.request('policy', 'token_create', { principal: 'dev-10', role: 'developer', tenant: 'acme' }, { credential: ENV_BOOTSTRAP }),
    );
    expect((await check({ credential: created.token, action: 'publish', resource: plugin('acme') }, replicaClient)).decision).toBe('allow');
    expect((await writers.store(nc2, names).read(TOKEN_AGGREGATE, 'bootstrap-admin')).length).toBe(1);
  });
});

describe('policy service - failed authentications are recorded boundedly', () => {
  const namespace = testNamespace('pol-flood');
  const names = namesFor(namespace);
  const WINDOW_MS = 3_000;
  let nc: NatsConnection;
  let app: INestMicroservice | undefined;
  let client: BusClient;
  let store: JetStreamEventStore;

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'policy-flood-test');
    await provisionTestStorage(namespace);
    // The service drains its own connection when it stops; the test keeps reading on nc.
    app = await startPolicyService(await connectNats(TEST_NATS_URL, 'policy-flood-service'), names, {
      serviceKey: SERVICE_KEY,
      bootstrapToken: ENV_BOOTSTRAP,
      recordAllows: { mode: 'none' },
      authenticationFailures: { windowMs: WINDOW_MS, recordedPerSource: 5, limitPerSource: 20 },
      announce: () => undefined,
    });
    client = new BusClient(nc, names);
    store = writers.store(nc, names);
  });

  afterAll(async () => {
    await app?.close();
    await nc?.close();
    await removeNamespace(namespace);
  });

  const badToken = () => `fo_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const check = (credential: string, source: string) =>
    client.requestSubject<AuthzDecision>(names.authzCheck, { credential, action: 'read', resource: { type: 'Plugin', id: 'acme/hello', tenant: 'acme' }, source }, { credential: GATEWAY });
  const failuresOf = async (source: string) => {
    const events = (await store.read(DECISION_AGGREGATE, 'acme')).map((e) => e.event);
    const single = events.filter((e) => e.type === POLICY_EVENT_TYPES.decisionRecorded && (e.data as { source?: string }).source === source);
    const counted = events.filter((e) => e.type === POLICY_EVENT_TYPES.authenticationFailuresCounted && (e.data as { source: string }).source === source);
    return { single, counted, total: single.length + counted.reduce((sum, e) => sum + (e.data as { count: number }).count, 0) };
  };

  it('500 bad tokens from one source: the first 5 per window recorded one by one, the rest as one count per window; others unaffected', async () => {
    const flooder = 'http 203.0.113.7';
    const codes: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => check(badToken(), flooder).then(() => 'allowed', (e: ForgeOneError) => e.code)));
      codes.push(...results);
    }
    expect(codes).toEqual(Array(500).fill('AUTH.UNAUTHENTICATED'));

    // Meanwhile another client's failure is recorded one by one, and a good credential is allowed.
    const other = await check(badToken(), 'http 198.51.100.1').catch((e: ForgeOneError) => e);
    expect((other as ForgeOneError).details?.decisionId).toEqual(expect.any(String));
    expect((await check(ENV_BOOTSTRAP, flooder)).decision).toBe('allow');

    // Once the windows have closed, all 500 are on record: a few one by one, the rest counted.
    await expect.poll(async () => (await failuresOf(flooder)).total, { timeout: 3 * WINDOW_MS + 10_000, interval: 250 }).toBe(500);
    const { single, counted } = await failuresOf(flooder);
    const windows = new Set(counted.map((e) => (e.data as { windowStart: string }).windowStart));
    expect(windows.size).toBe(counted.length);
    expect(single.length).toBeLessThanOrEqual(5 * windows.size);
    expect(single.length + counted.length).toBeLessThanOrEqual(6 * windows.size);
    expect(windows.size).toBeLessThanOrEqual(4);
    expect(counted[0].data).toMatchObject({ source: flooder, via: 'service.gateway', reasons: { 'invalid token': expect.any(Number) } });
    expect(counted[0]).toMatchObject({ type: POLICY_EVENT_TYPES.authenticationFailuresCounted, tenant: 'acme', actor: 'service.policy' });
  });

  it('stopping the service writes the count of the open window', async () => {
    const source = 'http 192.0.2.44';
    // Start just after a window opens (windows are aligned to the clock), so all 12 fall in one.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS - (Date.now() % WINDOW_MS) + 50));
    for (let i = 0; i < 12; i++) await check(badToken(), source).catch(() => undefined);
    await app?.close();
    app = undefined;
    const { single, counted } = await failuresOf(source);
    expect(single).toHaveLength(5);
    expect(counted.map((e) => e.data)).toEqual([expect.objectContaining({ source, count: 7, recorded: 5 })]);
  });
});

describe('policy service - allows still being recorded when it stops', () => {
  const namespace = testNamespace('polstop');
  const names = namesFor(namespace);
  let nc: NatsConnection;
  let app: INestMicroservice | undefined;

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'policy-stop-test');
    await provisionTestStorage(namespace);
    // The service drains its own connection when it stops; the test keeps reading on nc.
    app = await startPolicyService(await connectNats(TEST_NATS_URL, 'policy-stop-service'), names, {
      serviceKey: SERVICE_KEY,
      bootstrapToken: ENV_BOOTSTRAP,
      recordAllows: { mode: 'all' },
      authenticationFailures: RECORD_EVERY_FAILURE,
      announce: () => undefined,
    });
  });

  afterAll(async () => {
    await app?.close();
    await nc?.close();
    await removeNamespace(namespace);
  });

  it('every allow answered before the stop is on record after it', async () => {
    const client = new BusClient(nc, names);
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.requestSubject<AuthzDecision>(names.authzCheck, { credential: ENV_BOOTSTRAP, action: 'read', resource: { type: 'Plugin', id: `acme/plugin-${i}`, tenant: 'acme' } }, { credential: GATEWAY }),
      ),
    );
    expect(decisions.map((d) => d.decision)).toEqual(Array(20).fill('allow'));
    // Stopped at once: the allows are still waiting for their window or their acknowledgement.
    await app?.close();
    app = undefined;
    const recorded = new Set((await writers.store(nc, names).read(DECISION_AGGREGATE, 'acme')).map((e) => e.event.id));
    expect(decisions.filter((d) => !recorded.has(d.decisionId))).toEqual([]);
  });
});
