// Over 400 lines: the scenarios share the service's setup on real servers and its helpers; split into files,
// each would repeat that setup.
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { serviceCredential } from '@forgeone/authz';
import { startTestAuthzResponder, type TestAuthzResponder } from '@forgeone/authz-client';
import { BusContext, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { ForgeOneError, names as makeNames, PLUGIN_EVENT_TYPES, cloudEvent, PLUGIN_AGGREGATE, tenantAggregateId } from '@forgeone/contracts';
import { applyEvent, createDataSource, runMigrations } from '@forgeone/persistence';
import { initTelemetry, shutdownTelemetry } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import { Controller, Module, type DynamicModule, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import pg from 'pg';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../src/gateway.app.js';
import { parseTrustedProxies } from '../src/gateway.config.js';
import { ProjectionsReader, projectionsReadiness } from '../src/projections.reader.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const ADMIN_URL = process.env.FORGEONE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const namespace = `t-gw-${randomUUID().slice(0, 8)}`;
const names = makeNames(namespace);
const SERVICE_KEY = randomBytes(36).toString('base64');
const GATEWAY_CREDENTIAL = serviceCredential('gateway', SERVICE_KEY);

// Tokens the stand-in policy (a real responder on authz.check) knows, and what each role may do.
const DEV = `tok-dev-${randomUUID()}`;
const AUDITOR = `tok-auditor-${randomUUID()}`;
const GLOBEX_DEV = `tok-globex-${randomUUID()}`;
const NOBODY = `tok-nobody-${randomUUID()}`;
const TOKEN = `Bearer ${DEV}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const BODY_MARKER = `marker${randomBytes(4).toString('hex')}`;
const digest = `sha256:${'c'.repeat(64)}`;

const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

// What the stand-in registry saw of each command.
interface Received {
  readonly verb: string;
  readonly body: unknown;
  readonly credential: string | null;
  readonly traceparent: string | null;
}
const received: Received[] = [];
// The Forgeone-Source header of each command, in the same order.
const receivedSources: (string | null)[] = [];
const record = (verb: string, body: unknown, ctx: BusContext) => {
  receivedSources.push(ctx.header('Forgeone-Source') ?? null);
  received.push({ verb, body, credential: ctx.credential ?? null, traceparent: ctx.header('traceparent') ?? null });
};

// Sequences the stand-in registry answers with; the test moves the projector checkpoint itself.
const PROJECTED_SEQUENCE = 41;
const NEVER_PROJECTED_SEQUENCE = 9_000_000;

@Controller()
class StandInRegistryController {
  @MessagePattern('registry.install')
  install(@Payload() body: { name: string; version: string }, @Ctx() ctx: BusContext): never {
    record('install', body, ctx);
    throw new ForgeOneError('REGISTRY.VERSION_NOT_FOUND', `${body.name} ${body.version} is not published; publish it first`, { name: body.name, version: body.version });
  }

  @MessagePattern('registry.upgrade')
  upgrade(@Payload() body: { name: string; version: string; environment: string }, @Ctx() ctx: BusContext) {
    record('upgrade', body, ctx);
    return { ...body, digest, eventId: randomUUID(), sequence: PROJECTED_SEQUENCE };
  }

  @MessagePattern('registry.remove')
  remove(@Payload() body: { name: string; environment: string }, @Ctx() ctx: BusContext) {
    record('remove', body, ctx);
    return { ...body, version: '1.0.0', digest, eventId: randomUUID(), sequence: NEVER_PROJECTED_SEQUENCE };
  }
}

// Token ids the stand-in policy service knows for revocation.
const KNOWN_TOKEN_ID = '0123456789abcdef';

@Controller()
class StandInPolicyController {
  @MessagePattern('policy.apply')
  apply(@Payload() body: { policies: unknown; expectedVersion?: number }, @Ctx() ctx: BusContext) {
    record('policy.apply', body, ctx);
    if (body.expectedVersion === 1) throw new ForgeOneError('POLICY.CONFLICT', 'the policy set is at version 2, not 1: run policy show, merge your change and apply again');
    if (typeof body.policies === 'string' && !body.policies.trim().endsWith(';')) {
      throw new ForgeOneError('POLICY.INVALID', 'policy 0: unexpected end of input; fix the Cedar text and apply again');
    }
    return { version: 3, sha256: 'f'.repeat(64), policies: { p1: String(body.policies) }, appliedBy: 'bootstrap-admin', warnings: [] };
  }

  @MessagePattern('policy.show')
  show(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    record('policy.show', body, ctx);
    if (ctx.credential === `Bearer ${AUDITOR}`) {
      throw new ForgeOneError('AUTHZ.DENIED', 'carol may not read-policy Tenant acme (no policy allows it)', { principal: 'carol', policyIds: [] });
    }
    return { version: 2, sha256: 'e'.repeat(64), policies: { 'developer-publish': 'permit (principal, action, resource);' } };
  }

  @MessagePattern('policy.check')
  check(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    record('policy.check', body, ctx);
    return { decision: 'deny', policyIds: [], policyVersion: 2, errors: [] };
  }

  @MessagePattern('policy.token_create')
  tokenCreate(@Payload() body: { principal: string; role: string; tenant?: string; expiresAt?: string }, @Ctx() ctx: BusContext) {
    record('policy.token_create', body, ctx);
    if (body.role === 'wizard') throw new ForgeOneError('IDENTITY.UNKNOWN_ROLE', 'role "wizard" is unknown: use one of admin, release-manager, developer, operator, auditor');
    return { tokenId: KNOWN_TOKEN_ID, token: `fo_${KNOWN_TOKEN_ID}_${'s'.repeat(43)}`, principal: body.principal, role: body.role, tenant: body.tenant ?? 'acme' };
  }

  @MessagePattern('policy.token_list')
  tokenList(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    record('policy.token_list', body, ctx);
    return { tokens: [{ tokenId: KNOWN_TOKEN_ID, principal: 'dev-1', principalType: 'user', role: 'developer', tenant: 'acme', issuedAt: '2026-11-27T10:00:00.000Z' }] };
  }

  @MessagePattern('policy.token_revoke')
  tokenRevoke(@Payload() body: { tokenId: string; reason: string }, @Ctx() ctx: BusContext) {
    record('policy.token_revoke', body, ctx);
    if (body.tokenId !== KNOWN_TOKEN_ID) throw new ForgeOneError('IDENTITY.TOKEN_NOT_FOUND', `there is no token ${body.tokenId}; list tokens with token list`);
    return {
      tokenId: KNOWN_TOKEN_ID,
      principal: 'dev-1',
      principalType: 'user',
      role: 'developer',
      tenant: 'acme',
      issuedAt: '2026-11-27T10:00:00.000Z',
      revokedAt: '2026-11-27T11:00:00.000Z',
      revokedReason: body.reason,
      alreadyRevoked: false,
    };
  }
}

@Module({})
class StandInRegistryModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: StandInRegistryModule, imports: [BusModule.forRoot({ connection, names })], controllers: [StandInRegistryController] };
  }
}

@Module({})
class StandInPolicyModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: StandInPolicyModule, imports: [BusModule.forRoot({ connection, names })], controllers: [StandInPolicyController] };
  }
}

// A version_published event of `tenant`, projected as the audit-projector would (another projector
// name, so the read-your-writes checkpoint stays the test's to move).
let fixtureSequence = 0;
async function projectPublished(tenant: string, name: string): Promise<void> {
  const manifest = {
    name,
    version: '1.0.0',
    abi: 1,
    description: `${name} of ${tenant}`,
    handlers: ['run'],
    capabilities: { log: true },
    limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 },
  };
  const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const event = cloudEvent(PLUGIN_AGGREGATE, tenantAggregateId(tenant, name), {
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.versionPublished,
    subject: name,
    time: new Date().toISOString(),
    actor: `dev-of-${tenant}`,
    tenant,
    data: { name, version: '1.0.0', digest: sha(`${tenant}/${name}`), sizeBytes: 8, manifestDigest: sha(JSON.stringify(manifest)), manifest, publisher: tenant },
  });
  await applyEvent(ds, 'gateway-test-fixture', ++fixtureSequence, event);
}

interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function createTestDatabase(): Promise<TestDatabase> {
  const name = `fo_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined) };
}

