import { generateKeyPairSync, sign } from 'node:crypto';
import { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES, AUDIT_CHECKPOINT_ID, cloudEvent, names as namesFor, type CloudEvent } from '@forgeone/contracts';
import { checkpointText, keyIdOf, signNote } from '@forgeone/signing';
import { provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { auditTreeRoot, auditTreeSize } from '../queries/transparency-log.queries.js';
import { installed, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';
import { verifyTransparencyLog, type StreamMessageReader } from './transparency-log.verifier.js';

const encoder = new TextEncoder();

describe('transparency log - verifying the whole log', () => {
  const namespace = testNamespace('tlogv');
  const mirror = testNamespace('tlogm');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const origin = `forgeone.local/audit/${namespace}`;
  let db: TestDatabase;
  let ds: DataSource;
  let nc: NatsConnection;
  const events: CloudEvent[] = [];

  const publish = async (ns: string, event: CloudEvent) =>
    (await jetstream(nc).publish(namesFor(ns).eventSubject('plugin', `${event.tenant}:${event.subject}`), encoder.encode(JSON.stringify(event)))).seq;
  const streamOf = (ns: string): StreamMessageReader => async (sequence) => {
    const jsm = await jetstreamManager(nc);
    try {
      return (await jsm.streams.getMessage(namesFor(ns).stream, { seq: sequence }))?.data;
    } catch {
      return undefined;
    }
  };
  const append = async (event: CloudEvent) => {
    const sequence = await publish(namespace, event);
    events.push(event);
    expect(await applyEvent(ds, 'audit-projector', sequence, event)).toBe('applied');
  };
  const checkpoint = async () => {
    const treeSize = await auditTreeSize(ds.manager);
    const rootHash = await auditTreeRoot(ds.manager, treeSize);
    const signedAt = new Date().toISOString();
    const note = await signNote(checkpointText({ origin, treeSize, rootHash: Buffer.from(rootHash, 'hex'), extensions: [`time ${signedAt}`] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
    const data = { origin, treeSize, rootHash, keyId: keyIdOf(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), note, signedAt };
    await append(cloudEvent(AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_ID, { id: `cp-${treeSize}-${namespace}`, type: AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, data, time: signedAt, actor: 'service.audit-projector', tenant: 'default' }));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-tlog-verify' }).initialize();
    await runMigrations(ds);
    nc = await connect({ servers: TEST_NATS_URL });
    await provisionTestStorage(namespace);
    await provisionTestStorage(mirror);
    for (let i = 0; i < 5; i += 1) await append(i % 2 ? installed({ tenant: i % 3 ? 'acme' : 'globex', name: `${i % 3 ? 'acme' : 'globex'}/p${i}` }) : versionPublished({ tenant: 'acme', name: `acme/p${i}`, version: `1.0.${i}` }));
    await checkpoint();
    for (let i = 0; i < 4; i += 1) await append(versionPublished({ tenant: 'globex', name: `globex/q${i}` }));
    await checkpoint();
    await append(installed({ tenant: 'acme', name: 'acme/p9' }));
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await nc?.close();
    await removeNamespace(namespace);
    await removeNamespace(mirror);
    await db?.drop();
  });

  it('transparency log verify - an untouched log verifies: chain, leaves, both checkpoints, their consistency, every row against JetStream', async () => {
    expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace), batchSize: 3 })).toEqual({ ok: true, rows: 12, checkpoints: 2 });
  });

  it('transparency log verify - a checkpoint checked with another key is named as signature invalid', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(await verifyTransparencyLog(ds, { publicKey: other })).toMatchObject({ ok: false, fault: { kind: 'checkpoint-signature-invalid', treeSize: 5 } });
  });

  it('transparency log verify - a row changed in the database is named, with its sequence', async () => {
    await db.sql(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    const [{ actor }] = await db.sql<{ actor: string }>(`SELECT actor FROM audit_log WHERE sequence = 3`);
    try {
      await db.sql(`UPDATE audit_log SET actor = 'someone-else' WHERE sequence = 3`);
      expect(await verifyTransparencyLog(ds, { publicKey })).toMatchObject({ ok: false, rows: 2, fault: { kind: 'changed', sequence: 3 } });
    } finally {
      await db.sql(`UPDATE audit_log SET actor = $1 WHERE sequence = 3`, [actor]);
      await db.sql(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);
    }
    expect((await verifyTransparencyLog(ds, { publicKey })).ok).toBe(true);
  });

  it('transparency log verify - a log that differs from JetStream names the first differing row and how', async () => {
    // Another stream holding the same events, but a different event at sequence 4 and nothing after 10.
    for (const [i, event] of events.entries()) {
      if (i >= 10) break;
      await publish(mirror, i === 3 ? { ...event, data: { ...(event.data as object), version: '9.9.9' } } : event);
    }
    expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(mirror) })).toMatchObject({ ok: false, rows: 3, fault: { kind: 'changed', sequence: 4 } });
    const stopsEarly: StreamMessageReader = async (sequence) => (sequence === 4 ? streamOf(namespace)(sequence) : sequence <= 10 ? streamOf(mirror)(sequence) : undefined);
    expect(await verifyTransparencyLog(ds, { publicKey, stream: stopsEarly })).toMatchObject({ ok: false, rows: 10, fault: { kind: 'inserted', sequence: 11 } });
  });
});
