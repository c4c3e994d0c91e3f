import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginVersionEntity } from './entities/read-model.entities.js';
import { createDataSource, MIGRATIONS_TABLE, persistenceOptions, PERSISTENCE_MIGRATIONS, runMigrations } from './postgres.data-source.js';
import { createTestDatabase, type TestDatabase } from './testing/test-database.js';

describe('persistence data source', () => {
  let db: TestDatabase;
  const open: DataSource[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(open.filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
    await db?.drop();
  });

  async function connect(applicationName: string): Promise<DataSource> {
    const ds = createDataSource(db.url, { applicationName });
    open.push(ds);
    return ds.initialize();
  }

  it('data source - never synchronizes or runs migrations on its own', async () => {
    const ds = await connect('fo-options-test');
    expect(ds.options.synchronize).toBe(false);
    expect(ds.options.migrationsRun).toBe(false);
    expect(ds.options.migrations).toHaveLength(13);
    const tables = await db.sql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables).toEqual([]);
    const [{ application_name }] = await ds.query(`SELECT current_setting('application_name') AS application_name`);
    expect(application_name).toBe('fo-options-test');
  });

  it('migrations - create the schema on an empty database, then find nothing to do (also when two services start at once)', async () => {
    const [a, b] = await Promise.all([connect('fo-migrate-a'), connect('fo-migrate-b')]);
    const [ranA, ranB] = await Promise.all([runMigrations(a), runMigrations(b)]);
    // exactly one of the racing services migrated
    expect([...ranA, ...ranB]).toEqual(['CreateReadModel1795780600000', 'CreateAuditLog1795780600001', 'AddVersionSignature1795780600002', 'AddVersionPrivateEgress1795780600003', 'RecordForgedEvents1795780600004', 'AddAuditMerkleTree1795780700000', 'CreateCallAccounting1795780800000', 'CreateReportingViews1795780800001', 'MarkProjectionTimeColumns1795780900000', 'CreatePluginTestRuns1795781010000', 'CreateReviews1795781030000', 'CreateSiemSinkCheckpoints1795781050000', 'InstallationsEnvironmentIndexWithName1795781090000']);
    expect(await runMigrations(a)).toEqual([]);

    const tables = (await db.sql<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map(
      (t) => t.tablename,
    );
    expect(tables).toEqual(['audit_checkpoints', 'audit_log', 'audit_merkle_nodes', 'call_windows', 'compliance_records', MIGRATIONS_TABLE, 'installations', 'plugin_calls_daily', 'plugin_reviews', 'plugin_test_runs', 'plugin_versions', 'plugins', 'projection_checkpoint', 'review_notices', 'security_finding_counts', 'security_findings']);
    const triggers = (await db.sql<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`)).map(
      (t) => t.tgname,
    );
    expect(triggers).toEqual(['audit_log_refuse_truncate', 'audit_log_refuse_update_delete']);
    const indexes = (await db.sql<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log' ORDER BY indexname`)).map(
      (i) => i.indexname,
    );
    expect(indexes).toEqual(expect.arrayContaining(['audit_log_tenant_sequence_idx', 'audit_log_tenant_plugin_sequence_idx', 'audit_log_tenant_occurred_at_idx', 'audit_log_genuine_event_id_idx']));
    expect(indexes).not.toContain('audit_log_event_id_key');
  });

  it('migrations - a database from before version signatures gets the column filled from the audit log', async () => {
    const old = await createTestDatabase();
    const before = new DataSource({ ...persistenceOptions(old.url, { applicationName: 'fo-migrate-old' }), migrations: PERSISTENCE_MIGRATIONS.slice(0, 2) });
    const after = createDataSource(old.url, { applicationName: 'fo-migrate-new' });
    try {
      await before.initialize();
      await runMigrations(before);
      const hash = 'a'.repeat(64);
      const signature = { envelopeDigest: `sha256:${'b'.repeat(64)}`, signedAt: '2026-03-01T10:00:00.000Z' };
      for (const [sequence, version, signed] of [[1, '1.0.0', true], [2, '1.1.0', false]] as const) {
        const data = { name: 'acme/x', version, ...(signed ? { signature } : {}) };
        await before.query(
          `INSERT INTO audit_log (sequence, event_id, spec_version, type, source, subject, event_time, occurred_at, data_content_type, schema_version, actor, tenant, plugin, data, prev_hash, hash)
           VALUES ($1, $2, '1.0', 'io.forgeone.plugin.version_published.v1', 'test', 'acme/x', $3, $4, 'application/json', '1', 'u', 'acme', 'acme/x', $5, $6, $6)`,
          [sequence, `event-${sequence}`, '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z', JSON.stringify(data), hash],
        );
        await before.query(
          `INSERT INTO plugin_versions (tenant, name, version, digest, size_bytes, manifest_digest, manifest, publisher, published_at, published_sequence)
           VALUES ('acme', 'acme/x', $1, $2, 1, $2, '{}', 'acme', now(), $3)`,
          [version, `sha256:${'c'.repeat(64)}`, sequence],
        );
      }
      await after.initialize();
      expect(await runMigrations(after)).toEqual(['AddVersionSignature1795780600002', 'AddVersionPrivateEgress1795780600003', 'RecordForgedEvents1795780600004', 'AddAuditMerkleTree1795780700000', 'CreateCallAccounting1795780800000', 'CreateReportingViews1795780800001', 'MarkProjectionTimeColumns1795780900000', 'CreatePluginTestRuns1795781010000', 'CreateReviews1795781030000', 'CreateSiemSinkCheckpoints1795781050000', 'InstallationsEnvironmentIndexWithName1795781090000']);
      const rows = await after.getRepository(PluginVersionEntity).find({ order: { publishedSequence: 'ASC' } });
      expect(rows.map((r) => [r.version, r.signatureEnvelopeDigest, r.signedAt, r.privateEgress])).toEqual([
        ['1.0.0', signature.envelopeDigest, signature.signedAt, []],
        ['1.1.0', null, null, []],
      ]);
    } finally {
      await Promise.all([before, after].filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
      await old.drop();
    }
  });
});
