import { randomUUID } from 'node:crypto';
import { BusClient, connectNats } from '@forgeone/bus';
import { cloudEvent, names as namesFor, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, tenantAggregateId } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-store';
import { createDataSource, verifyAuditChain } from '@forgeone/persistence';
import {
  createTestDatabase,
  createTestEventWriters,
  eventually,
  provisionTestStorage,
  removeNamespace,
  testNamespace,
  TEST_NATS_URL,
  type ServiceProcess,
  type TestDatabase,
} from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAuditProjector } from './audit-projector.process.js';

const TENANT = 'acme';
const NAME = 'acme/batched';
const DIGEST = `sha256:${'e'.repeat(64)}`;

function installed(environment: string): NewEvent {
  return { id: randomUUID(), type: PLUGIN_EVENT_TYPES.installed, data: { name: NAME, version: '1.0.0', digest: DIGEST, environment }, time: new Date().toISOString(), actor: 'alice', tenant: TENANT, subject: NAME };
}

describe('audit projector - batches', () => {
  const namespace = testNamespace('projb');
  const names = namesFor(namespace);
  const writers = createTestEventWriters();
  const subject = names.eventSubject(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME));
  let db: TestDatabase;
  let ds: DataSource;
  let nc: NatsConnection;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    nc = await connectNats(TEST_NATS_URL, 'projector-batch-test');
    await provisionTestStorage(namespace);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    if (ds?.isInitialized) await ds.destroy();
    await nc?.close();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('a poison event its owner signed, amid one batch, halts the projector at its sequence: the events before it are projected and acked, none after it', { timeout: 90_000 }, async () => {
    const registry = writers.store(nc, names, 'registry');
    const aggregate = tenantAggregateId(TENANT, NAME);
    await registry.append(PLUGIN_AGGREGATE, aggregate, Array.from({ length: 20 }, (_, i) => installed(`before-${i}`)), { expectedSequence: 'any' });
    // Signed by the aggregate's owner, a valid envelope, but data the contracts refuse.
    const bad = installed('poisoned');
    const payload = new TextEncoder().encode(JSON.stringify({ ...cloudEvent(PLUGIN_AGGREGATE, aggregate, bad), data: { name: NAME, version: '1.0.0', digest: 'md5:abc', environment: 'poisoned' } }));
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(writers.signatureHeaders('registry', subject, payload))) hdrs.set(key, value);
    const poison = (await jetstream(nc).publish(subject, payload, { headers: hdrs })).seq;
    await registry.append(PLUGIN_AGGREGATE, aggregate, Array.from({ length: 20 }, (_, i) => installed(`after-${i}`)), { expectedSequence: 'any' });
    expect(poison).toBe(21);

    const projector = spawnAuditProjector({
      namespace,
      databaseUrl: db.url,
      writerEnv: writers.env('audit-projector'),
      env: { FORGEONE_PROJECTOR_BATCH_EVENTS: '256', FORGEONE_PROJECTOR_BATCH_WAIT_MS: '50' },
    });
    processes.push(projector);
    const bus = new BusClient(nc, names);
    const health = await eventually(
      async () => {
        const reply = await bus.checkHealth('audit-projector');
        return !reply.ready && reply;
      },
      `projector halted\n${projector.output()}`,
    );
    expect(JSON.stringify(health.checks)).toContain('PROJECTION.POISON_EVENT at stream sequence 21');

    ds = await createDataSource(db.url, { applicationName: 'fo-projector-batch-test' }).initialize();
    const [row] = await ds.query(`SELECT last_sequence FROM projection_checkpoint WHERE projector = 'audit-projector'`);
    expect(Number(row.last_sequence)).toBe(20);
    const audited: { sequence: string }[] = await ds.query(`SELECT sequence FROM audit_log ORDER BY sequence`);
    expect(audited.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const environments: { environment: string }[] = await ds.query(`SELECT environment FROM installations WHERE tenant = $1 AND name = $2 ORDER BY environment`, [TENANT, NAME]);
    expect(environments.map((r) => r.environment)).toEqual(Array.from({ length: 20 }, (_, i) => `before-${i}`).sort());
    expect((await verifyAuditChain(ds)).ok).toBe(true);
    // The transport acked exactly the events that were committed.
    const info = await (await jetstreamManager(nc)).consumers.info(names.stream, names.consumer('audit-projector'));
    expect(info.ack_floor.stream_seq).toBe(20);
  });
});
