import { generateKeyPairSync, sign } from 'node:crypto';
import { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES, AUDIT_CHECKPOINT_ID, aggregateOfEventType, aggregateOwner, cloudEvent, names as namesFor, type CloudEvent } from '@forgeone/contracts';
import { checkpointText, keyIdOf, signNote } from '@forgeone/signing';
import { createTestEventWriters, provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { auditTreeRoot, auditTreeSize } from '../queries/transparency-log.queries.js';
import { installed, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';
import { AuditLogEntity } from '../entities/read-model.entities.js';
import { auditCheckpoint } from '../queries/transparency-log.queries.js';
import { auditHash } from './audit-chain.js';
import { auditEntryForgedMark, auditEntryToEvent } from './audit-chain.verifier.js';
import { auditEventDigest, auditLeafHash } from './audit-leaf.js';
import { verifyTransparencyLog, type StreamMessageReader } from './transparency-log.verifier.js';

const encoder = new TextEncoder();

describe('transparency log - verifying the whole log', () => {
  const namespace = testNamespace('tlogv');
  const mirror = testNamespace('tlogm');
  // The same events signed by their owners, and again with the fourth signed by a key nobody pinned.
  const signed = testNamespace('tlogs');
  const misSigned = testNamespace('tlogx');
  const writers = createTestEventWriters();
  const stranger = createTestEventWriters();
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
      const data = (await jsm.streams.getMessage(namesFor(ns).stream, { seq: sequence }))?.data;
      return data ? { data } : undefined;
    } catch {
      return undefined;
    }
  };
  // Each message with the verdict of a reader pinning `writers`' keys, as the runtime's stream reader gives it.
  const verifiedStreamOf = (ns: string): StreamMessageReader => {
    const authorship = writers.authorship(namesFor(ns));
    return async (sequence) => {
      const jsm = await jetstreamManager(nc);
      try {
        const found = await jsm.streams.getMessage(namesFor(ns).stream, { seq: sequence });
        return found ? { data: found.data, authorship: authorship.verdict({ subject: found.subject, data: found.data, seq: found.seq, headers: found.header }) } : undefined;
      } catch {
        return undefined;
      }
    };
  };
  const publishSigned = async (ns: string, event: CloudEvent, signers: typeof writers) => {
    const aggregate = aggregateOfEventType(event.type)!;
    const subject = namesFor(ns).eventSubject(aggregate, aggregate === AUDIT_CHECKPOINT_AGGREGATE ? event.subject : `${event.tenant}:${event.subject}`);
    const payload = encoder.encode(JSON.stringify(event));
    const headers = natsHeaders();
    for (const [name, value] of Object.entries(signers.signatureHeaders(aggregateOwner(aggregate)!, subject, payload))) headers.set(name, value);
    return (await jetstream(nc).publish(subject, payload, { headers })).seq;
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
    await provisionTestStorage(signed);
    await provisionTestStorage(misSigned);
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
    await removeNamespace(signed);
    await removeNamespace(misSigned);
    await db?.drop();
  });

  it('transparency log verify - an untouched log verifies: chain, leaves, both checkpoints, their consistency, every row against JetStream', async () => {
    expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace), batchSize: 3 })).toEqual({ ok: true, rows: 12, checkpoints: 2, externalCheckpoints: 0, range: { from: 1, to: 12 } });
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

  it('transparency log verify - with authorship, every row\'s stream message must verify under its owner\'s pinned key: one signed by another key is named forged', async () => {
    for (const [i, event] of events.entries()) {
      expect(await publishSigned(signed, event, writers)).toBe(i + 1);
      // The same payload bytes (so the same id and digest), signed by a key that is not the one pinned for its writer.
      expect(await publishSigned(misSigned, event, i === 3 ? stranger : writers)).toBe(i + 1);
    }
    expect(await verifyTransparencyLog(ds, { publicKey, stream: verifiedStreamOf(signed), authorship: true })).toEqual({ ok: true, rows: 12, checkpoints: 2, externalCheckpoints: 0, range: { from: 1, to: 12 } });
    // Digest and id match, so only the signature tells.
    expect((await verifyTransparencyLog(ds, { publicKey, stream: verifiedStreamOf(misSigned) })).ok).toBe(true);
    const forged = await verifyTransparencyLog(ds, { publicKey, stream: verifiedStreamOf(misSigned), authorship: true });
    expect(forged).toMatchObject({ ok: false, rows: 3, fault: { kind: 'forged', sequence: 4 } });
    expect(forged.fault!.message).toMatch(/row 4 records event .* as genuine, but the stream's message at that sequence is not its aggregate owner's \(bad-signature\)/);
    // The unsigned stream of the other cases: its first message is refused (after the cut-over, 0).
    expect(await verifyTransparencyLog(ds, { publicKey, stream: verifiedStreamOf(namespace), authorship: true })).toMatchObject({ ok: false, rows: 0, fault: { kind: 'forged', sequence: 1, message: expect.stringContaining('(unsigned)') } });
    // A reader that gives no verdict cannot pass for one that checked.
    await expect(verifyTransparencyLog(ds, { publicKey, stream: streamOf(signed), authorship: true })).rejects.toThrow(/gave no authorship verdict for sequence 1/);
  });

  // Tampering as the table owner would: triggers off, the change made, the log restored after each case.
  const tampered = async (change: string[], check: () => Promise<void>) => {
    await db.sql(`CREATE TABLE audit_log_saved AS SELECT * FROM audit_log`);
    await db.sql(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    try {
      for (const statement of change) await db.sql(statement);
      await check();
    } finally {
      await db.sql(`DELETE FROM audit_log`);
      await db.sql(`INSERT INTO audit_log SELECT * FROM audit_log_saved`);
      await db.sql(`DROP TABLE audit_log_saved`);
      await db.sql(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);
    }
    expect((await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace) })).ok).toBe(true);
  };

  // Recomputes hash (and, with `leaves`, leaf hash) of every row from `sequence` on, as a forger who knows the formulas would.
  const rechain = async (sequence: number, leaves: boolean) => {
    const rows = await ds.getRepository(AuditLogEntity).find({ order: { sequence: 'ASC' } });
    let prev = rows.find((r) => r.sequence === sequence - 1)?.hash ?? '0'.repeat(64);
    for (const row of rows.filter((r) => r.sequence >= sequence)) {
      const event = auditEntryToEvent(row);
      const mark = auditEntryForgedMark(row);
      const hash = auditHash(prev, row.sequence, event, mark);
      const leaf = auditLeafHash({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence: row.tenantSequence, digest: auditEventDigest(event, mark) });
      await db.sql(`UPDATE audit_log SET prev_hash = $1, hash = $2${leaves ? ', leaf_hash = $4' : ''} WHERE sequence = $3`, leaves ? [prev, hash, row.sequence, leaf] : [prev, hash, row.sequence]);
      prev = hash;
    }
  };

  it('transparency log verify - a range from a sequence to a sequence starts from the stored chain and tree, and checks the checkpoints inside it', async () => {
    expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace), from: 7, batchSize: 2 })).toEqual({ ok: true, rows: 6, checkpoints: 1, externalCheckpoints: 0, range: { from: 7, to: 12 } });
    expect(await verifyTransparencyLog(ds, { publicKey, from: 2, to: 9 })).toEqual({ ok: true, rows: 8, checkpoints: 1, externalCheckpoints: 0, range: { from: 2, to: 9 } });
    const progress: number[] = [];
    await verifyTransparencyLog(ds, { publicKey, batchSize: 5, onProgress: ({ rows }) => progress.push(rows) });
    expect(progress).toEqual([5, 10, 12]);
    await expect(verifyTransparencyLog(ds, { publicKey, from: 5, to: 4 })).rejects.toThrow(/to must be a stream sequence at or after from \(5\)/);
  });

  it('transparency log verify - a checkpoint kept outside the platform is checked against the recomputed root at its size', async () => {
    const kept = (await auditCheckpoint(ds.manager, 10))!;
    expect(await verifyTransparencyLog(ds, { publicKey, external: [kept] })).toMatchObject({ ok: true, externalCheckpoints: 1 });
    expect(await verifyTransparencyLog(ds, { publicKey, from: 12, external: [kept] })).toMatchObject({ ok: true, rows: 1, externalCheckpoints: 1 });
    // Signed with the pinned key but over another root: the log the platform holds is not the one that was signed.
    const rewritten = await signNote(checkpointText({ origin, treeSize: 10, rootHash: Buffer.alloc(32, 7), extensions: ['time 2026-01-01T00:00:00Z'] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
    expect(await verifyTransparencyLog(ds, { publicKey, external: [{ origin, note: rewritten }] })).toMatchObject({ ok: false, fault: { kind: 'checkpoint-root-mismatch', treeSize: 10 } });
    const beyond = await signNote(checkpointText({ origin, treeSize: 40, rootHash: Buffer.alloc(32, 7), extensions: ['time 2026-01-01T00:00:00Z'] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
    expect(await verifyTransparencyLog(ds, { publicKey, external: [{ origin, note: beyond }] })).toMatchObject({ ok: false, fault: { kind: 'missing', treeSize: 40 } });
    const other = generateKeyPairSync('ed25519');
    const foreign = await signNote(checkpointText({ origin, treeSize: 10, rootHash: Buffer.from(kept.rootHash, 'hex'), extensions: ['time 2026-01-01T00:00:00Z'] }), origin, other.publicKey, async (m) => new Uint8Array(sign(null, m, other.privateKey)));
    expect(await verifyTransparencyLog(ds, { publicKey, external: [{ origin, note: foreign }] })).toMatchObject({ ok: false, fault: { kind: 'checkpoint-signature-invalid' } });
  });

  it('transparency log verify - a deleted row is missing at its sequence, with or without the stream', async () => {
    await tampered([`DELETE FROM audit_log WHERE sequence = 8`], async () => {
      expect(await verifyTransparencyLog(ds, { publicKey })).toMatchObject({ ok: false, rows: 7, fault: { kind: 'missing', sequence: 8 } });
      expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace) })).toMatchObject({ ok: false, rows: 7, fault: { kind: 'missing', sequence: 8 } });
    });
  });

  it('transparency log verify - two swapped rows are reordered at the first of them', async () => {
    await tampered(
      [`UPDATE audit_log SET sequence = 1000 WHERE sequence = 8`, `UPDATE audit_log SET sequence = 8 WHERE sequence = 9`, `UPDATE audit_log SET sequence = 9 WHERE sequence = 1000`],
      async () => {
        expect(await verifyTransparencyLog(ds, { publicKey })).toMatchObject({ ok: false, rows: 7, fault: { kind: 'reordered', sequence: 8 } });
      },
    );
  });

  it('transparency log verify - a forged row inserted with a correct chain after it is named inserted by the stream', async () => {
    const [last] = await db.sql<{ hash: string }>(`SELECT hash FROM audit_log WHERE sequence = 12`);
    const forged = { id: `forged-${namespace}` };
    await tampered(
      [
        `CREATE TABLE forged_row AS SELECT * FROM audit_log WHERE sequence = 12`,
        `UPDATE forged_row SET sequence = 13, event_id = '${forged.id}', data = data || '{"version":"6.6.6"}'::jsonb, prev_hash = '${last!.hash}', leaf_index = leaf_index + 1, tenant_sequence = tenant_sequence + 1`,
        `INSERT INTO audit_log SELECT * FROM forged_row`,
        `DROP TABLE forged_row`,
      ],
      async () => {
        await rechain(13, true);
        expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace) })).toMatchObject({ ok: false, rows: 12, fault: { kind: 'inserted', sequence: 13 } });
      },
    );
  });

  it('transparency log verify - a row rewritten with the chain and leaves recomputed after it fails the signed checkpoint, and the stream locates it', async () => {
    await tampered([`UPDATE audit_log SET actor = 'someone-else' WHERE sequence = 3`], async () => {
      await rechain(3, false);
      expect(await verifyTransparencyLog(ds, { publicKey })).toMatchObject({ ok: false, rows: 2, fault: { kind: 'changed', sequence: 3 } });
      await rechain(3, true);
      expect(await verifyTransparencyLog(ds, { publicKey })).toMatchObject({ ok: false, rows: 5, fault: { kind: 'checkpoint-root-mismatch', treeSize: 5 } });
      expect(await verifyTransparencyLog(ds, { publicKey, stream: streamOf(namespace) })).toMatchObject({ ok: false, rows: 2, fault: { kind: 'changed', sequence: 3 } });
    });
  });
});
