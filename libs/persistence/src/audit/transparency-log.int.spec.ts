import { consistencyProof, inclusionPath, leafHash, merkleTreeHash, verifyConsistency, verifyInclusion } from '@forgeone/signing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogEntity } from '../entities/read-model.entities.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { auditTreeRoot, auditTreeSize } from '../queries/transparency-log.queries.js';
import { installed, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { recordForgedEvent } from '../writer/forged-event.writer.js';
import { applyEvent } from '../writer/projection.writer.js';
import { auditEntryForgedMark, auditEntryToEvent } from './audit-chain.verifier.js';
import { auditEventDigest, auditLeafHash, auditLeafText } from './audit-leaf.js';
import { readNodes } from './merkle-node.store.js';
import { consistencyRanges, inclusionRanges, nodesOfRanges, rangeHash } from '@forgeone/signing';

const TENANTS = ['acme', 'globex', 'initech'];

describe('transparency log - stored tree', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const total = 37;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-tlog-test' }).initialize();
    await runMigrations(ds);
    // A seeded mix of tenants and one forged row, so tenant sequences interleave.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let sequence = 1; sequence <= total; sequence += 1) {
      const tenant = TENANTS[next() % TENANTS.length]!;
      if (sequence === 11) {
        await recordForgedEvent(ds, 'audit-projector', sequence, { reason: 'unsigned', message: 'no signature', subject: 'forgeone.evt.plugin.x', writer: null, payload: Buffer.from('{"tenant":"acme"}'), storedAt: '2026-03-01T10:00:00.000Z' });
        continue;
      }
      const name = `${tenant}/p${sequence}`;
      await applyEvent(ds, 'audit-projector', sequence, sequence % 2 ? versionPublished({ tenant, name }) : installed({ tenant, name }));
    }
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const rows = () => ds.getRepository(AuditLogEntity).find({ order: { sequence: 'ASC' } });

  it('transparency log - rows get consecutive leaf indexes, contiguous per-tenant sequences and their leaf hashes', async () => {
    const all = await rows();
    expect(all.map((r) => r.leafIndex)).toEqual(all.map((_, i) => i));
    const perTenant = new Map<string, number>();
    for (const row of all) {
      const expected = (perTenant.get(row.tenant) ?? 0) + 1;
      perTenant.set(row.tenant, expected);
      expect(row.tenantSequence, `row ${row.sequence}`).toBe(expected);
      const digest = auditEventDigest(auditEntryToEvent(row), auditEntryForgedMark(row));
      expect(row.leafHash).toBe(auditLeafHash({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence: row.tenantSequence, digest }));
    }
    expect(all.find((r) => r.sequence === 11)?.forged).toBe('unsigned');
  });

  it('transparency log - the forged mark is bound into the leaf', async () => {
    const forged = (await rows()).find((r) => r.sequence === 11)!;
    const genuineDigest = auditEventDigest(auditEntryToEvent(forged));
    expect(auditEventDigest(auditEntryToEvent(forged), auditEntryForgedMark(forged))).not.toBe(genuineDigest);
  });

  it('transparency log - stored roots, inclusion paths and consistency proofs equal the naive recursion', async () => {
    const leaves = (await rows()).map((r) => Buffer.from(r.leafHash, 'hex'));
    expect(await auditTreeSize(ds.manager)).toBe(total);
    for (let size = 1; size <= total; size += 1) {
      const naiveRoot = merkleTreeHash(leaves.slice(0, size));
      expect(await auditTreeRoot(ds.manager, size), `root of ${size}`).toBe(naiveRoot.toString('hex'));
      for (const m of [0, Math.floor(size / 2), size - 1]) {
        const ranges = inclusionRanges(m, size);
        const lookup = await readNodes(ds.manager, nodesOfRanges(ranges));
        const stored = ranges.map((r) => rangeHash(r.start, r.end, lookup));
        expect(stored).toEqual(inclusionPath(m, leaves.slice(0, size)));
        verifyInclusion(m, size, leaves[m]!, stored, naiveRoot);
      }
      for (const old of [1, Math.ceil(size / 3), size]) {
        const ranges = consistencyRanges(old, size);
        const lookup = await readNodes(ds.manager, nodesOfRanges(ranges));
        const stored = ranges.map((r) => rangeHash(r.start, r.end, lookup));
        expect(stored).toEqual(consistencyProof(old, leaves.slice(0, size)));
        verifyConsistency(old, size, merkleTreeHash(leaves.slice(0, old)), naiveRoot, stored);
      }
    }
  });

  it('transparency log - the leaf text hashes to the stored leaf hash', async () => {
    const row = (await rows())[5]!;
    const text = auditLeafText({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence: row.tenantSequence, digest: auditEventDigest(auditEntryToEvent(row)) });
    expect(leafHash(text).toString('hex')).toBe(row.leafHash);
    expect(JSON.parse(text)).toMatchObject({ format: 'forgeone.audit.leaf.v1', sequence: row.sequence, tenant: row.tenant });
  });

  it('transparency log - tree nodes refuse UPDATE and DELETE', async () => {
    await expect(ds.query(`UPDATE audit_merkle_nodes SET hash = repeat('0', 64) WHERE level = 0 AND index = 0`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM audit_merkle_nodes`)).rejects.toThrow(/append-only/);
  });
});

describe('transparency log - migration of an existing audit log', () => {
  let db: TestDatabase;
  let ds: DataSource;

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('transparency log - rows written before the tree existed get the same leaves a fresh log would', async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-tlog-migrate' }).initialize();
    // Migrate only up to the schema before the tree, write rows the old way, then migrate the rest.
    const migrations = ds.migrations;
    const before = migrations.filter((m) => !m.name?.startsWith('AddAuditMerkleTree'));
    Object.defineProperty(ds, 'migrations', { value: before, configurable: true });
    await runMigrations(ds);
    const events = [versionPublished({ tenant: 'acme' }), versionPublished({ tenant: 'globex', name: 'globex/x' }), installed({ tenant: 'acme' })];
    for (const [i, event] of events.entries()) {
      await ds.query(
        `INSERT INTO audit_log (sequence, event_id, spec_version, type, source, subject, event_time, occurred_at, data_content_type, schema_version, actor, tenant, plugin, data, traceparent, prev_hash, hash)
         VALUES ($1, $2, '1.0', $3, $4, $5, $6::text, $6::timestamptz, 'application/json', $7, $8, $9, null, $10::jsonb, null, $11, $11)`,
        [i + 1, event.id, event.type, event.source, event.subject, event.time, event.schemaversion, event.actor, event.tenant, JSON.stringify(event.data), '0'.repeat(64)],
      );
    }
    Object.defineProperty(ds, 'migrations', { value: migrations, configurable: true });
    expect(await runMigrations(ds)).toEqual(['AddAuditMerkleTree1795780700000']);
    const migrated = await ds.getRepository(AuditLogEntity).find({ order: { sequence: 'ASC' } });
    expect(migrated.map((r) => [r.leafIndex, r.tenant, r.tenantSequence])).toEqual([
      [0, 'acme', 1],
      [1, 'globex', 1],
      [2, 'acme', 2],
    ]);
    expect(await auditTreeRoot(ds.manager, 3)).toBe(merkleTreeHash(migrated.map((r) => Buffer.from(r.leafHash, 'hex'))).toString('hex'));
    await expect(ds.query(`UPDATE audit_log SET actor = 'x' WHERE sequence = 1`)).rejects.toThrow(/append-only/);
  });
});
