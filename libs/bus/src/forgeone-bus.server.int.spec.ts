// Over 400 lines: every scenario shares one bus server, NATS connection and namespace set up once; split into files,
// each would start its own.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ForgeOneError, HEADERS, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames, type CloudEvent, type HealthReply } from '@forgeone/contracts';
import { JetStreamEventStore } from '@forgeone/event-store';
import { createTestEventWriters, proofHeadersOf, provisionTestStorage, removeNamespace } from '@forgeone/test-harness';
import { initTelemetry, shutdownTelemetry, trace, withSpan } from '@forgeone/telemetry';
import { Controller, Inject, Module, type DynamicModule, type INestMicroservice, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient } from './bus.client.js';
import { BusCommandRegistry } from './bus-command.registry.js';
import { BusContext, EventContext } from './bus.context.js';
import { BusModule } from './bus.module.js';
import { REFUSED_EVENT_PATTERN, type RefusedEvent } from './bus-event.consumer.js';
import { ForgeOneBusServer } from './forgeone-bus.server.js';
import { HaltConsumerError } from './halt-consumer.error.js';
import { connectNats } from './nats.connection.js';

const ns = `t-bus-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
const durable = names.consumer('bus-test');
const digest = `sha256:${'b'.repeat(64)}`;

const logLines: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

interface Seen {
  name: string;
  sequence: number;
  deliveryCount: number;
}
const seen: Seen[] = [];
const refused: Array<{ reason: string; sequence: number; writer: string | null; bytes: number }> = [];
const writers = createTestEventWriters();

function natsHeadersOf(values: Record<string, string>) {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(values)) h.set(k, v);
  return h;
}

@Controller()
class TestController implements OnModuleInit {
  constructor(@Inject(BusCommandRegistry) private readonly commands: BusCommandRegistry) {}

  onModuleInit(): void {
    this.commands.register('registry.direct', (data, ctx) => ({
      data,
      subject: ctx.subject,
      credential: ctx.credential ?? null,
      serverTraceId: trace.getActiveSpan()?.spanContext().traceId ?? null,
      serverSpanId: trace.getActiveSpan()?.spanContext().spanId ?? null,
      serverRecording: trace.getActiveSpan()?.isRecording() ?? null,
    }));
    this.commands.register('registry.direct-refuse', async () => {
      throw new ForgeOneError('REGISTRY.PLUGIN_NOT_FOUND', 'acme/y is not published', { name: 'acme/y' });
    });
    this.commands.register('registry.direct-crash', () => {
      throw new Error('direct handler saw password hunter3');
    });
  }

  @MessagePattern('registry.echo')
  echo(@Payload() data: unknown, @Ctx() ctx: BusContext) {
    return {
      data,
      subject: ctx.subject,
      credential: ctx.credential ?? null,
      tenant: ctx.tenant ?? null,
      source: ctx.source ?? null,
      receivedTraceparent: ctx.header('traceparent') ?? null,
      serverTraceId: trace.getActiveSpan()?.spanContext().traceId ?? null,
    };
  }

  @MessagePattern('registry.refuse')
  refuse(): never {
    throw new ForgeOneError('REGISTRY.VERSION_EXISTS', 'acme/x 1.0.0 is already published; publish a higher version', { name: 'acme/x' });
  }

  @MessagePattern('registry.crash')
  async crash(): Promise<never> {
    throw new Error('connection to db failed with password hunter2');
  }

  @MessagePattern('registry.slow')
  async slow(): Promise<number> {
    await new Promise((r) => setTimeout(r, 400));
    return 1;
  }

  @EventPattern<string>(PLUGIN_EVENT_TYPES.installed)
  installed(@Payload() event: CloudEvent<string, { name: string }>, @Ctx() ctx: EventContext) {
    seen.push({ name: event.data.name, sequence: ctx.sequence, deliveryCount: ctx.deliveryCount });
    if (event.data.name === 'acme/flaky' && ctx.deliveryCount === 1) throw new Error('projection database briefly unavailable');
    if (event.data.name === 'acme/poison') throw new HaltConsumerError(`cannot apply event ${ctx.sequence}`);
  }

  @EventPattern<string>(REFUSED_EVENT_PATTERN)
  refused(@Payload() event: RefusedEvent, @Ctx() ctx: EventContext) {
    refused.push({ reason: event.refusal.reason, sequence: ctx.sequence, writer: event.refusal.writer, bytes: event.data.byteLength });
  }
}

@Module({})
class AppModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: AppModule, imports: [BusModule.forRoot({ connection, names, authorship: writers.authorship(names, 'registry') })], controllers: [TestController] };
  }
}

let serverNc: NatsConnection;
let nc: NatsConnection;
let jsm: JetStreamManager;
let app: INestMicroservice;
let client: BusClient;
let store: JetStreamEventStore;

beforeAll(async () => {
  await initTelemetry('bus-test');
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionTestStorage(ns);
  serverNc = await connectNats('nats://127.0.0.1:4222', 'forgeone-registry');
  app = await NestFactory.createMicroservice(AppModule.forRoot(serverNc), {
    strategy: new ForgeOneBusServer({
      service: 'registry',
      names,
      connection: serverNc,
      consumer: { durable, backoffMs: [50], refuseReplays: true },
      authorship: writers.authorship(names, 'registry'),
      readiness: async () => ({ database: { ok: true } }),
      logger,
    }),
    logger: false,
  });
  await app.listen();
  client = new BusClient(nc, names);
  store = writers.store(nc, names, 'registry');
});

afterAll(async () => {
  await app?.close();
  await removeNamespace(ns);
  await nc?.close();
  await shutdownTelemetry();
});

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function installedEvent(name: string) {
  return {
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.installed,
    data: { name, version: '1.0.0', digest, environment: 'staging' },
    time: new Date().toISOString(),
    actor: 'u-1',
    tenant: 'acme',
  };
}

describe('ForgeOneBusServer commands', () => {
  it('command - round trip with result, credential and tenant headers', async () => {
    const reply = await client.request<{ data: unknown; subject: string; credential: string; tenant: string }>(
      'registry',
      'echo',
      { name: 'acme/x' },
      { credential: 'Bearer t0k', tenant: 'acme' },
    );
    expect(reply).toMatchObject({ data: { name: 'acme/x' }, subject: names.command('registry', 'echo'), credential: 'Bearer t0k', tenant: 'acme' });
  });

  it('command - traceparent crosses: the server span belongs to the client trace', async () => {
    let clientTraceId = '';
    const reply = await withSpan('test-root', {}, async (span) => {
      clientTraceId = span.spanContext().traceId;
      return client.request<{ receivedTraceparent: string; serverTraceId: string }>('registry', 'echo', {});
    });
    expect(clientTraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(clientTraceId).not.toBe('0'.repeat(32));
    expect(reply.receivedTraceparent.split('-')[1]).toBe(clientTraceId);
    expect(reply.serverTraceId).toBe(clientTraceId);

    const raw = await nc.request(names.command('registry', 'echo'), '{}', { timeout: 2_000 });
    expect(raw.headers?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-9a-f]$/);
  });

  it('command - ForgeOneError becomes a typed error reply', async () => {
    const error = await client.request('registry', 'refuse', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeOneError);
    expect(error).toMatchObject({ code: 'REGISTRY.VERSION_EXISTS', message: 'acme/x 1.0.0 is already published; publish a higher version', details: { name: 'acme/x' } });
  });

  it('command - a plain Error is SERVICE.INTERNAL and nothing leaks', async () => {
    const raw = await nc.request(names.command('registry', 'crash'), '{}', { timeout: 2_000 });
    const body = raw.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('SERVICE.INTERNAL');
    expect(body.error.message).toMatch(/^internal error in registry; see its logs \(trace [0-9a-f]{32}\)$/);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(logLines.some((l) => l.includes('hunter2') && l.includes('"level":50'))).toBe(true);
  });

  it('command - invalid JSON body is COMMAND.INVALID naming the problem; empty body is {}', async () => {
    const raw = await nc.request(names.command('registry', 'echo'), '{"name": ', { timeout: 2_000 });
    const body = raw.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('COMMAND.INVALID');
    expect(body.error.message).toContain('not valid JSON');
    const empty = await nc.request(names.command('registry', 'echo'), '', { timeout: 2_000 });
    expect(empty.json<{ data: unknown }>().data).toEqual({});
  });

  it('command - a body nested deeper than 64 levels is COMMAND.INVALID before it is parsed, on @MessagePattern and direct commands', async () => {
    const nested = (depth: number) => `{"manifest":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    for (const verb of ['echo', 'direct']) {
      const raw = await nc.request(names.command('registry', verb), nested(10_000), { timeout: 2_000 });
      expect(raw.json<{ error: { code: string; message: string } }>().error).toEqual({
        code: 'COMMAND.INVALID',
        message: `the body of registry.${verb} nests objects and arrays more than 64 levels deep; send a flatter JSON document`,
        details: { maxDepth: 64 },
      });
    }
    // 63 levels inside the body object are 64 in all: still answered.
    const reply = await nc.request(names.command('registry', 'echo'), nested(63), { timeout: 2_000 });
    expect(reply.json<{ data: { manifest: unknown } }>().data.manifest).toBeDefined();
  });

  it('command - the Forgeone-Source header reaches the handler when it is printable ASCII', async () => {
    const sent = (source: string) => client.request<{ source: string | null }>('registry', 'echo', {}, { headers: { 'Forgeone-Source': source } });
    expect((await sent('http 203.0.113.7')).source).toBe('http 203.0.113.7');
    expect((await sent('x'.repeat(300))).source).toBeNull();
  });

  it('direct command - answered without Nest on its subject, in the caller\'s trace, with the server span in the reply', async () => {
    let clientTraceId = '';
    const reply = await withSpan('test-root', {}, async (span) => {
      clientTraceId = span.spanContext().traceId;
      return client.request<{ data: unknown; subject: string; credential: string; serverTraceId: string; serverSpanId: string }>(
        'registry',
        'direct',
        { n: 1 },
        { credential: 'Bearer d1r' },
      );
    });
    expect(reply).toMatchObject({ data: { n: 1 }, subject: names.command('registry', 'direct'), credential: 'Bearer d1r', serverTraceId: clientTraceId });

    const raw = await nc.request(names.command('registry', 'direct'), '{}', { timeout: 2_000 });
    const answered = raw.json<{ serverTraceId: string; serverSpanId: string }>();
    expect(raw.headers?.get('traceparent')).toBe(`00-${answered.serverTraceId}-${answered.serverSpanId}-01`);

    // A caller that is not in a span of this process sends its trace in the header: the server span joins it.
    const callerTrace = randomUUID().replaceAll('-', '');
    const joined = await nc.request(names.command('registry', 'direct'), '{}', { timeout: 2_000, headers: natsHeadersOf({ traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }) });
    const inTrace = joined.json<{ serverTraceId: string; serverSpanId: string; serverRecording: boolean }>();
    // Nothing exports spans here: the server span records nothing, yet has its own id in the caller's trace.
    expect(inTrace).toMatchObject({ serverTraceId: callerTrace, serverRecording: false });
    expect(inTrace.serverSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(inTrace.serverSpanId).not.toBe('00f067aa0ba902b7');
    expect(joined.headers?.get('traceparent')).toBe(`00-${callerTrace}-${inTrace.serverSpanId}-01`);

    // A caller's "not sampled" flag is kept too, so whether a trace is exported downstream stays the caller's decision.
    const unsampledTrace = randomUUID().replaceAll('-', '');
    const unsampled = await nc.request(names.command('registry', 'direct'), '{}', { timeout: 2_000, headers: natsHeadersOf({ traceparent: `00-${unsampledTrace}-00f067aa0ba902b7-00` }) });
    const notSampled = unsampled.json<{ serverTraceId: string; serverSpanId: string }>();
    expect(notSampled.serverTraceId).toBe(unsampledTrace);
    expect(unsampled.headers?.get('traceparent')).toBe(`00-${unsampledTrace}-${notSampled.serverSpanId}-00`);
  });

  it('direct command - errors are answered as for @MessagePattern handlers', async () => {
    await expect(client.request('registry', 'direct-refuse', {})).rejects.toMatchObject({ code: 'REGISTRY.PLUGIN_NOT_FOUND', details: { name: 'acme/y' } });
    const raw = await nc.request(names.command('registry', 'direct-crash'), '{}', { timeout: 2_000 });
    const body = raw.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('SERVICE.INTERNAL');
    expect(JSON.stringify(body)).not.toContain('hunter3');
    const bad = await nc.request(names.command('registry', 'direct'), '{"n": ', { timeout: 2_000 });
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('COMMAND.INVALID');
  });

  it('direct command - registering after the server listens is refused', () => {
    expect(() => BusCommandRegistry.of(serverNc).register('registry.late', () => 1)).toThrow(/after the service started listening/);
  });

  it('client - no responders is SERVICE.UNAVAILABLE, a slow service is SERVICE.TIMEOUT', async () => {
    await expect(client.request('signer', 'verify', {})).rejects.toMatchObject({
      code: 'SERVICE.UNAVAILABLE',
      message: 'signer is not running or not reachable on NATS',
    });
    await expect(client.request('registry', 'slow', {}, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'SERVICE.TIMEOUT' });
  });

  it('health - ready with every check', async () => {
    const health = await client.checkHealth('registry');
    expect(health).toEqual({ service: 'registry', ready: true, checks: { nats: { ok: true }, consumer: { ok: true }, database: { ok: true } } });
  });
});

