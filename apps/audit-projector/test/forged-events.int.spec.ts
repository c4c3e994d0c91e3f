import { randomUUID } from 'node:crypto';
import { BusClient, connectNats } from '@forgeone/bus';
import { cloudEvent, HEADERS, names as namesFor, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, tenantAggregateId } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-store';
import { createDataSource, listPlugins, securityFindings, verifyAuditChain, auditLog } from '@forgeone/persistence';
import {
  createTestDatabase,
  createTestEventWriters,
  eventually,
  proofHeadersOf,
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
const NAME = 'acme/hello';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const encoder = new TextEncoder();

function published(version: string): NewEvent {
  return {
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.versionPublished,
    data: {
      name: NAME,
      version,
      digest: DIGEST,
      sizeBytes: 10,
      manifestDigest: DIGEST,
      manifest: {
        name: NAME,
        version,
        abi: 1,
        description: 'greets',
        handlers: ['greet'],
        capabilities: {},
        limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 },
      },
      publisher: 'alice',
    },
    time: new Date().toISOString(),
    actor: 'alice',
    tenant: TENANT,
    subject: NAME,
  };
}

function installed(environment: string, version = '1.0.0'): NewEvent {
  return { id: randomUUID(), type: PLUGIN_EVENT_TYPES.installed, data: { name: NAME, version, digest: DIGEST, environment }, time: new Date().toISOString(), actor: 'alice', tenant: TENANT, subject: NAME };
}

// The envelope the store would write for `event`, for publishing it straight onto NATS.
function envelope(event: NewEvent): Uint8Array {
  return encoder.encode(JSON.stringify(cloudEvent(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME), event)));
}

describe('audit projector - events their owner did not write', () => {
  const namespace = testNamespace('projf');
  const names = namesFor(namespace);
  const writers = createTestEventWriters();
  const subject = names.eventSubject(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME));
  let db: TestDatabase;
  let ds: DataSource;
  let nc: NatsConnection;
  const processes: ServiceProcess[] = [];

  const publish = async (payload: Uint8Array, headers: Record<string, string> = {}) => {
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(headers)) hdrs.set(key, value);
    return (await jetstream(nc).publish(subject, payload, { headers: hdrs })).seq;
  };
  const checkpointOf = async () => Number((await ds.query(`SELECT last_sequence FROM projection_checkpoint WHERE projector = 'audit-projector'`))[0]?.last_sequence ?? 0);

  beforeAll(async () => {
    db = await createTestDatabase();
    nc = await connectNats(TEST_NATS_URL, 'projector-forgery-test');
    await provisionTestStorage(namespace);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    if (ds?.isInitialized) await ds.destroy();
    await nc?.close();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('unsigned history up to the cut-over is projected; forgeries after it are audit rows marked forged, and the projector goes on', { timeout: 90_000 }, async () => {
    // History from before signing: unsigned, at sequences 1 and 2.
    const legacyPublish = published('1.0.0');
    const legacyInstall = installed('staging');
    await publish(envelope(legacyPublish));
    const cutOver = await publish(envelope(legacyInstall));

    const projector = spawnAuditProjector({ namespace, databaseUrl: db.url, writerEnv: writers.env('audit-projector', cutOver) });
    processes.push(projector);
    const bus = new BusClient(nc, names);
    await eventually(() => bus.checkHealth('audit-projector').then((h) => h.ready), `projector ready\n${projector.output()}`);
    ds = await createDataSource(db.url, { applicationName: 'fo-projector-forgery-test' }).initialize();

    const registry = writers.store(nc, names, 'registry');
    const [genuineInstall] = await registry.append(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME), [installed('qa')], { expectedSequence: 'any' });
    const forgedProduction = installed('production');
    const unsigned = await publish(envelope(forgedProduction));
    const wrongWriterPayload = envelope(installed('production'));
    const wrongWriter = await publish(wrongWriterPayload, writers.signatureHeaders('sandbox-runner', subject, wrongWriterPayload));
    const stored = (await (await jetstreamManager(nc)).streams.getMessage(names.stream, { seq: genuineInstall.sequence }))!;
    const tampered = await publish(envelope(installed('production')), { [HEADERS.eventWriter]: 'registry', [HEADERS.eventSignature]: stored.header.get(HEADERS.eventSignature) });
    const replayed = await publish(stored.data, proofHeadersOf(stored.header));
    const notJson = await publish(encoder.encode('\u0000 not an event'), { [HEADERS.eventWriter]: 'nobody', [HEADERS.eventSignature]: 'x' });
    // The next genuine event after all of them.
    const [after] = await registry.append(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME), [installed('perf')], { expectedSequence: 'any' });

    await eventually(async () => (await checkpointOf()) === after.sequence, `projector reached ${after.sequence}\n${projector.output()}`);
    expect((await bus.checkHealth('audit-projector')).ready).toBe(true);

    const environments = async (environment: string) => (await listPlugins(ds, { tenant: TENANT, environment })).map((p) => p.name);
    expect(await environments('staging')).toEqual([NAME]);
    expect(await environments('qa')).toEqual([NAME]);
    expect(await environments('perf')).toEqual([NAME]);
    expect(await environments('production')).toEqual([]);

    const rows = await auditLog(ds, { tenant: TENANT, limit: 100 });
    expect(rows.map((r) => [r.sequence, r.forged])).toEqual([
      [1, null],
      [cutOver, null],
      [genuineInstall.sequence, null],
      [unsigned, 'unsigned'],
      [wrongWriter, 'wrong-writer'],
      [tampered, 'bad-signature'],
      [replayed, 'replayed'],
      [after.sequence, null],
    ]);
    expect(rows.find((r) => r.sequence === unsigned)).toMatchObject({ eventId: forgedProduction.id, plugin: NAME, data: { environment: 'production' }, forgedDetail: { writer: null, subject } });
    // Garbage with no tenant is recorded too, outside every tenant's view.
    const [garbage] = await ds.query(`SELECT tenant, forged, forged_detail FROM audit_log WHERE sequence = $1`, [notJson]);
    expect(garbage).toMatchObject({ tenant: '', forged: 'unknown-writer', forged_detail: { writer: 'nobody', subject } });

    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: after.sequence, forged: { count: 5, sequences: [unsigned, wrongWriter, tampered, replayed, notJson] } });
    const { counts } = await securityFindings(ds);
    expect(counts.map((c) => [c.kind, c.writer, c.total]).sort()).toEqual(
      [
        ['event.bad-signature', 'registry', 1],
        ['event.replayed', 'registry', 1],
        ['event.unknown-writer', 'nobody', 1],
        ['event.unsigned', '(none)', 1],
        ['event.wrong-writer', 'sandbox-runner', 1],
      ].sort(),
    );
    expect(projector.output()).toMatch(/"level":"error".*refused an event its aggregate owner did not write/);
  });
});