let db: TestDatabase;
let ds: DataSource;
let gatewayNc: NatsConnection;
let registryNc: NatsConnection;
let gateway: INestApplication;
let registry: INestMicroservice;
let policyCommandsNc: NatsConnection;
let policyCommands: INestMicroservice;
let authzNc: NatsConnection;
let policy: TestAuthzResponder;
let baseUrl: string;

beforeAll(async () => {
  await initTelemetry('gateway-int-test');
  db = await createTestDatabase();
  ds = await createDataSource(db.url, { applicationName: 'gateway-int-test' }).initialize();
  // The audit-projector owns the schema; it is not running here, so the test migrates.
  await runMigrations(ds);

  authzNc = await connectNats(NATS_URL, 'forgeone-policy');
  policy = await startTestAuthzResponder({
    connection: authzNc,
    names,
    serviceCredential: GATEWAY_CREDENTIAL,
    tokens: {
      [DEV]: { id: 'alice', tenant: 'acme', role: 'developer' },
      [AUDITOR]: { id: 'carol', tenant: 'acme', role: 'auditor' },
      [GLOBEX_DEV]: { id: 'gina', tenant: 'globex', role: 'developer' },
    },
    rules: { developer: ['read', 'publish', 'install'], auditor: ['read-audit'] },
  });
  await projectPublished('acme', 'acme/pii-redactor');
  await projectPublished('globex', 'globex/secret-sauce');

  registryNc = await connectNats(NATS_URL, 'forgeone-registry');
  registry = await NestFactory.createMicroservice(StandInRegistryModule.forRoot(registryNc), {
    strategy: new ForgeOneBusServer({ service: 'registry', names, connection: registryNc, logger }),
    logger: false,
  });
  await registry.listen();

  policyCommandsNc = await connectNats(NATS_URL, 'forgeone-policy-commands');
  policyCommands = await NestFactory.createMicroservice(StandInPolicyModule.forRoot(policyCommandsNc), {
    strategy: new ForgeOneBusServer({ service: 'policy', names, connection: policyCommandsNc, logger }),
    logger: false,
  });
  await policyCommands.listen();

  gatewayNc = await connectNats(NATS_URL, 'forgeone-gateway');
  gateway = await createGatewayApp({
    connection: gatewayNc,
    names,
    dataSource: ds,
    logger,
    // No decision cache: each test sees the responder's current rules.
    auth: { serviceCredential: () => GATEWAY_CREDENTIAL, authz: { timeoutMs: 1_000, cacheTtlMs: 0 }, failures: { limitPerSource: 20, windowMs: 60_000 } },
    settings: { readYourWritesTimeoutMs: 1_500, healthTimeoutMs: 500 },
  });
  await gateway.startAllMicroservices();
  await gateway.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await registry?.close();
  await policyCommands?.close();
  await policy?.stop();
  await authzNc?.close();
  await ds?.destroy();
  await db?.drop();
  await shutdownTelemetry();
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the assertions
  readonly body: any;
}

async function call(method: string, path: string, options: { body?: string | object; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

const traceIdOf = (traceparent: string | null | undefined) => traceparent?.split('-')[1];

describe('gateway - commands', () => {
  it('install - a registry refusal becomes its HTTP status and error body; the credential is passed through', async () => {
    const before = received.length;
    const answer = await call('POST', '/v1/environments/staging/installations', {
      body: { name: 'acme/pii-redactor', version: '9.9.9' },
      headers: { authorization: TOKEN },
    });
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: {
        code: 'REGISTRY.VERSION_NOT_FOUND',
        message: 'acme/pii-redactor 9.9.9 is not published; publish it first',
        details: { name: 'acme/pii-redactor', version: '9.9.9' },
      },
    });
    expect(received.slice(before)).toEqual([
      { verb: 'install', body: { name: 'acme/pii-redactor', version: '9.9.9', environment: 'staging' }, credential: TOKEN, traceparent: expect.any(String) },
    ]);
  });

  it('install - an unknown body field is COMMAND.INVALID naming it, and nothing is sent', async () => {
    const before = received.length;
    const answer = await call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/x', version: '1.0.0', force: true }, headers: { authorization: TOKEN } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('COMMAND.INVALID');
    expect(answer.body.error.message).toContain('"force"');
    const badEnv = await call('POST', '/v1/environments/Prod!/installations', { body: { name: 'acme/x', version: '1.0.0' }, headers: { authorization: TOKEN } });
    expect(badEnv.status).toBe(400);
    expect(badEnv.body.error.message).toContain('environment');
    expect(received.length).toBe(before);
  });

  it('commands - without a token every command is 401 AUTH.UNAUTHENTICATED saying how to get one, and nothing is sent', async () => {
    const before = received.length;
    const wasm = Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]).toString('base64');
    const attempts = [
      call('POST', '/v1/plugins', { body: { manifest: { name: 'acme/x' }, wasm } }),
      call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/x', version: '1.0.0' } }),
      call('PUT', '/v1/environments/staging/installations/acme/x', { body: { version: '1.1.0' }, headers: { authorization: 'Bearer ' } }),
      call('DELETE', '/v1/environments/staging/installations/acme/x', { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } }),
      call('POST', '/v1/policies', { body: { policies: 'permit (principal, action, resource);' } }),
      call('GET', '/v1/tokens'),
    ];
    for (const answer of await Promise.all(attempts)) {
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(answer.body.error.message).toMatch(/forgeone token create --principal <id> --role <role>/);
    }
    expect(received.length).toBe(before);
  });

  it('upgrade - answers projected: true once the projector checkpoint reaches the event', async () => {
    const started = Date.now();
    setTimeout(() => {
      void ds.query(`INSERT INTO projection_checkpoint (projector, last_sequence, updated_at) VALUES ('audit-projector', $1, now())`, [PROJECTED_SEQUENCE]);
    }, 200);
    const answer = await call('PUT', '/v1/environments/staging/installations/acme/pii-redactor', { body: { version: '1.2.0' }, headers: { authorization: TOKEN } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'acme/pii-redactor', version: '1.2.0', environment: 'staging', sequence: PROJECTED_SEQUENCE, projected: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(received.at(-1)).toMatchObject({ verb: 'upgrade', body: { name: 'acme/pii-redactor', version: '1.2.0', environment: 'staging' }, credential: TOKEN });
  });

  it('remove - answers projected: false when the projection does not catch up in time', async () => {
    const started = Date.now();
    const answer = await call('DELETE', '/v1/environments/staging/installations/acme/pii-redactor', { headers: { authorization: TOKEN } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'acme/pii-redactor', version: '1.0.0', environment: 'staging', sequence: NEVER_PROJECTED_SEQUENCE, projected: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(received.at(-1)).toMatchObject({ verb: 'remove', credential: TOKEN });
  });

  it('publish - a command to a service that is not running is SERVICE.UNAVAILABLE', async () => {
    const wasm = Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]).toString('base64');
    const answer = await call('POST', '/v1/plugins', { body: { manifest: { name: 'acme/x', description: BODY_MARKER }, wasm }, headers: { authorization: TOKEN } });
    // The stand-in registry has no publish handler, so nobody answers the subject.
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('SERVICE.UNAVAILABLE');
  });
});

