import { ForgeOneError } from '@forgeone/contracts';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { installed, removed, TENANT, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';
import { auditLog, pluginHistory } from './audit-log.queries.js';
import { checkpoint } from './checkpoint.queries.js';
import { getPlugin, listPlugins } from './plugin.queries.js';

const REDACTOR = 'acme/pii-redactor';
const GEOIP = 'acme/geoip';

describe('read model queries', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-queries-test' }).initialize();
    await runMigrations(ds);
    const events = [
      /* 1 */ versionPublished({ name: REDACTOR, version: '1.0.0', time: '2026-03-01T10:00:00Z' }),
      /* 2 */ versionPublished({ name: GEOIP, version: '0.3.0', time: '2026-03-01T10:05:00Z' }),
      /* 3 */ installed({ name: REDACTOR, version: '1.0.0', environment: 'staging', time: '2026-03-02T10:00:00Z' }),
      /* 4 */ installed({ name: GEOIP, version: '0.3.0', environment: 'staging', time: '2026-03-02T11:00:00Z' }),
      /* 5 */ versionPublished({ name: REDACTOR, version: '1.1.0', time: '2026-03-03T10:00:00Z' }),
      /* 6 */ installed({ name: REDACTOR, version: '1.0.0', environment: 'production', time: '2026-03-03T11:00:00Z' }),
      /* 7 */ upgraded({ name: REDACTOR, fromVersion: '1.0.0', version: '1.1.0', environment: 'staging', time: '2026-03-04T10:00:00Z' }),
      /* 8 */ removed({ name: GEOIP, version: '0.3.0', environment: 'staging', time: '2026-03-05T10:00:00Z' }),
      /* 9 */ versionPublished({ name: REDACTOR, version: '1.0.0', tenant: 'globex', time: '2026-03-06T10:00:00Z' }),
    ];
    for (const [i, event] of events.entries()) await applyEvent(ds, 'audit-projector', i + 1, event);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('queries - listPlugins returns the tenant plugins by name with every installation', async () => {
    const plugins = await listPlugins(ds, { tenant: TENANT });
    expect(plugins.map((p) => [p.name, p.latestVersion, p.versionsCount])).toEqual([
      [GEOIP, '0.3.0', 1],
      [REDACTOR, '1.1.0', 2],
    ]);
    expect(plugins[0].installations.map((i) => [i.environment, i.version, i.status])).toEqual([['staging', '0.3.0', 'removed']]);
    expect(plugins[1].installations.map((i) => [i.environment, i.version, i.status])).toEqual([
      ['production', '1.0.0', 'installed'],
      ['staging', '1.1.0', 'installed'],
    ]);
  });

  it('queries - listPlugins with an environment returns only what is installed there', async () => {
    const staging = await listPlugins(ds, { tenant: TENANT, environment: 'staging' });
    expect(staging).toEqual([expect.objectContaining({ name: REDACTOR, installations: [expect.objectContaining({ environment: 'staging', version: '1.1.0' })] })]);
    expect(await listPlugins(ds, { tenant: TENANT, environment: 'qa' })).toEqual([]);
    expect(await listPlugins(ds, { tenant: 'nobody' })).toEqual([]);
  });

  it('queries - getPlugin returns versions oldest first, numbers as numbers and times as ISO strings', async () => {
    const plugin = await getPlugin(ds, { tenant: TENANT, name: REDACTOR });
    expect(plugin?.versions.map((v) => [v.version, v.publishedSequence, v.publishedAt])).toEqual([
      ['1.0.0', 1, '2026-03-01T10:00:00.000Z'],
      ['1.1.0', 5, '2026-03-03T10:00:00.000Z'],
    ]);
    expect(typeof plugin?.versions[0].sizeBytes).toBe('number');
    expect(plugin?.installations.find((i) => i.environment === 'staging')).toMatchObject({
      installedAt: '2026-03-02T10:00:00.000Z',
      updatedAt: '2026-03-04T10:00:00.000Z',
      lastSequence: 7,
    });
  });

  it('queries - getPlugin is null for an unknown plugin and does not cross tenants', async () => {
    expect(await getPlugin(ds, { tenant: TENANT, name: 'acme/missing' })).toBeNull();
    expect(await getPlugin(ds, { tenant: 'globex', name: REDACTOR })).toMatchObject({ versionsCount: 1, installations: [] });
    expect(await getPlugin(ds, { tenant: 'globex', name: GEOIP })).toBeNull();
  });

  it('queries - pluginHistory lists the plugin audit rows of the tenant in stream order', async () => {
    const history = await pluginHistory(ds, { tenant: TENANT, name: REDACTOR });
    expect(history.map((h) => h.sequence)).toEqual([1, 3, 5, 6, 7]);
    expect(history[1]).toMatchObject({
      type: 'io.forgeone.plugin.installed.v1',
      tenant: TENANT,
      plugin: REDACTOR,
      occurredAt: '2026-03-02T10:00:00.000Z',
      data: { name: REDACTOR, environment: 'staging' },
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(history[1].recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
  });

  it('queries - auditLog filters by plugin and time and pages by sequence', async () => {
    expect((await auditLog(ds, { tenant: TENANT, limit: 100 })).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await auditLog(ds, { tenant: TENANT, plugin: GEOIP, limit: 100 })).map((e) => e.sequence)).toEqual([2, 4, 8]);
    expect((await auditLog(ds, { tenant: TENANT, since: new Date('2026-03-03T10:00:00Z'), limit: 100 })).map((e) => e.sequence)).toEqual([5, 6, 7, 8]);
    const firstPage = await auditLog(ds, { tenant: TENANT, limit: 3 });
    expect(firstPage.map((e) => e.sequence)).toEqual([1, 2, 3]);
    const secondPage = await auditLog(ds, { tenant: TENANT, limit: 3, afterSequence: firstPage.at(-1)!.sequence });
    expect(secondPage.map((e) => e.sequence)).toEqual([4, 5, 6]);
    expect((await auditLog(ds, { tenant: 'globex', limit: 10 })).map((e) => e.sequence)).toEqual([9]);
  });

  it('queries - auditLog refuses a bad limit, date or cursor with QUERY.INVALID', async () => {
    for (const query of [{ limit: 0 }, { limit: 5000 }, { limit: 10, since: new Date('nope') }, { limit: 10, afterSequence: -1 }]) {
      const error = await auditLog(ds, { tenant: TENANT, ...query }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForgeOneError);
      expect(error).toMatchObject({ code: 'QUERY.INVALID' });
    }
  });

  it('queries - checkpoint reports the last projected sequence, 0 for an unknown projector', async () => {
    expect(await checkpoint(ds, 'audit-projector')).toEqual({ projector: 'audit-projector', lastSequence: 9, updatedAt: expect.stringMatching(/Z$/) });
    expect(await checkpoint(ds, 'siem-forwarder')).toEqual({ projector: 'siem-forwarder', lastSequence: 0, updatedAt: null });
  });
});
