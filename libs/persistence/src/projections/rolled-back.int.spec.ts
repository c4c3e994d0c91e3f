import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/audit-chain.verifier.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { auditLog, pluginHistory } from '../queries/audit-log.queries.js';
import { getPlugin } from '../queries/plugin.queries.js';
import { digestOf, installed, PLUGIN, rolledBack, TENANT, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';

describe('rolled_back - projected like an upgrade, recorded with its reason', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-rollback-test' }).initialize();
    await runMigrations(ds);
    const events = [
      versionPublished({ version: '1.0.0', time: '2026-03-01T10:00:00Z' }),
      versionPublished({ version: '2.0.0', time: '2026-03-01T10:01:00Z' }),
      installed({ version: '1.0.0', environment: 'production', time: '2026-03-02T10:00:00Z' }),
      upgraded({ fromVersion: '1.0.0', version: '2.0.0', environment: 'production', time: '2026-03-03T10:00:00Z' }),
      rolledBack({ fromVersion: '2.0.0', version: '1.0.0', environment: 'production', reason: '2.0.0 drops requests', time: '2026-03-04T10:00:00Z' }),
    ];
    for (const [i, event] of events.entries()) expect(await applyEvent(ds, 'audit-projector', i + 1, event)).toBe('applied');
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('installations - the row is back on the older version and digest, with its original install time', async () => {
    const plugin = await getPlugin(ds, { tenant: TENANT, name: PLUGIN });
    expect(plugin?.installations).toEqual([
      expect.objectContaining({
        environment: 'production',
        version: '1.0.0',
        digest: digestOf(`${PLUGIN}@1.0.0.wasm`),
        status: 'installed',
        installedAt: '2026-03-02T10:00:00.000Z',
        updatedAt: '2026-03-04T10:00:00.000Z',
        lastSequence: 5,
      }),
    ]);
  });

  it('history and audit log - the rollback is there with from, to and reason, in the hash chain', async () => {
    const history = await pluginHistory(ds, { tenant: TENANT, name: PLUGIN });
    expect(history.at(-1)).toMatchObject({
      sequence: 5,
      type: 'io.forgeone.plugin.rolled_back.v1',
      plugin: PLUGIN,
      data: { fromVersion: '2.0.0', version: '1.0.0', environment: 'production', reason: '2.0.0 drops requests' },
    });
    expect((await auditLog(ds, { tenant: TENANT, plugin: PLUGIN, limit: 10 })).map((e) => e.type.split('.')[3])).toEqual([
      'version_published',
      'version_published',
      'installed',
      'upgraded',
      'rolled_back',
    ]);
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: 5, lastSequence: 5 });
  });
});