describe('gateway - plugin calls', () => {
  it('call - sends the invoke request with the caller token to forgeone.invoke.<env>.<plugin> and answers the reply or the typed error', async () => {
    const runnerNc = await connectNats(NATS_URL, 'forgeone-sandbox-runner');
    const seen: Array<{ subject: string; body: unknown; credential: string | undefined }> = [];
    const sub = runnerNc.subscribe(names.invoke('staging', 'acme/pii-redactor'), {
      callback: (_err, msg) => {
        const body = msg.json<{ handler: string; input?: string }>();
        seen.push({ subject: msg.subject, body, credential: msg.headers?.get('Authorization') });
        if (body.input === '') msg.respond(JSON.stringify(new ForgeOneError('SANDBOX.GUEST_ERROR', 'greet needs a name').toReply()));
        else msg.respond(JSON.stringify({ plugin: 'acme/pii-redactor', handler: body.handler, environment: 'staging', version: '1.0.0', digest, output: `out:${body.input}`, durationMs: 1 }));
      },
    });
    try {
      await runnerNc.flush();
      const path = '/v1/environments/staging/plugins/acme/pii-redactor/calls/redact';
      const ok = await call('POST', path, { body: { input: 'x' }, headers: { authorization: TOKEN } });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ plugin: 'acme/pii-redactor', handler: 'redact', environment: 'staging', version: '1.0.0', digest, output: 'out:x', durationMs: 1 });
      expect(seen).toEqual([{ subject: names.invoke('staging', 'acme/pii-redactor'), body: { handler: 'redact', input: 'x' }, credential: TOKEN }]);

      const guest = await call('POST', path, { body: { input: '' }, headers: { authorization: TOKEN } });
      expect(guest.status).toBe(422);
      expect(guest.body.error).toEqual({ code: 'SANDBOX.GUEST_ERROR', message: 'greet needs a name' });

      const bytes = await call('POST', path, { body: { inputBase64: Buffer.from([0xff]).toString('base64') }, headers: { authorization: TOKEN } });
      expect(bytes.status).toBe(200);
      expect(seen.at(-1)?.body).toEqual({ handler: 'redact', inputBase64: '/w==' });

      const before = seen.length;
      const both = await call('POST', path, { body: { input: 'a', inputBase64: 'YQ==' }, headers: { authorization: TOKEN } });
      expect(both.status).toBe(400);
      expect(both.body.error.message).toContain('input');
      const badHandler = await call('POST', '/v1/environments/staging/plugins/acme/pii-redactor/calls/9-lives', { body: { input: 'a' }, headers: { authorization: TOKEN } });
      expect(badHandler.status).toBe(400);
      expect(badHandler.body.error.message).toContain('handler');
      const anonymous = await call('POST', path, { body: { input: 'a' } });
      expect(anonymous.status).toBe(401);
      expect(seen.length).toBe(before);

      // Nobody serves a plugin of another environment: no runner is SERVICE.UNAVAILABLE.
      const absent = await call('POST', '/v1/environments/production/plugins/acme/pii-redactor/calls/redact', { body: { input: 'a' }, headers: { authorization: TOKEN } });
      expect(absent.status).toBe(503);
      expect(absent.body.error.code).toBe('SERVICE.UNAVAILABLE');
    } finally {
      sub.unsubscribe();
      await runnerNc.close();
    }
  });
});

