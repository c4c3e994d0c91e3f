import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { BusContext, BusModule, connectNats, ForgeOneBusServer } from '@forgeone/bus';
import { ForgeOneError, names as makeNames } from '@forgeone/contracts';
import { createDataSource, runMigrations } from '@forgeone/persistence';
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
import { ProjectionsReader, projectionsReadiness } from '../src/projections.reader.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const ADMIN_URL = process.env.FORGEONE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const namespace = `t-gw-${randomUUID().slice(0, 8)}`;
const names = makeNames(namespace);
const TOKEN = `Bearer tok-${randomUUID()}`;
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
const record = (verb: string, body: unknown, ctx: BusContext) =>
  received.push({ verb, body, credential: ctx.credential ?? null, traceparent: ctx.header('traceparent') ?? null });

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

@Module({})
class StandInRegistryModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: StandInRegistryModule, imports: [BusModule.forRoot({ connection, names })], controllers: [StandInRegistryController] };
  }
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
let baseUrl: string;

beforeAll(async () => {
  initTelemetry('gateway-int-test');
  db = await createTestDatabase();
  ds = await createDataSource(db.url, { applicationName: 'gateway-int-test' }).initialize();
  // The audit-projector owns the schema; it is not running here, so the test migrates.
  await runMigrations(ds);

  registryNc = await connectNats(NATS_URL, 'forgeone-registry');
  registry = await NestFactory.createMicroservice(StandInRegistryModule.forRoot(registryNc), {
    strategy: new ForgeOneBusServer({ service: 'registry', names, connection: registryNc, logger }),
    logger: false,
  });
  await registry.listen();

  gatewayNc = await connectNats(NATS_URL, 'forgeone-gateway');
  gateway = await createGatewayApp({
    connection: gatewayNc,
    names,
    dataSource: ds,
    logger,
    settings: { readYourWritesTimeoutMs: 1_500, healthTimeoutMs: 500 },
  });
  await gateway.startAllMicroservices();
  await gateway.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await registry?.close();
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
    const answer = await call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/x', version: '1.0.0', force: true } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('COMMAND.INVALID');
    expect(answer.body.error.message).toContain('"force"');
    const badEnv = await call('POST', '/v1/environments/Prod!/installations', { body: { name: 'acme/x', version: '1.0.0' } });
    expect(badEnv.status).toBe(400);
    expect(badEnv.body.error.message).toContain('environment');
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
    const answer = await call('DELETE', '/v1/environments/staging/installations/acme/pii-redactor');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'acme/pii-redactor', version: '1.0.0', environment: 'staging', sequence: NEVER_PROJECTED_SEQUENCE, projected: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(received.at(-1)).toMatchObject({ verb: 'remove', credential: null });
  });

  it('publish - a command to a service that is not running is SERVICE.UNAVAILABLE', async () => {
    const wasm = Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]).toString('base64');
    const answer = await call('POST', '/v1/plugins', { body: { manifest: { name: 'acme/x', description: BODY_MARKER }, wasm }, headers: { authorization: TOKEN } });
    // The stand-in registry has no publish handler, so nobody answers the subject.
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('SERVICE.UNAVAILABLE');
  });
});

describe('gateway - queries', () => {
  it('list - the empty read model answers no plugins', async () => {
    const answer = await call('GET', '/v1/plugins');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ plugins: [] });
    expect((await call('GET', '/v1/plugins?environment=staging')).body).toEqual({ plugins: [] });
  });

  it('show - an unknown plugin is QUERY.NOT_FOUND; history and audit log are empty', async () => {
    const show = await call('GET', '/v1/plugins/acme/nothing');
    expect(show.status).toBe(404);
    expect(show.body.error.code).toBe('QUERY.NOT_FOUND');
    expect(await call('GET', '/v1/plugins/acme/nothing/history')).toMatchObject({ status: 200, body: { events: [] } });
    expect(await call('GET', '/v1/audit-log?plugin=acme/nothing&limit=10&after=0')).toMatchObject({ status: 200, body: { entries: [] } });
  });

  it('audit log - a bad query parameter is QUERY.INVALID naming it', async () => {
    const answer = await call('GET', '/v1/audit-log?limit=lots');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('QUERY.INVALID');
    expect(answer.body.error.message).toContain('limit');
    expect((await call('GET', '/v1/plugins?env=staging')).body.error.message).toContain('"env"');
  });

  it('projections - a database the projector has not migrated yet answers SERVICE.UNAVAILABLE', async () => {
    const empty = await createTestDatabase();
    const emptyDs = await createDataSource(empty.url, { applicationName: 'gateway-int-test' }).initialize();
    try {
      await expect(new ProjectionsReader(emptyDs).listPlugins()).rejects.toMatchObject({
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

describe('gateway - HTTP behaviour', () => {
  it('docs - GET /docs is an OpenAPI 3.1 JSON document; the manifest schema is served', async () => {
    const docs = await call('GET', '/docs');
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
    const answer = await call('POST', '/v1/plugins', { body: { manifest: {}, wasm } });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'COMMAND.TOO_LARGE', message: expect.stringContaining('max_payload') });
  });

  it('tracing - a response carries traceparent; an incoming trace is continued through the command', async () => {
    const fresh = await call('GET', '/healthz');
    expect(fresh.body).toEqual({ status: 'ok' });
    expect(fresh.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    const traceId = randomBytes(16).toString('hex');
    const incoming = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const answer = await call('POST', '/v1/environments/staging/installations', { body: { name: 'acme/traced', version: '1.0.0' }, headers: { traceparent: incoming } });
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
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
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

  it('logs - never hold the credential or a request body', () => {
    const all = logLines.join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(BODY_MARKER);
  });
});
