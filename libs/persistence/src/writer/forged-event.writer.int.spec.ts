import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/audit-chain.verifier.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { auditLog, pluginHistory } from '../queries/audit-log.queries.js';
import { checkpoint } from '../queries/checkpoint.queries.js';
import { getPlugin, listPlugins } from '../queries/plugin.queries.js';
import { securityFindings } from '../queries/security-findings.queries.js';
import { installed, PLUGIN, removed, TENANT, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { recordForgedEvent, type ForgedMessage } from './forged-event.writer.js';
import { applyEvent, resetProjections } from './projection.writer.js';
import { SECURITY_FINDINGS_PER_WINDOW } from './security-finding.writer.js';

const PROJECTOR = 'audit-projector';
const SUBJECT = `forgeone.evt.plugin.acme~3aacme~2fpii-redactor`;
const encode = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function forged(payload: Uint8Array, overrides: Partial<ForgedMessage> = {}): ForgedMessage {
  return { reason: 'unsigned', message: 'no writer or signature headers after the cut-over (0)', subject: SUBJECT, writer: null, payload, storedAt: '2026-03-02T08:00:00.000Z', ...overrides };
}

describe('recordForgedEvent and replays', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const published = versionPublished({ version: '1.0.0' });
  const installedInProduction = installed({ version: '1.0.0', environment: 'production', time: '2026-03-01T11:00:00.000Z' });
  const removedFromProduction = removed({ environment: 'production', time: '2026-03-01T12:00:00.000Z' });
  // What a forger would publish: a valid-looking install of the same plugin in staging.
  const forgedInstall = installed({ version: '1.0.0', environment: 'staging' });

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-forged-test' }).initialize();
    await runMigrations(ds);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('forged - an audit row marked forged in the chain, a finding, the checkpoint moves on, and no projection changes', async () => {
    expect(await applyEvent(ds, PROJECTOR, 1, published)).toBe('applied');
    const before = await getPlugin(ds, { tenant: TENANT, name: PLUGIN });
    expect(await recordForgedEvent(ds, PROJECTOR, 2, forged(encode(forgedInstall), { reason: 'bad-signature', writer: 'registry', message: 'the signature does not verify under the key pinned for registry' }))).toBe('forged');

    expect(await getPlugin(ds, { tenant: TENANT, name: PLUGIN })).toEqual(before);
    expect(await listPlugins(ds, { tenant: TENANT, environment: 'staging' })).toEqual([]);
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(2);
    const [row] = (await auditLog(ds, { tenant: TENANT, afterSequence: 1, limit: 10 })).filter((entry) => entry.sequence === 2);
    expect(row).toMatchObject({
      eventId: forgedInstall.id,
      type: forgedInstall.type,
      plugin: PLUGIN,
      data: forgedInstall.data,
      occurredAt: '2026-03-02T08:00:00.000Z',
      forged: 'bad-signature',
      forgedDetail: { writer: 'registry', subject: SUBJECT, message: 'the signature does not verify under the key pinned for registry' },
    });
    expect((await pluginHistory(ds, { tenant: TENANT, name: PLUGIN })).map((e) => [e.sequence, e.forged])).toEqual([
      [1, null],
      [2, 'bad-signature'],
    ]);
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: 2, forged: { count: 1, sequences: [2] } });
    const { findings, counts } = await securityFindings(ds);
    expect(findings).toEqual([expect.objectContaining({ kind: 'event.bad-signature', writer: 'registry', sequence: 2, subject: SUBJECT, eventId: forgedInstall.id, tenant: TENANT })]);
    expect(counts).toEqual([expect.objectContaining({ kind: 'event.bad-signature', writer: 'registry', total: 1 })]);
    // Redelivered: nothing written twice.
    expect(await recordForgedEvent(ds, PROJECTOR, 2, forged(encode(forgedInstall)))).toBe('duplicate');
  });

  it('forged - taking the mark off a forged row breaks the chain at that row', async () => {
    await db.sql(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    try {
      await db.sql(`UPDATE audit_log SET forged = NULL, forged_detail = NULL WHERE sequence = 2`);
      expect(await verifyAuditChain(ds)).toMatchObject({ ok: false, firstBadSequence: 2, reason: expect.stringMatching(/does not match its hash/) });
      await db.sql(`UPDATE audit_log SET forged = 'bad-signature', forged_detail = '{"writer":"registry","subject":"${SUBJECT}","message":"changed wording is not hashed"}' WHERE sequence = 2`);
      expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, forged: { count: 1 } });
    } finally {
      await db.sql(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);
    }
  });

  it('forged - garbage is recorded too: not JSON, NUL characters, deep nesting, a "__proto__" key', async () => {
    const deep = `{"data":${'['.repeat(5000)}${']'.repeat(5000)},"id":"deep","type":"io.forgeone.plugin.installed.v1","tenant":"acme"}`;
    const payloads = [
      encode('{not json'),
      encode({ id: 'nul\u0000id', type: 'io.forgeone.plugin.installed.v1', tenant: 'ac\u0000me', data: { name: 'acme/x\u0000', 'k\u0000': 'v\u0000' } }),
      encode(deep),
      encode('{"id":"proto","tenant":"acme","data":{"__proto__":{"polluted":true},"n":1e400}}'),
      new Uint8Array(70 * 1024).fill(0x7b),
    ];
    let sequence = 3;
    for (const payload of payloads) expect(await recordForgedEvent(ds, PROJECTOR, sequence++, forged(payload, { writer: 'ev\u0000il', reason: 'unknown-writer' }))).toBe('forged');
    const rows = await ds.query(`SELECT sequence, event_id, tenant, type, data, forged FROM audit_log WHERE sequence >= 3 ORDER BY sequence`);
    expect(rows.map((r: { event_id: string }) => r.event_id)).toEqual(['forged-3', 'nul\uFFFDid', 'deep', 'proto', 'forged-7']);
    expect(rows[0].data).toMatchObject({ unreadable: true, bytes: 9, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rows[1].tenant).toBe('ac\uFFFDme');
    // Kept as data (an own "__proto__" member), never as a prototype.
    expect(rows[3].data).toEqual(JSON.parse('{"__proto__":{"polluted":true},"n":null}'));
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(rows[4].data).toMatchObject({ unreadable: true, bytes: 70 * 1024 });
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: 7, forged: { count: 6, sequences: [2, 3, 4, 5, 6, 7] } });
  });

  it('replayed - a genuine event published again is recorded as forged (replayed) and changes no projection', async () => {
    expect(await applyEvent(ds, PROJECTOR, 8, installedInProduction)).toBe('applied');
    expect(await applyEvent(ds, PROJECTOR, 9, removedFromProduction)).toBe('applied');
    const origin = { writer: 'registry', subject: SUBJECT };
    expect(await applyEvent(ds, PROJECTOR, 10, installedInProduction, { origin })).toBe('forged');
    const plugin = await getPlugin(ds, { tenant: TENANT, name: PLUGIN });
    expect(plugin?.installations).toEqual([expect.objectContaining({ environment: 'production', status: 'removed', lastSequence: 9 })]);
    const [replay] = await ds.query(`SELECT event_id, forged, forged_detail FROM audit_log WHERE sequence = 10`);
    expect(replay).toEqual({ event_id: installedInProduction.id, forged: 'replayed', forged_detail: { ...origin, message: `event ${installedInProduction.id} was already applied at stream sequence 8` } });
    expect((await securityFindings(ds)).findings[0]).toMatchObject({ kind: 'event.replayed', writer: 'registry', sequence: 10, eventId: installedInProduction.id });
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: 10, forged: { count: 7 } });
  });

  it('rebuild - replaying the stream, forged messages included, reproduces the audit rows exactly', async () => {
    const before = await ds.query(`SELECT sequence, hash FROM audit_log ORDER BY sequence`);
    await resetProjections(ds, PROJECTOR);
    expect(await applyEvent(ds, PROJECTOR, 1, published)).toBe('applied');
    expect(await recordForgedEvent(ds, PROJECTOR, 2, forged(encode(forgedInstall), { reason: 'bad-signature', writer: 'registry', message: 'reworded' }))).toBe('forged');
    const replayed = await ds.query(`SELECT sequence, hash FROM audit_log ORDER BY sequence`);
    expect(replayed).toEqual(before);
    // A different forgery claimed at the same sequence is a conflict, as for genuine events.
    await expect(recordForgedEvent(ds, PROJECTOR, 3, forged(encode('{"other":1}')))).rejects.toMatchObject({ code: 'PROJECTION.AUDIT_CONFLICT' });
  });

  it('findings - at most the bound per kind, writer and hour are kept; the count holds all of them', async () => {
    const extra = SECURITY_FINDINGS_PER_WINDOW + 5;
    const start = (await checkpoint(ds, 'flood')).lastSequence + 1;
    for (let i = 0; i < extra; i++) {
      await recordForgedEvent(ds, 'flood', start + i, forged(encode({ id: `flood-${i}` }), { reason: 'wrong-writer', writer: 'signer' }), { writeAudit: false });
    }
    const { findings, counts } = await securityFindings(ds, { limit: 1000 });
    expect(findings.filter((f) => f.kind === 'event.wrong-writer' && f.writer === 'signer')).toHaveLength(SECURITY_FINDINGS_PER_WINDOW);
    expect(counts.find((c) => c.kind === 'event.wrong-writer' && c.writer === 'signer')?.total).toBe(extra);
  });
});