describe('gateway - queries', () => {
  it("list - answers the caller's tenant only, the tenant policy named", async () => {
    const acme = await call('GET', '/v1/plugins', { headers: bearer(DEV) });
    expect(acme.status).toBe(200);
    expect(acme.body.plugins.map((p: { name: string }) => p.name)).toEqual(['acme/pii-redactor']);
    const globex = await call('GET', '/v1/plugins', { headers: bearer(GLOBEX_DEV) });
    expect(globex.body.plugins.map((p: { name: string }) => p.name)).toEqual(['globex/secret-sauce']);
    expect((await call('GET', '/v1/plugins?environment=staging', { headers: bearer(DEV) })).body).toEqual({ plugins: [] });
  });

  it('list - asks policy for read on the Tenant, with the gateway credential, the caller token and the client address', async () => {
    const before = policy.requests.length;
    expect((await call('GET', '/v1/plugins', { headers: bearer(GLOBEX_DEV) })).status).toBe(200);
    const asked = policy.requests.slice(before);
    // One question, about the caller's own tenant (`@own`): policy names the tenant, no look-up comes first.
    expect(asked).toEqual([{ credential: GLOBEX_DEV, action: 'read', resource: { type: 'Tenant', id: '@own', attributes: {} }, context: {}, source: 'http 127.0.0.1' }]);
    expect(new Set(policy.authorizations)).toEqual(new Set([GATEWAY_CREDENTIAL]));
  });

  it("show and history - another tenant's plugin does not exist for the caller", async () => {
    const own = await call('GET', '/v1/plugins/acme/pii-redactor', { headers: bearer(DEV) });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ name: 'acme/pii-redactor', latestVersion: '1.0.0' });
    // No sandbox-runner runs here: storage usage is unknown, the rest of the plugin still answers.
    expect(own.body.storage).toBeNull();
    const foreign = await call('GET', '/v1/plugins/globex/secret-sauce', { headers: bearer(DEV) });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('QUERY.NOT_FOUND');
    expect(await call('GET', '/v1/plugins/globex/secret-sauce/history', { headers: bearer(DEV) })).toMatchObject({ status: 200, body: { events: [] } });
    const history = await call('GET', '/v1/plugins/globex/secret-sauce/history', { headers: bearer(GLOBEX_DEV) });
    expect(history.body.events.map((e: { type: string; tenant: string }) => [e.type, e.tenant])).toEqual([[PLUGIN_EVENT_TYPES.versionPublished, 'globex']]);
  });

  it("audit log - needs read-audit, and holds the caller's tenant only", async () => {
    const audit = await call('GET', '/v1/audit-log', { headers: bearer(AUDITOR) });
    expect(audit.status).toBe(200);
    expect(audit.body.entries.map((e: { subject: string; tenant: string }) => [e.subject, e.tenant])).toEqual([['acme/pii-redactor', 'acme']]);
    expect(await call('GET', '/v1/audit-log?plugin=acme/nothing&limit=10&after=0', { headers: bearer(AUDITOR) })).toMatchObject({ status: 200, body: { entries: [] } });

    const developer = await call('GET', '/v1/audit-log', { headers: bearer(DEV) });
    expect(developer.status).toBe(403);
    expect(developer.body.error).toMatchObject({ code: 'AUTHZ.DENIED', message: expect.stringMatching(/^alice may not read-audit Tenant acme/) });
    // ...and an auditor reads nothing but the audit log.
    const list = await call('GET', '/v1/plugins', { headers: bearer(AUDITOR) });
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe('AUTHZ.DENIED');
  });

  it('authentication - no, unknown and revoked tokens are 401 with their AUTH code', async () => {
    const none = await call('GET', '/v1/plugins');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'AUTH.UNAUTHENTICATED', message: expect.stringContaining('FORGEONE_TOKEN') });
    const unknown = await call('GET', '/v1/audit-log', { headers: bearer(NOBODY) });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('AUTH.UNAUTHENTICATED');
    const revoked = `tok-revoked-${randomUUID()}`;
    policy.revoke(revoked);
    const refused = await call('GET', '/v1/plugins/acme/pii-redactor', { headers: bearer(revoked) });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('AUTH.TOKEN_REVOKED');
  });

  it("tenant header - naming the caller's own tenant is fine; naming another is 403 AUTHZ.DENIED and reads nothing", async () => {
    const own = await call('GET', '/v1/plugins', { headers: { ...bearer(DEV), 'forgeone-tenant': 'acme' } });
    expect(own.status).toBe(200);
    expect(own.body.plugins).toHaveLength(1);
    const before = policy.requests.length;
    const other = await call('GET', '/v1/plugins', { headers: { ...bearer(DEV), 'Forgeone-Tenant': 'globex' } });
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({
      code: 'AUTHZ.DENIED',
      message: expect.stringContaining('alice belongs to tenant acme and may not read tenant globex'),
      details: { tenant: 'acme', requestedTenant: 'globex' },
    });
    expect(other.body.plugins).toBeUndefined();
    // The header is compared with the tenant policy named; policy is never asked about globex.
    expect(policy.requests.slice(before).filter((r) => r.resource.tenant !== undefined || r.resource.id !== '@own')).toEqual([]);
    const audit = await call('GET', '/v1/audit-log', { headers: { ...bearer(AUDITOR), 'forgeone-tenant': 'globex' } });
    expect(audit.status).toBe(403);
  });

  it('audit log - a bad query parameter is QUERY.INVALID naming it', async () => {
    const answer = await call('GET', '/v1/audit-log?limit=lots', { headers: bearer(AUDITOR) });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('QUERY.INVALID');
    expect(answer.body.error.message).toContain('limit');
    expect((await call('GET', '/v1/plugins?env=staging', { headers: bearer(DEV) })).body.error.message).toContain('"env"');
  });

  it('projections - a database the projector has not migrated yet answers SERVICE.UNAVAILABLE', async () => {
    const empty = await createTestDatabase();
    const emptyDs = await createDataSource(empty.url, { applicationName: 'gateway-int-test' }).initialize();
    try {
      await expect(new ProjectionsReader(emptyDs).listPlugins('acme')).rejects.toMatchObject({
        code: 'SERVICE.UNAVAILABLE',
        message: expect.stringContaining('projections are not ready yet'),
      });
      expect(await projectionsReadiness(emptyDs)).toEqual({ database: { ok: false, detail: expect.stringContaining('not ready yet') } });
      expect(await projectionsReadiness(ds)).toEqual({ database: { ok: true } });
    } finally {
      await emptyDs.destroy();
      await empty.drop();
    }
  });
});

