import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogEntity } from '../entities/read-model.entities.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { installed, removed, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';
import { auditEntryToEvent, verifyAuditChain } from './audit-chain.verifier.js';

describe('audit log', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const events = [
    versionPublished({ version: '1.0.0' }),
    installed({ version: '1.0.0', time: '2026-03-01T12:00:00.123456+01:00' }),
    versionPublished({ version: '1.1.0' }),
    upgraded({ version: '1.1.0' }),
    removed({ version: '1.1.0' }),
  ];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-audit-test' }).initialize();
    await runMigrations(ds);
    for (const [i, event] of events.entries()) await applyEvent(ds, 'audit-projector', i + 1, event);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const count = async () => Number((await ds.query(`SELECT count(*) AS n FROM audit_log`))[0].n);

  it('audit log - UPDATE is refused', async () => {
    await expect(ds.query(`UPDATE audit_log SET actor = 'someone-else' WHERE sequence = 1`)).rejects.toThrow(/audit_log is append-only: UPDATE is refused/);
    expect((await ds.query(`SELECT actor FROM audit_log WHERE sequence = 1`))[0].actor).toBe(events[0].actor);
  });

  it('audit log - DELETE is refused', async () => {
    await expect(ds.query(`DELETE FROM audit_log WHERE sequence = 5`)).rejects.toThrow(/audit_log is append-only: DELETE is refused/);
    expect(await count()).toBe(5);
  });

  it('audit log - TRUNCATE is refused', async () => {
    await expect(ds.query(`TRUNCATE audit_log`)).rejects.toThrow(/audit_log is append-only: TRUNCATE is refused/);
    expect(await count()).toBe(5);
  });

  it('audit log - UPDATE, DELETE and TRUNCATE are not granted to PUBLIC', async () => {
    const [grants] = await ds.query(
      `SELECT count(*) AS n FROM information_schema.role_table_grants
        WHERE table_name = 'audit_log' AND grantee = 'PUBLIC' AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')`,
    );
    expect(Number(grants.n)).toBe(0);
  });

  it('audit log - each row rebuilds the exact event it recorded', async () => {
    const rows = await ds.getRepository(AuditLogEntity).find({ order: { sequence: 'ASC' } });
    expect(rows.map(auditEntryToEvent)).toEqual(events);
  });

  it('audit log - an untouched chain verifies', async () => {
    expect(await verifyAuditChain(ds, { batchSize: 2 })).toEqual({ ok: true, rows: 5, forged: { count: 0, sequences: [] }, lastSequence: 5, lastHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('audit log - data changed behind the triggers is reported at the first tampered sequence', async () => {
    // a superuser can bypass the triggers; the chain still exposes the change
    await db.sql(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    await db.sql(`UPDATE audit_log SET data = jsonb_set(data, '{version}', '"9.9.9"') WHERE sequence = 3`);
    await db.sql(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);
    expect(await verifyAuditChain(ds, { batchSize: 2 })).toEqual({
      ok: false,
      rows: 3,
      forged: { count: 0, sequences: [] },
      firstBadSequence: 3,
      reason: expect.stringMatching(/does not match its hash/),
    });
  });

  it('audit log - a row removed behind the triggers is reported at the row after it', async () => {
    await db.sql(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    await db.sql(`DELETE FROM audit_log WHERE sequence = 2`);
    await db.sql(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: false, rows: 2, firstBadSequence: 3, reason: expect.stringMatching(/prev_hash does not link/) });
  });
});