describe('ForgeOneBusServer events', () => {
  it('event - handler receives an appended event and it is acked', async () => {
    const [appended] = await store.append(PLUGIN_AGGREGATE, 'acme/ok', [installedEvent('acme/ok')], { expectedSequence: 0 });
    const got = await until(() => seen.find((s) => s.name === 'acme/ok'), 'acme/ok to be handled');
    expect(got).toEqual({ name: 'acme/ok', sequence: appended.sequence, deliveryCount: 1 });
    const info = await until(async () => {
      const i = await jsm.consumers.info(names.stream, durable);
      return i.num_ack_pending === 0 && i.ack_floor.stream_seq >= appended.sequence ? i : undefined;
    }, 'the ack');
    expect(info.delivered.consumer_seq).toBe(1);
    expect(info.num_redelivered).toBe(0);
  });

  it('event - a failing handler gets the event again and succeeds the second time', async () => {
    const [appended] = await store.append(PLUGIN_AGGREGATE, 'acme/flaky', [installedEvent('acme/flaky')], { expectedSequence: 0 });
    await until(() => seen.find((s) => s.name === 'acme/flaky' && s.deliveryCount === 2), 'the redelivery');
    expect(seen.filter((s) => s.name === 'acme/flaky')).toEqual([
      { name: 'acme/flaky', sequence: appended.sequence, deliveryCount: 1 },
      { name: 'acme/flaky', sequence: appended.sequence, deliveryCount: 2 },
    ]);
    await until(async () => {
      const i = await jsm.consumers.info(names.stream, durable);
      return i.num_ack_pending === 0 && i.ack_floor.stream_seq >= appended.sequence ? i : undefined;
    }, 'the ack after redelivery');
    expect(logLines.some((l) => l.includes('projection database briefly unavailable'))).toBe(true);
  });

  it('event - a forged event reaches only the refused-event handler, is acked, and the next genuine event is handled', async () => {
    const forged = await jetstream(nc).publish(names.eventSubject(PLUGIN_AGGREGATE, 'acme/forged'), JSON.stringify({ type: PLUGIN_EVENT_TYPES.installed, data: { name: 'acme/forged' } }), {
      headers: natsHeadersOf({ [HEADERS.eventWriter]: 'registry', [HEADERS.eventSignature]: Buffer.alloc(64, 1).toString('base64') }),
    });
    const [next] = await store.append(PLUGIN_AGGREGATE, 'acme/after-forged', [installedEvent('acme/after-forged')], { expectedSequence: 0 });
    await until(() => seen.find((s) => s.name === 'acme/after-forged'), 'the genuine event after the forgery');
    expect(refused).toContainEqual({ reason: 'bad-signature', sequence: forged.seq, writer: 'registry', bytes: expect.any(Number) });
    expect(seen.some((s) => s.name === 'acme/forged')).toBe(false);
    await until(async () => {
      const i = await jsm.consumers.info(names.stream, durable);
      return i.num_ack_pending === 0 && i.ack_floor.stream_seq >= next.sequence ? i : undefined;
    }, 'both acks');
    expect(logLines.some((l) => l.includes('"level":50') && l.includes('refused an event its aggregate owner did not write') && l.includes('bad-signature'))).toBe(true);
    expect((await client.checkHealth('registry')).ready).toBe(true);
  });

  it('event - with refuseReplays, a genuine event published again is refused as replayed', async () => {
    const [original] = await store.append(PLUGIN_AGGREGATE, 'acme/replayed', [installedEvent('acme/replayed')], { expectedSequence: 0 });
    const stored = (await jsm.streams.getMessage(names.stream, { seq: original.sequence }))!;
    const replay = await jetstream(nc).publish(stored.subject, stored.data, {
      headers: natsHeadersOf(proofHeadersOf(stored.header)),
    });
    await until(() => refused.find((r) => r.sequence === replay.seq), 'the replay to be refused');
    expect(refused.find((r) => r.sequence === replay.seq)).toMatchObject({ reason: 'replayed', writer: 'registry' });
    expect(seen.filter((s) => s.name === 'acme/replayed').map((s) => s.sequence)).toEqual([original.sequence]);
  });

  it('event - HaltConsumerError stops the consumer and readiness turns false', async () => {
    const [poison] = await store.append(PLUGIN_AGGREGATE, 'acme/poison', [installedEvent('acme/poison')], { expectedSequence: 0 });
    const health = await until(async () => {
      const h: HealthReply = await client.checkHealth('registry');
      return h.ready ? undefined : h;
    }, 'readiness to turn false');
    expect(health.checks.consumer).toEqual({ ok: false, detail: `cannot apply event ${poison.sequence}` });
    expect(health.checks.nats.ok).toBe(true);

    await store.append(PLUGIN_AGGREGATE, 'acme/after-halt', [installedEvent('acme/after-halt')], { expectedSequence: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.filter((s) => s.name === 'acme/poison')).toHaveLength(1);
    expect(seen.some((s) => s.name === 'acme/after-halt')).toBe(false);
    const info = await jsm.consumers.info(names.stream, durable);
    expect(info.ack_floor.stream_seq).toBeLessThan(poison.sequence);
  });
});

describe('ForgeOneBusServer direct commands and @MessagePattern', () => {
  it('a pattern that is both is refused when the server starts', async () => {
    @Controller()
    class Both implements OnModuleInit {
      constructor(@Inject(BusCommandRegistry) private readonly commands: BusCommandRegistry) {}
      onModuleInit(): void {
        this.commands.register('registry.both', () => 1);
      }
      @MessagePattern('registry.both')
      both() {
        return 2;
      }
    }
    @Module({})
    class BothModule {
      static forRoot(connection: NatsConnection): DynamicModule {
        return { module: BothModule, imports: [BusModule.forRoot({ connection, names, authorship: writers.authorship(names) })], controllers: [Both] };
      }
    }
    const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-registry-both');
    const both = await NestFactory.createMicroservice(BothModule.forRoot(conn), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: conn, logger }),
      logger: false,
    });
    try {
      await expect(both.listen()).rejects.toThrow('command registry.both is both a @MessagePattern and a direct command; keep one');
    } finally {
      await both.close().catch(() => undefined);
      if (!conn.isClosed()) await conn.close();
    }
  });
});

describe('ForgeOneBusServer event authorship', () => {
  it('a server with event handlers but no authorship is refused when it starts', async () => {
    const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-registry-unverified');
    const unverified = await NestFactory.createMicroservice(AppModule.forRoot(conn), {
      strategy: new ForgeOneBusServer({ service: 'registry', names, connection: conn, consumer: { durable: names.consumer('bus-test-unverified') }, logger }),
      logger: false,
    });
    try {
      await expect(unverified.listen()).rejects.toThrow(/consumes events but has no event authorship/);
    } finally {
      await unverified.close().catch(() => undefined);
      if (!conn.isClosed()) await conn.close();
    }
  });
});
