import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames } from '@forgeone/contracts';
import { createTestEventWriters, provisionTestStorage, removeNamespace } from '@forgeone/test-harness';
import { Controller, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusModule } from './bus.module.js';
import type { BusConsumerOptions } from './durable-consumer.config.js';
import { EVENT_BATCH_PATTERN, type EventBatch } from './event-batch.delivery.js';
import { ForgeOneBusServer } from './forgeone-bus.server.js';
import { HaltConsumerError } from './halt-consumer.error.js';
import { connectNats } from './nats.connection.js';

const ns = `t-busb-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
const writers = createTestEventWriters();
const logLines: string[] = [];
const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));

/** What the batch handler does with a batch; set per test. */
let behaviour: (batch: EventBatch) => void | Promise<void> = () => undefined;

@Controller()
class BatchController {
  @EventPattern<string>(EVENT_BATCH_PATTERN)
  async project(@Payload() batch: EventBatch) {
    await behaviour(batch);
  }
}

@Module({})
class BatchModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: BatchModule, imports: [BusModule.forRoot({ connection, names, authorship: writers.authorship(names, 'registry') })], controllers: [BatchController] };
  }
}

let nc: NatsConnection;
let jsm: JetStreamManager;
const TOTAL = 241;
const FORGED_AT = 121;

const installed = (name: string) => ({ id: randomUUID(), type: PLUGIN_EVENT_TYPES.installed, data: { name, version: '1.0.0', digest: `sha256:${'c'.repeat(64)}`, environment: 'staging' }, time: new Date().toISOString(), actor: 'u-1', tenant: 'acme', source: 'forgeone/registry' });

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionTestStorage(ns);
  const store = writers.store(nc, names, 'registry');
  // 120 signed events, one message nobody signed, 120 more: sequences 1..241, the forged one at 121.
  for (let i = 0; i < 4; i++) await store.append(PLUGIN_AGGREGATE, `acme/p${i}`, Array.from({ length: 30 }, () => installed(`acme/p${i}`)), { expectedSequence: 0 });
  await jetstream(nc).publish(names.eventSubject(PLUGIN_AGGREGATE, 'acme/forged'), new TextEncoder().encode(JSON.stringify(installed('acme/forged'))));
  for (let i = 4; i < 8; i++) await store.append(PLUGIN_AGGREGATE, `acme/p${i}`, Array.from({ length: 30 }, () => installed(`acme/p${i}`)), { expectedSequence: 0 });
});

afterAll(async () => {
  await removeNamespace(ns);
  await nc?.close();
});

async function withService(consumer: BusConsumerOptions, body: (server: ForgeOneBusServer) => Promise<void>, authorship = writers.authorship(names, 'registry')): Promise<void> {
  const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-audit-projector');
  const server = new ForgeOneBusServer({ service: 'audit-projector', names, connection: conn, consumer, authorship, logger });
  const app = await NestFactory.createMicroservice(BatchModule.forRoot(conn), { strategy: server, logger: false });
  try {
    await app.listen();
    await body(server);
  } finally {
    await app.close();
    if (!conn.isClosed()) await conn.close();
  }
}

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  for (const start = Date.now(); !condition(); ) {
    if (Date.now() - start > ms) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('event batches', () => {
  it('batch - every message arrives once, in stream order, in batches of at most maxMessages, the forged one in its place', async () => {
    const batches: { sequence: number; kind: string }[][] = [];
    behaviour = (batch) => void batches.push(batch.events.map((e) => ({ sequence: e.context.sequence, kind: e.kind })));
    await withService({ durable: names.consumer('order'), maxAckPending: 128, batch: { maxMessages: 64, maxWaitMs: 20 } }, async () => {
      await until(() => batches.flat().length >= TOTAL);
    });
    const delivered = batches.flat();
    expect(delivered.map((d) => d.sequence)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(delivered.filter((d) => d.kind === 'refused').map((d) => d.sequence)).toEqual([FORGED_AT]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(64);
    expect(batches.length).toBeLessThan(TOTAL / 4);
    expect((await jsm.consumers.info(names.stream, names.consumer('order'))).ack_floor.stream_seq).toBe(TOTAL);
  });

  it('batch - a failing batch is retried after its backoff and nothing behind it overtakes it', async () => {
    const handled: number[] = [];
    let failures = 0;
    behaviour = (batch) => {
      const sequences = batch.events.map((e) => e.context.sequence);
      if (sequences.includes(100) && failures < 2) {
        failures++;
        throw new Error('the database is away');
      }
      handled.push(...sequences);
    };
    await withService({ durable: names.consumer('retry'), maxAckPending: 64, backoffMs: [50, 100], batch: { maxMessages: 16, maxWaitMs: 10 } }, async () => {
      await until(() => handled.length >= TOTAL);
    });
    expect(failures).toBe(2);
    expect(handled).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(logLines.some((l) => l.includes('event batch handler failed; retrying the batch'))).toBe(true);
  });

  it('batch - a halt naming a sequence stops the consumer there: the messages before it are acked, none after it is handed over', async () => {
    const handled: number[] = [];
    behaviour = (batch) => {
      for (const e of batch.events) {
        if (e.context.sequence === 50) throw new HaltConsumerError('poison at 50', { sequence: 50 });
        handled.push(e.context.sequence);
      }
    };
    const durable = names.consumer('halt');
    await withService({ durable, maxAckPending: 64, batch: { maxMessages: 32, maxWaitMs: 10 } }, async (server) => {
      await until(() => server.haltReason !== undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(server.haltReason).toBe('poison at 50');
      expect((await server.health()).ready).toBe(false);
    });
    expect(Math.max(...handled)).toBe(49);
    expect((await jsm.consumers.info(names.stream, durable)).ack_floor.stream_seq).toBe(49);
  });

  it('batch - the next batch is opened while the handler applies one; batches are handed over one at a time, in order, and a halt in the middle hands over nothing after it', async () => {
    // Opening is where authorship signatures are checked: record which messages were opened while a batch was being applied.
    const authorship = writers.authorship(names, 'registry');
    const open = authorship.open.bind(authorship);
    let applying: number | undefined;
    const openedDuring: { sequence: number; applying: number | undefined }[] = [];
    authorship.open = (msg) => {
      openedDuring.push({ sequence: msg.seq, applying });
      return open(msg);
    };
    const handled: number[] = [];
    let overlapping = 0;
    behaviour = async (batch) => {
      if (applying !== undefined) overlapping++;
      const first = batch.events[0].context.sequence;
      applying = first;
      try {
        // A transaction's worth of waiting, during which the next batch arrives and is opened.
        await new Promise((resolve) => setTimeout(resolve, 40));
        for (const e of batch.events) {
          if (e.context.sequence === 150) throw new HaltConsumerError('poison at 150', { sequence: 150 });
          handled.push(e.context.sequence);
        }
      } finally {
        applying = undefined;
      }
    };
    const durable = names.consumer('pipelined');
    await withService(
      { durable, maxAckPending: 64, batch: { maxMessages: 32, maxWaitMs: 10 } },
      async (server) => {
        await until(() => server.haltReason !== undefined);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(server.haltReason).toBe('poison at 150');
      },
      authorship,
    );
    expect(overlapping).toBe(0);
    expect(handled).toEqual(Array.from({ length: 149 }, (_, i) => i + 1));
    expect((await jsm.consumers.info(names.stream, durable)).ack_floor.stream_seq).toBe(149);
    // Messages past the batch being applied were opened during it, the one behind the poison event included.
    const ahead = openedDuring.filter((o) => o.applying !== undefined && o.sequence > o.applying);
    expect(ahead.length).toBeGreaterThan(0);
    expect(openedDuring.some((o) => o.sequence > 150 && o.applying !== undefined)).toBe(true);
  });

  it('batch - a batch handler beside per-event handlers is refused at start, naming both', async () => {
    const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-audit-projector');
    const server = new ForgeOneBusServer({ service: 'audit-projector', names, connection: conn, consumer: { durable: names.consumer('mixed') }, authorship: writers.authorship(names, 'registry'), logger });
    server.addHandler(EVENT_BATCH_PATTERN, async () => undefined, true);
    server.addHandler('*', async () => undefined, true);
    await expect(new Promise((resolve, reject) => server.listen((error) => (error ? reject(error) : resolve(undefined))))).rejects.toThrow(
      `audit-projector has an ${EVENT_BATCH_PATTERN} handler and per-event handlers (*); keep one`,
    );
    await server.close();
    if (!conn.isClosed()) await conn.close();
  });

  it('batch - a message its owner signed that is no CloudEvent ends the batch: the ones before it are handed over and acked, it is retried with backoff', async () => {
    const payload = new TextEncoder().encode(JSON.stringify({ hello: 'not an event' }));
    const subject = names.eventSubject(PLUGIN_AGGREGATE, 'acme:acme/invalid');
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(writers.signatureHeaders('registry', subject, payload))) hdrs.set(key, value);
    const invalid = (await jetstream(nc).publish(subject, payload, { headers: hdrs })).seq;
    const handled: number[] = [];
    behaviour = (batch) => void handled.push(...batch.events.map((e) => e.context.sequence));
    const durable = names.consumer('invalid');
    const retries = () => logLines.filter((l) => l.includes('event is not a valid CloudEvent; retrying it') && l.includes(`"sequence":${invalid}`)).length;
    await withService({ durable, maxAckPending: 512, backoffMs: [30], batch: { maxMessages: 512, maxWaitMs: 20 } }, async () => {
      await until(() => retries() >= 3);
    });
    expect(handled).toEqual(Array.from({ length: invalid - 1 }, (_, i) => i + 1));
    expect((await jsm.consumers.info(names.stream, durable)).ack_floor.stream_seq).toBe(invalid - 1);
  });
});
