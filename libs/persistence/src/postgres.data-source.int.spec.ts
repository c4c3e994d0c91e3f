import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, MIGRATIONS_TABLE, runMigrations } from './postgres.data-source.js';
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
    expect(ds.options.migrations).toHaveLength(2);
    const tables = await db.sql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables).toEqual([]);
    const [{ application_name }] = await ds.query(`SELECT current_setting('application_name') AS application_name`);
    expect(application_name).toBe('fo-options-test');
  });

  it('migrations - create the schema on an empty database, then find nothing to do (also when two services start at once)', async () => {
    const [a, b] = await Promise.all([connect('fo-migrate-a'), connect('fo-migrate-b')]);
    const [ranA, ranB] = await Promise.all([runMigrations(a), runMigrations(b)]);
    // exactly one of the racing services migrated
    expect([...ranA, ...ranB]).toEqual(['CreateReadModel1795780600000', 'CreateAuditLog1795780600001']);
    expect(await runMigrations(a)).toEqual([]);

    const tables = (await db.sql<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map(
      (t) => t.tablename,
    );
    expect(tables).toEqual(['audit_log', MIGRATIONS_TABLE, 'installations', 'plugin_versions', 'plugins', 'projection_checkpoint']);
    const triggers = (await db.sql<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`)).map(
      (t) => t.tgname,
    );
    expect(triggers).toEqual(['audit_log_refuse_truncate', 'audit_log_refuse_update_delete']);
    const indexes = (await db.sql<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log' ORDER BY indexname`)).map(
      (i) => i.indexname,
    );
    expect(indexes).toEqual(expect.arrayContaining(['audit_log_tenant_sequence_idx', 'audit_log_tenant_plugin_sequence_idx', 'audit_log_tenant_occurred_at_idx']));
  });
});
