import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames, type CloudEvent } from '@forgeone/contracts';
import { createTestEventWriters, provisionTestStorage, removeNamespace } from '@forgeone/test-harness';
import { Controller, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { AckPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusModule } from './bus.module.js';
import type { BusConsumerOptions } from './durable-consumer.config.js';
import { ForgeOneBusServer } from './forgeone-bus.server.js';
import { connectNats } from './nats.connection.js';

const ns = `t-busc-${randomUUID().slice(0, 8)}`;
const names = makeNames(ns);
const writers = createTestEventWriters();
const handled: string[] = [];
const logLines: string[] = [];
const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));

@Controller()
class InstalledController {
  @EventPattern<string>(PLUGIN_EVENT_TYPES.installed)
  installed(@Payload() event: CloudEvent<string, { name: string }>) {
    handled.push(event.data.name);
  }
}

@Module({})
class ConsumerModule {
  static forRoot(connection: NatsConnection): DynamicModule {
    return { module: ConsumerModule, imports: [BusModule.forRoot({ connection, names, authorship: writers.authorship(names, 'registry') })], controllers: [InstalledController] };
  }
}

let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
  await provisionTestStorage(ns);
});

afterAll(async () => {
  await removeNamespace(ns);
  await nc?.close();
});

/** Starts a service consuming with `consumer`, runs `body`, and closes it. */
async function withService(consumer: BusConsumerOptions, body: () => Promise<void> = async () => undefined): Promise<void> {
  const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-audit-projector');
  const app = await NestFactory.createMicroservice(ConsumerModule.forRoot(conn), {
    strategy: new ForgeOneBusServer({ service: 'audit-projector', names, connection: conn, consumer, authorship: writers.authorship(names, 'registry'), logger }),
    logger: false,
  });
  try {
    await app.listen();
    await body();
  } finally {
    await app.close();
    if (!conn.isClosed()) await conn.close();
  }
}

describe('BusEventConsumer durable settings', () => {
  it('durable - a changed inactive_threshold, max_deliver, ack_wait, max_ack_pending and filter subject are applied to the existing durable, which keeps its position', async () => {
    const durable = names.consumer('reconcile');
    const store = writers.store(nc, names, 'registry');
    const installed = (name: string) => ({ id: randomUUID(), type: PLUGIN_EVENT_TYPES.installed, data: { name, version: '1.0.0', digest: `sha256:${'c'.repeat(64)}`, environment: 'staging' }, time: new Date().toISOString(), actor: 'u-1', tenant: 'acme', source: 'forgeone/registry' });
    const [first] = await store.append(PLUGIN_AGGREGATE, 'acme/first', [installed('acme/first')], { expectedSequence: 0 });

    await withService({ durable }, async () => {
      for (let i = 0; i < 200 && !handled.includes('acme/first'); i++) await new Promise((r) => setTimeout(r, 25));
    });
    expect(handled).toEqual(['acme/first']);
    const before = await jsm.consumers.info(names.stream, durable);
    expect(before.config).toMatchObject({ ack_policy: AckPolicy.Explicit, max_deliver: -1, ack_wait: nanos(30_000), max_ack_pending: 1_000, filter_subject: names.eventsWildcard });
    expect(before.config.inactive_threshold ?? 0).toBe(0);
    expect(before.ack_floor.stream_seq).toBe(first.sequence);

    const changed: BusConsumerOptions = {
      durable,
      inactiveThresholdMs: 3_600_000,
      maxDeliver: 7,
      ackWaitMs: 12_000,
      maxAckPending: 1,
      filterSubject: names.eventSubject(PLUGIN_AGGREGATE, '*'),
    };
    await withService(changed, async () => {
      const info = await jsm.consumers.info(names.stream, durable);
      expect(info.config).toMatchObject({
        inactive_threshold: nanos(3_600_000),
        max_deliver: 7,
        ack_wait: nanos(12_000),
        max_ack_pending: 1,
        filter_subject: names.eventSubject(PLUGIN_AGGREGATE, '*'),
      });
      // Updated in place, not recreated: what was acked stays acked.
      expect(info.ack_floor.stream_seq).toBe(first.sequence);
      expect(info.created).toBe(before.created);
    });
    expect(handled).toEqual(['acme/first']);
    expect(logLines.some((l) => l.includes('durable consumer settings changed'))).toBe(true);

    // Dropping the inactivity limit again is a change too.
    await withService({ ...changed, inactiveThresholdMs: undefined });
    expect((await jsm.consumers.info(names.stream, durable)).config.inactive_threshold ?? 0).toBe(0);
  });

  it('durable - one created with another ack policy is refused with what to do, not silently kept', async () => {
    const durable = names.consumer('fixed');
    await jsm.consumers.add(names.stream, { durable_name: durable, ack_policy: AckPolicy.All, filter_subject: names.eventsWildcard });
    await expect(withService({ durable })).rejects.toThrow(`durable consumer ${durable} on ${names.stream} has ack_policy all but audit-projector needs explicit, which JetStream cannot change in place; delete that consumer and restart audit-projector to recreate it`);
  });
});