describe('gateway - policy and tokens', () => {
  it('policies - apply, show and check are policy commands carrying the caller credential', async () => {
    const before = received.length;
    const applied = await call('POST', '/v1/policies', { body: { policies: '@id("p1") permit (principal, action, resource);', expectedVersion: 2 }, headers: { authorization: TOKEN } });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ version: 3, policies: { p1: expect.stringContaining('permit') } });
    const shown = await call('GET', '/v1/policies', { headers: { authorization: TOKEN } });
    expect(shown).toMatchObject({ status: 200, body: { version: 2, policies: { 'developer-publish': expect.any(String) } } });
    const checked = await call('POST', '/v1/policies/check', {
      body: { principal: 'dev-1', action: 'install', resource: { type: 'Plugin', id: 'acme/x' }, environment: 'production' },
      headers: { authorization: TOKEN },
    });
    expect(checked).toMatchObject({ status: 200, body: { decision: 'deny', policyIds: [], policyVersion: 2 } });
    expect(received.slice(before)).toEqual([
      expect.objectContaining({ verb: 'policy.apply', body: { policies: '@id("p1") permit (principal, action, resource);', expectedVersion: 2 }, credential: TOKEN }),
      expect.objectContaining({ verb: 'policy.show', body: {}, credential: TOKEN }),
      // The resource tenant left out stays out: policy defaults it to the caller's own.
      expect.objectContaining({
        verb: 'policy.check',
        body: { principal: 'dev-1', action: 'install', resource: { type: 'Plugin', id: 'acme/x', attributes: {} }, environment: 'production' },
        credential: TOKEN,
      }),
    ]);
  });

  it('policies - what-if tenants pass through to policy as given; refusals keep their codes and statuses', async () => {
    await call('POST', '/v1/policies/check', {
      body: { principal: 'gina', tenant: 'globex', role: 'developer', action: 'read', resource: { type: 'Tenant', id: 'globex' } },
      headers: { authorization: TOKEN },
    });
    expect(received.at(-1)?.body).toEqual({ principal: 'gina', tenant: 'globex', role: 'developer', action: 'read', resource: { type: 'Tenant', id: 'globex', attributes: {} } });

    const invalid = await call('POST', '/v1/policies', { body: { policies: 'permit (principal, action, resource' }, headers: { authorization: TOKEN } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'POLICY.INVALID', message: expect.stringContaining('unexpected end of input') });
    const stale = await call('POST', '/v1/policies', { body: { policies: 'forbid (principal, action, resource);', expectedVersion: 1 }, headers: { authorization: TOKEN } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('POLICY.CONFLICT');
    const denied = await call('GET', '/v1/policies', { headers: bearer(AUDITOR) });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('AUTHZ.DENIED');
    const before = received.length;
    const badBody = await call('POST', '/v1/policies/check', { body: { principal: 'dev-1', action: 'fly', resource: { type: 'Plugin', id: 'x' } }, headers: { authorization: TOKEN } });
    expect(badBody.status).toBe(400);
    expect(badBody.body.error).toMatchObject({ code: 'COMMAND.INVALID', message: expect.stringContaining('action') });
    expect(received.length).toBe(before);
  });

  it('tokens - create answers 201 with the token once; list; an unknown role is IDENTITY.UNKNOWN_ROLE from policy', async () => {
    const created = await call('POST', '/v1/tokens', { body: { principal: 'dev-1', role: 'developer', expiresAt: '2030-01-01T00:00:00Z' }, headers: { authorization: TOKEN } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tokenId: KNOWN_TOKEN_ID, token: expect.stringMatching(/^fo_/), principal: 'dev-1', role: 'developer' });
    expect(received.at(-1)).toMatchObject({
      verb: 'policy.token_create',
      body: { principal: 'dev-1', role: 'developer', principalType: 'user', expiresAt: '2030-01-01T00:00:00Z' },
      credential: TOKEN,
    });

    const wizard = await call('POST', '/v1/tokens', { body: { principal: 'dev-1', role: 'wizard' }, headers: { authorization: TOKEN } });
    expect(wizard.status).toBe(400);
    expect(wizard.body.error).toMatchObject({ code: 'IDENTITY.UNKNOWN_ROLE', message: expect.stringContaining('developer') });

    const list = await call('GET', '/v1/tokens?tenant=acme', { headers: { authorization: TOKEN } });
    expect(list.status).toBe(200);
    expect(list.body.tokens).toEqual([expect.objectContaining({ tokenId: KNOWN_TOKEN_ID, principal: 'dev-1' })]);
    expect(received.at(-1)).toMatchObject({ verb: 'policy.token_list', body: { tenant: 'acme' } });
    expect((await call('GET', '/v1/tokens?owner=x', { headers: { authorization: TOKEN } })).status).toBe(400);
  });

  it('tokens - revoke takes the reason from the body or the query, and needs one', async () => {
    const byBody = await call('DELETE', `/v1/tokens/${KNOWN_TOKEN_ID}`, { body: { reason: 'left the team' }, headers: { authorization: TOKEN } });
    expect(byBody.status).toBe(200);
    expect(byBody.body).toMatchObject({ tokenId: KNOWN_TOKEN_ID, revokedReason: 'left the team', alreadyRevoked: false });
    expect(received.at(-1)).toMatchObject({ verb: 'policy.token_revoke', body: { tokenId: KNOWN_TOKEN_ID, reason: 'left the team' }, credential: TOKEN });
    const byQuery = await call('DELETE', `/v1/tokens/${KNOWN_TOKEN_ID}?reason=${encodeURIComponent('laptop lost')}`, { headers: { authorization: TOKEN } });
    expect(byQuery.status).toBe(200);
    expect(received.at(-1)?.body).toEqual({ tokenId: KNOWN_TOKEN_ID, reason: 'laptop lost' });

    const before = received.length;
    const noReason = await call('DELETE', `/v1/tokens/${KNOWN_TOKEN_ID}`, { headers: { authorization: TOKEN } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toMatchObject({ code: 'COMMAND.INVALID', message: expect.stringContaining('needs a reason') });
    const badId = await call('DELETE', '/v1/tokens/NOT-AN-ID?reason=x', { headers: { authorization: TOKEN } });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toContain('tokenId');
    expect(received.length).toBe(before);
    const missing = await call('DELETE', '/v1/tokens/ffffffffffffffff?reason=x', { headers: { authorization: TOKEN } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('IDENTITY.TOKEN_NOT_FOUND');
  });
});

describe('gateway - HTTP behaviour', () => {
  it('docs - GET /openapi.json is an OpenAPI 3.1 JSON document; the manifest schema is served', async () => {
    const docs = await call('GET', '/openapi.json');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('application/json');
    expect(docs.body.openapi).toBe('3.1.0');
    expect(Object.keys(docs.body.paths)).toContain('/v1/environments/{environment}/installations/{publisher}/{plugin}');
    const schema = await call('GET', '/schemas/forgeone.plugin.schema.json');
    expect(schema.status).toBe(200);
    expect(schema.body).toMatchObject({ $id: 'https://forgeone.dev/schemas/forgeone.plugin.schema.json', type: 'object' });
  });

  it('errors - an unknown route is 404 in the error shape', async () => {
    const answer = await call('GET', '/v2/plugins');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'HTTP.NOT_FOUND', message: expect.stringContaining('GET /v2/plugins') } });
  });

  it('errors - malformed JSON is 400 COMMAND.INVALID', async () => {
    const answer = await call('POST', '/v1/environments/staging/installations', { body: '{"name": "acme/x", ' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('COMMAND.INVALID');
    expect(answer.body.error.message).toContain('not valid JSON');
  });

  it('errors - a body over 16 MiB is 413 COMMAND.TOO_LARGE', async () => {
    const wasm = 'A'.repeat(17 * 1024 * 1024);
    const answer = await call('POST', '/v1/plugins', { body: { manifest: {}, wasm } });
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('COMMAND.TOO_LARGE');
  });

  it('errors - a body the bus cannot carry in one message is 413 before it is sent', async () => {
    const maxPayload = gatewayNc.info!.max_payload;
    const wasm = 'A'.repeat(Math.ceil(maxPayload / 4) * 4);
    const answer = await call('POST', '/v1/plugins', { body: { manifest: {}, wasm }, headers: { authorization: TOKEN } });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'COMMAND.TOO_LARGE', message: expect.stringContaining('max_payload') });
  });

  it('tracing - a response carries traceparent; an incoming trace is continued through the command', async () => {
    const fresh = await call('GET', '/healthz');
    expect(fresh.body).toEqual({ status: 'ok' });
    expect(fresh.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    const traceId = randomBytes(16).toString('hex');
    const incoming = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const answer = await call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/traced', version: '1.0.0' }, headers: { traceparent: incoming, authorization: TOKEN } });
    expect(answer.status).toBe(404);
    const outgoing = answer.headers.get('traceparent');
    expect(traceIdOf(outgoing)).toBe(traceId);
    expect(outgoing).not.toBe(incoming);
    // The command on the bus belongs to the same trace: HTTP → command.
    expect(traceIdOf(received.at(-1)?.traceparent)).toBe(traceId);
  });

  it('tracing - the trace is continued when the body arrives after the headers', async () => {
    const traceId = randomBytes(16).toString('hex');
    const body = JSON.stringify({ name: 'acme/slow-body', version: '1.0.0' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}/v1/environments/staging/installations`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
          authorization: TOKEN,
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.flushHeaders();
      // A separate TCP write later: the body is read outside the request's async scope.
      setTimeout(() => req.end(body), 100);
    });
    expect(status).toBe(404);
    expect(received.at(-1)?.body).toMatchObject({ name: 'acme/slow-body' });
    expect(traceIdOf(received.at(-1)?.traceparent)).toBe(traceId);
  });

  it('readyz - 503 while services are missing, with the detail of each; the gateway itself is ready', async () => {
    const answer = await call('GET', '/readyz');
    expect(answer.status).toBe(503);
    expect(answer.body.ready).toBe(false);
    expect(answer.body.services.gateway).toEqual({ ready: true, checks: { nats: { ok: true }, database: { ok: true } } });
    expect(answer.body.services.registry).toMatchObject({ ready: true, checks: { nats: { ok: true } } });
    expect(answer.body.services.signer).toMatchObject({ ready: false, error: { code: 'SERVICE.UNAVAILABLE' } });
    expect(Object.keys(answer.body.services).sort()).toEqual(['audit-projector', 'gateway', 'policy', 'registry', 'sandbox-runner', 'signer']);
  });

  it('health - the gateway answers its own health subject on the bus', async () => {
    const reply = await gatewayNc.request(names.health('gateway'), undefined, { timeout: 2_000 });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toEqual({ service: 'gateway', ready: true, checks: { nats: { ok: true }, database: { ok: true } } });
  });

  it('logs - never hold a credential or a request body', () => {
    const all = logLines.join('\n');
    for (const secret of [DEV, AUDITOR, GLOBEX_DEV, GATEWAY_CREDENTIAL, SERVICE_KEY]) expect(all).not.toContain(secret);
    expect(all).not.toContain(BODY_MARKER);
  });
});

// A request from another loopback address (127.0.0.0/8 is all this machine), so a test can be a client of its own.
function callFrom(localAddress: string, method: string, path: string, headers: Record<string, string> = {}, url = baseUrl): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, { method, headers, localAddress, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        const replyHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') replyHeaders.set(name, value);
        resolve({ status: response.statusCode ?? 0, headers: replyHeaders, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

describe('gateway - hostile requests', () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('nesting - a body nested 10,000 levels deep is 400 COMMAND.INVALID naming the limit, and nothing is sent', async () => {
    const before = received.length;
    for (const [path, body] of [
      ['/v1/plugins', `{"manifest":${nested(10_000)},"wasm":"AA=="}`],
      ['/v1/environments/staging/installations', `{"name":${nested(65)},"version":"1.0.0"}`],
    ] as const) {
      const answer = await call('POST', path, { body, headers: { authorization: TOKEN } });
      expect(answer.status, path).toBe(400);
      expect(answer.body.error).toEqual({
        code: 'COMMAND.INVALID',
        message: 'the request body nests objects and arrays more than 64 levels deep; send a flatter JSON document',
        details: { maxDepth: 64 },
      });
    }
    expect(received.length).toBe(before);
    // 64 levels in all are still read (and judged by the schema as usual).
    const flat = await call('POST', '/v1/environments/staging/installations', { body: `{"name":${nested(63)},"version":"1.0.0"}`, headers: { authorization: TOKEN } });
    expect(flat.status).toBe(400);
    expect(flat.body.error.message).toContain('name');
  });

  it('credential - a token over 4096 characters is 401 AUTH.UNAUTHENTICATED saying it is too long, and nothing is asked or sent', async () => {
    const before = { commands: received.length, checks: policy.requests.length };
    for (const [method, path] of [['GET', '/v1/plugins'], ['POST', '/v1/environments/staging/installations']] as const) {
      const answer = await callFrom('127.0.0.4', method, path, { authorization: `Bearer fo_${'q'.repeat(5000)}`, 'content-type': 'application/json' });
      expect(answer.status, path).toBe(401);
      expect(answer.body.error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(answer.body.error.message).toMatch(/^the token is 5003 characters long, more than the 4096/);
    }
    expect({ commands: received.length, checks: policy.requests.length }).toEqual(before);
  });

  it('source - commands carry Forgeone-Source and checks carry source: the client address, not X-Forwarded-For from an untrusted peer', async () => {
    const before = received.length;
    await call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/pii-redactor', version: '9.9.9' }, headers: { authorization: TOKEN, 'x-forwarded-for': '203.0.113.9' } });
    expect(receivedSources.slice(before)).toEqual(['http 127.0.0.1']);
    await callFrom('127.0.0.5', 'GET', '/v1/plugins', { ...bearer(DEV), 'x-forwarded-for': '203.0.113.9' });
    expect(policy.requests.at(-1)).toMatchObject({ action: 'read', source: 'http 127.0.0.5' });
  });

  it('429 - past 20 failed authentications in a window a client is refused with Retry-After, good token or not; other clients are served', async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 30; i++) {
      last = await callFrom('127.0.0.3', 'GET', '/v1/plugins', bearer(`tok-garbage-${i}`));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(20).fill(401), ...Array(10).fill(429)]);
    expect(last?.body.error).toMatchObject({ code: 'AUTH.TOO_MANY_FAILURES', message: expect.stringMatching(/^too many failed authentications from 127\.0\.0\.3 \(20 in 60 s\): try again in \d+ s/) });
    const retryAfter = Number(last?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Refused before anything is asked: policy heard of the first 20 only.
    const asked = policy.requests.filter((r) => r.source === 'http 127.0.0.3');
    expect(asked).toHaveLength(20);
    // The refused client is refused with a good token too; another client with the same token is served.
    expect((await callFrom('127.0.0.3', 'GET', '/v1/plugins', bearer(DEV))).status).toBe(429);
    expect((await callFrom('127.0.0.6', 'GET', '/v1/plugins', bearer(DEV))).status).toBe(200);
    // Routes that need no token are not refused.
    expect((await callFrom('127.0.0.3', 'GET', '/healthz')).status).toBe(200);
  });

  it('trusted proxies - with FORGEONE_TRUSTED_PROXIES naming the proxy, X-Forwarded-For names the client', async () => {
    const behindProxy = await createGatewayApp({
      connection: gatewayNc,
      names,
      dataSource: ds,
      logger,
      auth: { serviceCredential: () => GATEWAY_CREDENTIAL, authz: { timeoutMs: 1_000, cacheTtlMs: 0 }, trustedProxies: parseTrustedProxies('127.0.0.7, ::1') },
      settings: { readYourWritesTimeoutMs: 1_500, healthTimeoutMs: 500 },
    });
    try {
      await behindProxy.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(behindProxy.getHttpServer().address() as AddressInfo).port}`;
      await callFrom('127.0.0.7', 'GET', '/v1/plugins', { ...bearer(DEV), 'x-forwarded-for': '198.51.100.23' }, url);
      expect(policy.requests.at(-1)).toMatchObject({ source: 'http 198.51.100.23' });
      // Another peer is not a trusted proxy: its X-Forwarded-For is ignored.
      await callFrom('127.0.0.8', 'GET', '/v1/plugins', { ...bearer(DEV), 'x-forwarded-for': '198.51.100.23' }, url);
      expect(policy.requests.at(-1)).toMatchObject({ source: 'http 127.0.0.8' });
    } finally {
      await behindProxy.close();
    }
    expect(() => parseTrustedProxies('10.0.0.0/8, proxy.internal')).toThrow('FORGEONE_TRUSTED_PROXIES entry "proxy.internal" is not an IP address, a CIDR block or one of loopback, linklocal, uniquelocal');
  });
});

// Last: it stops the stand-in policy service.
describe('gateway - policy unreachable', () => {
  it('fails closed - with nobody answering authz.check every query is 503 AUTHZ.UNAVAILABLE and reads nothing', async () => {
    await policy.stop();
    const list = await call('GET', '/v1/plugins', { headers: bearer(DEV) });
    expect(list.status).toBe(503);
    expect(list.body.error).toMatchObject({ code: 'AUTHZ.UNAVAILABLE', message: expect.stringContaining('check that the policy service is running') });
    expect((await call('GET', '/v1/audit-log', { headers: bearer(AUDITOR) })).status).toBe(503);
    expect((await call('GET', '/v1/plugins/acme/pii-redactor', { headers: bearer(DEV) })).body.error.code).toBe('AUTHZ.UNAVAILABLE');
  });
});
