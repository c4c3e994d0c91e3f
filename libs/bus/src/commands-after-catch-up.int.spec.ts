import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names as makeNames, type CloudEvent, type Names } from '@forgeone/contracts';
import { createTestEventWriters, provisionTestStorage, removeNamespace } from '@forgeone/test-harness';
import { Controller, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient } from './bus.client.js';
import { BusModule } from './bus.module.js';
import type { BusConsumerOptions } from './durable-consumer.config.js';
import { ForgeOneBusServer } from './forgeone-bus.server.js';
import { HaltConsumerError } from './halt-consumer.error.js';
import { connectNats } from './nats.connection.js';

const writers = createTestEventWriters();
const logger = pino({ level: 'silent' }, new Writable({ write: (_chunk, _enc, done) => done() }));

// What the handler has applied, and a gate the test holds one event's handling at.
const handled: string[] = [];
let gate: { readonly name: string; readonly entered: Deferred; readonly release: Deferred } | undefined;

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

@Controller()
class CatchUpController {
  @EventPattern<string>(PLUGIN_EVENT_TYPES.installed)
  async installed(@Payload() event: CloudEvent<string, { name: string }>) {
    const { name } = event.data;
    if (name.endsWith('/poison')) throw new HaltConsumerError(`cannot apply ${name}`);
    if (gate?.name === name) {
      gate.entered.resolve();
      await gate.release.promise;
    }
    handled.push(name);
  }

  @MessagePattern('audit-projector.handled')
  handled() {
    return [...handled];
  }
}

@Module({})
class CatchUpModule {
  static forRoot(connection: NatsConnection, names: Names): DynamicModule {
    return { module: CatchUpModule, imports: [BusModule.forRoot({ connection, names, authorship: writers.authorship(names, 'registry') })], controllers: [CatchUpController] };
  }
}

let nc: NatsConnection;
const namespaces: string[] = [];
const installed = (name: string) => ({ id: randomUUID(), type: PLUGIN_EVENT_TYPES.installed, data: { name, version: '1.0.0', digest: `sha256:${'c'.repeat(64)}`, environment: 'staging' }, time: new Date().toISOString(), actor: 'u-1', tenant: 'acme', source: 'forgeone/registry' });

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
});

afterAll(async () => {
  for (const ns of namespaces) await removeNamespace(ns);
  await nc?.close();
});

/** A namespace of its own per scenario: each consumer reads that scenario's plugin events only. */
async function space() {
  const ns = `t-bcu-${randomUUID().slice(0, 8)}`;
  namespaces.push(ns);
  await provisionTestStorage(ns);
  const names = makeNames(ns);
  const store = writers.store(nc, names, 'registry');
  return { names, client: new BusClient(nc, names), append: async (name: string) => (await store.append(PLUGIN_AGGREGATE, name, [installed(name)], { expectedSequence: 0 }))[0].sequence };
}

/** Creates the service and starts listening without waiting; `stop` closes it. */
async function startService(names: Names, consumer: BusConsumerOptions) {
  const conn = await connectNats('nats://127.0.0.1:4222', 'forgeone-audit-projector');
  const app = await NestFactory.createMicroservice(CatchUpModule.forRoot(conn, names), {
    strategy: new ForgeOneBusServer({ service: 'audit-projector', names, connection: conn, consumer, authorship: writers.authorship(names, 'registry'), logger }),
    logger: false,
  });
  const listening = app.listen();
  listening.catch(() => undefined);
  return {
    listening,
    stop: async () => {
      await app.close();
      if (!conn.isClosed()) await conn.close();
    },
  };
}

describe('ForgeOneBusServer with commandsAfterCatchUp', () => {
  it('takes no command and answers not ready until the events in the stream at start are handled, then answers with all of them applied', async () => {
    handled.length = 0;
    const { names, client, append } = await space();
    for (const name of ['acme/a', 'acme/b', 'acme/c']) await append(name);
    gate = { name: 'acme/b', entered: deferred(), release: deferred() };
    const service = await startService(names, { durable: names.consumer('held'), filterSubject: names.aggregateEvents(PLUGIN_AGGREGATE), maxAckPending: 1, resumeFrom: async () => 1, commandsAfterCatchUp: { timeoutMs: 30_000 } });
    try {
      // The second event's handling is held: the service has read part of what was there when it started.
      await gate.entered.promise;
      expect(handled).toEqual(['acme/a']);
      await expect(client.request('audit-projector', 'handled', {}, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'SERVICE.UNAVAILABLE' });
      const behind = await client.checkHealth('audit-projector');
      expect(behind.ready).toBe(false);
      expect(behind.checks.consumer).toEqual({ ok: false, detail: expect.stringMatching(/^catching up: handled the events up to stream sequence \d+ of \d+$/) });

      gate.release.resolve();
      await service.listening;
      expect(await client.request('audit-projector', 'handled')).toEqual(['acme/a', 'acme/b', 'acme/c']);
      expect(await client.checkHealth('audit-projector')).toMatchObject({ ready: true, checks: { consumer: { ok: true } } });

      // Events after the start are read as they come; commands keep being answered.
      await append('acme/d');
      await expect.poll(() => client.request('audit-projector', 'handled'), { timeout: 10_000 }).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
    } finally {
      gate.release.resolve();
      gate = undefined;
      await service.stop();
    }
  });

  it('with no event under its filter, it takes commands at once', async () => {
    const { names, client } = await space();
    const service = await startService(names, { durable: names.consumer('empty'), filterSubject: names.aggregateEvents(PLUGIN_AGGREGATE), commandsAfterCatchUp: { timeoutMs: 30_000 } });
    try {
      await service.listening;
      expect(await client.checkHealth('audit-projector')).toMatchObject({ ready: true, checks: { consumer: { ok: true } } });
    } finally {
      await service.stop();
    }
  });

  it('a consumer that cannot catch up in time, or halts first, fails the start with what it reached', async () => {
    const { names, append } = await space();
    const first = await append('acme/first');
    const stuck = await append('acme/stuck');
    gate = { name: 'acme/stuck', entered: deferred(), release: deferred() };
    const slow = await startService(names, { durable: names.consumer('slow'), filterSubject: names.aggregateEvents(PLUGIN_AGGREGATE), maxAckPending: 1, commandsAfterCatchUp: { timeoutMs: 500 } });
    try {
      await expect(slow.listening).rejects.toThrow(
        `audit-projector answers no command before it has read the events already in ${names.stream}, and could not: event consumer ${names.consumer('slow')} did not catch up with the stream within 500 ms: handled the events up to stream sequence ${first} of ${stuck}`,
      );
    } finally {
      gate.release.resolve();
      gate = undefined;
      await slow.stop();
    }

    await append('acme/poison');
    const halted = await startService(names, { durable: names.consumer('halt'), filterSubject: names.aggregateEvents(PLUGIN_AGGREGATE), commandsAfterCatchUp: { timeoutMs: 30_000 } });
    try {
      await expect(halted.listening).rejects.toThrow(`event consumer ${names.consumer('halt')} halted before it caught up with the stream (cannot apply acme/poison)`);
    } finally {
      await halted.stop();
    }
  });
});
