import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { installed, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { REPORTING_SCHEMA, REPORTING_VIEWS } from '../migrations/reporting-views.sql.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { recordForgedEvent, type ForgedMessage } from '../writer/forged-event.writer.js';
import { applyEvent } from '../writer/projection.writer.js';
import { compareProjectionSchemas } from './projection-schema.comparison.js';
import { createProjectionSchema, currentProjectionSchema, rebuildDataSource } from './projection-schema.js';
import { swapProjectionSchemas, type CatchUp } from './projection-schema.swap.js';

const PROJECTOR = 'audit-projector';

const forgedMessage: ForgedMessage = {
  reason: 'unsigned',
  message: 'no writer or signature headers after the cut-over (0)',
  subject: 'forgeone.evt.plugin.acme~3aacme~2fpii-redactor',
  writer: null,
  payload: new TextEncoder().encode('{"id":"forged-1","type":"io.forgeone.plugin.installed.v1"}'),
  storedAt: '2026-03-02T08:00:00.000Z',
};

// The stream as both projectors see it: sequence → what was stored there.
const events = [
  versionPublished({ version: '1.0.0', time: '2026-03-01T10:00:00Z' }),
  installed({ version: '1.0.0', environment: 'staging', time: '2026-03-01T11:00:00Z' }),
  'forged' as const,
  versionPublished({ version: '1.1.0', time: '2026-03-01T12:00:00Z' }),
  upgraded({ fromVersion: '1.0.0', version: '1.1.0', environment: 'staging', time: '2026-03-01T13:00:00Z' }),
  installed({ version: '1.1.0', environment: 'production', time: '2026-03-01T14:00:00Z' }),
];
const stream: Array<{ sequence: number; apply: (ds: DataSource) => Promise<unknown> }> = events.map((event, index) => ({
  sequence: index + 1,
  apply: (ds: DataSource) => (event === 'forged' ? recordForgedEvent(ds, PROJECTOR, index + 1, forgedMessage) : applyEvent(ds, PROJECTOR, index + 1, event)),
}));
const eventAt = (sequence: number) => stream[sequence - 1];

describe('projection schema - rebuild, compare, swap', () => {
  let db: TestDatabase;
  let live: DataSource;
  let rebuilt: DataSource;
  const reader = `fo_reader_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    live = await createDataSource(db.url, { applicationName: 'fo-rebuild-live', poolSize: 4 }).initialize();
    await runMigrations(live);
    for (const { apply } of stream.slice(0, 4)) await apply(live);
    // What another part of the platform adds around the projections: a view in its own schema and a role's grants.
    await db.sql(`CREATE SCHEMA IF NOT EXISTS reporting`);
    await db.sql(`CREATE VIEW reporting.installed_v1 AS SELECT tenant, name, environment, version FROM public.installations WHERE status = 'installed'`);
    await db.sql(`CREATE ROLE ${reader} NOLOGIN`);
    await db.sql(`GRANT USAGE ON SCHEMA reporting, public TO ${reader}`);
    await db.sql(`GRANT SELECT ON reporting.installed_v1, public.plugins TO ${reader}`);
  });

  afterAll(async () => {
    if (rebuilt?.isInitialized) await rebuilt.destroy();
    if (live?.isInitialized) await live.destroy();
    await db?.drop();
    await createTestDatabase().then(async (other) => {
      await other.sql(`DROP ROLE IF EXISTS ${reader}`);
      await other.drop();
    });
  });

  it('rebuild - a fresh schema gets every table of the migrations and the same events give equal projections', async () => {
    expect(await currentProjectionSchema(live.manager)).toBe('public');
    const ran = await createProjectionSchema(live.manager, db.url, 'rebuild_t1', { applicationName: 'fo-rebuild-test' });
    expect(ran.length).toBeGreaterThanOrEqual(6);
    rebuilt = await rebuildDataSource(db.url, 'rebuild_t1', { applicationName: 'fo-rebuild-test', poolSize: 2 }).initialize();
    // The migrations skipped nothing: the same tables, the audit log's triggers included.
    const tables = async (schema: string) => (await db.sql<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])).map((r) => r.t);
    expect(await tables('rebuild_t1')).toEqual(await tables('public'));
    const triggers = await db.sql(`SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'rebuild_t1' AND c.relname = 'audit_log'`);
    expect(triggers).toHaveLength(2);

    for (const { apply } of stream.slice(0, 3)) await apply(rebuilt);
    const behind = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
    expect(behind.equal).toBe(false);
    expect(behind.sequence).toEqual({ live: 4, rebuilt: 3 });

    await eventAt(4).apply(rebuilt);
    const comparison = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
    expect(comparison.tables.filter((t) => !t.equal)).toEqual([]);
    expect(comparison.equal).toBe(true);
    expect(comparison.sequence).toEqual({ live: 4, rebuilt: 4 });
    expect(comparison.auditTip.live).toEqual(comparison.auditTip.rebuilt);
    expect(comparison.auditTip.live?.sequence).toBe(4);
    const excluded = Object.fromEntries(comparison.tables.map((t) => [t.table, t.excludedColumns]));
    expect(excluded).toMatchObject({
      audit_log: ['recorded_at'],
      security_findings: ['id', 'recorded_at'],
      security_finding_counts: ['window_start'],
      plugins: [],
      installations: [],
    });
    expect(comparison.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['audit_log', 'plugins', 'plugin_versions', 'installations', 'forgeone_migrations']));
    expect(comparison.tables.find((t) => t.table === 'audit_log')?.live?.rows).toBe(4);
  });

  it('compare - a live row changed behind the projector is reported in its table by key, and the swap is refused', async () => {
    await db.sql(`UPDATE public.installations SET version = '6.6.6' WHERE environment = 'staging'`);
    try {
      const comparison = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
      expect(comparison.equal).toBe(false);
      const installations = comparison.tables.find((t) => t.table === 'installations');
      expect(installations?.equal).toBe(false);
      expect(installations?.differences).toEqual([
        'row only live: tenant="acme", name="acme/pii-redactor", environment="staging"',
        'row only rebuilt: tenant="acme", name="acme/pii-redactor", environment="staging"',
      ]);
      expect(comparison.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(['installations']);

      const outcome = await swapProjectionSchemas(live, { live: 'public', rebuilt: 'rebuild_t1', previous: 'previous_t1', projector: PROJECTOR, catchUp: async () => undefined });
      expect(outcome).toMatchObject({ swapped: false, reason: 'the rebuilt projections differ from the live ones in installations' });
      expect(await currentProjectionSchema(live.manager)).toBe('public');
      expect((await db.sql(`SELECT nspname FROM pg_namespace WHERE nspname IN ('rebuild_t1', 'previous_t1')`)).map((r) => r.nspname)).toEqual(['rebuild_t1']);
    } finally {
      await db.sql(`UPDATE public.installations SET version = '1.0.0' WHERE environment = 'staging'`);
    }
  });

  it('compare - an audit row changed with the triggers disabled is reported, with the chain tip', async () => {
    await db.sql(`ALTER TABLE public.audit_log DISABLE TRIGGER USER`);
    await db.sql(`UPDATE public.audit_log SET actor = 'mallory' WHERE sequence = 2`);
    try {
      const comparison = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
      const audit = comparison.tables.find((t) => t.table === 'audit_log');
      expect(audit?.equal).toBe(false);
      expect(audit?.differences).toContain('row only live: sequence=2');
    } finally {
      await db.sql(`UPDATE public.audit_log SET actor = (SELECT actor FROM rebuild_t1.audit_log WHERE sequence = 2) WHERE sequence = 2`);
      await db.sql(`ALTER TABLE public.audit_log ENABLE TRIGGER USER`);
    }
    expect((await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR)).equal).toBe(true);
  });

  it('compare - a table no list names is compared too: missing on one side, then with an identity column left out', async () => {
    await db.sql(`CREATE TABLE public.extra_projection (id bigint GENERATED ALWAYS AS IDENTITY, k text PRIMARY KEY, v text NOT NULL)`);
    await db.sql(`INSERT INTO public.extra_projection (k, v) VALUES ('a', 'one'), ('b', 'two')`);
    try {
      const missing = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
      expect(missing.tables.find((t) => t.table === 'extra_projection')).toMatchObject({ equal: false, differences: ['the table is missing from the rebuilt schema'], live: { rows: 2 }, rebuilt: null });
      await db.sql(`CREATE TABLE rebuild_t1.extra_projection (id bigint GENERATED ALWAYS AS IDENTITY, k text PRIMARY KEY, v text NOT NULL)`);
      // Other identity values (as after a rolled-back insert on one side), the same rows.
      await db.sql(`INSERT INTO rebuild_t1.extra_projection (k, v) VALUES ('x', 'gone')`);
      await db.sql(`DELETE FROM rebuild_t1.extra_projection`);
      await db.sql(`INSERT INTO rebuild_t1.extra_projection (k, v) VALUES ('b', 'two'), ('a', 'one')`);
      const same = await compareProjectionSchemas(live.manager, 'public', 'rebuild_t1', PROJECTOR);
      expect(same.tables.find((t) => t.table === 'extra_projection')).toMatchObject({ equal: true, excludedColumns: ['id'] });
      expect(same.equal).toBe(true);
    } finally {
      await db.sql(`DROP TABLE IF EXISTS public.extra_projection, rebuild_t1.extra_projection`);
    }
  });

  it('swap - catches up, renames, re-points views and grants, and a projector waiting on the checkpoint continues in the new schema', async () => {
    await eventAt(5).apply(live);
    const rebuiltOids = await db.sql<{ relname: string; oid: string }>(
      `SELECT c.relname, c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'rebuild_t1' AND c.relkind = 'r'`,
    );
    let waiting: Promise<unknown> | undefined;
    const catchUp: CatchUp = async (manager, from, to) => {
      expect([from, to]).toEqual([4, 5]);
      // The live projector's next event arrives while the swap holds the checkpoint: it must wait, then land in the new schema.
      waiting = eventAt(6).apply(live);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let sequence = from + 1; sequence <= to; sequence++) {
        expect(await applyEvent(manager, PROJECTOR, sequence, events[sequence - 1])).toBe('applied');
      }
    };
    const outcome = await swapProjectionSchemas(live, { live: 'public', rebuilt: 'rebuild_t1', previous: 'previous_t1', projector: PROJECTOR, catchUp });
    expect(outcome).toMatchObject({ swapped: true, previousSchema: 'previous_t1', sequence: 5 });
    // The migrations' reporting views and the view added beside them all read the swapped-in tables.
    const views = [...REPORTING_VIEWS.map((v) => `${REPORTING_SCHEMA}.${v.name}`), 'reporting.installed_v1'];
    expect(outcome.swapped && [...outcome.recreatedViews].sort()).toEqual(views.sort());
    expect(await waiting).toBe('applied');

    // The tables that were rebuilt now carry the live name.
    const nowLive = await db.sql<{ relname: string; oid: string }>(
      `SELECT c.relname, c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`,
    );
    expect(new Set(nowLive.map((r) => `${r.relname}:${r.oid}`))).toEqual(new Set(rebuiltOids.map((r) => `${r.relname}:${r.oid}`)));
    // The waiting event went to the new schema, once, and the old one stopped at 5.
    expect(await db.sql(`SELECT last_sequence FROM public.projection_checkpoint WHERE projector = $1`, [PROJECTOR])).toEqual([{ last_sequence: '6' }]);
    expect((await db.sql(`SELECT sequence FROM public.audit_log ORDER BY sequence`)).map((r) => Number(r.sequence))).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await db.sql(`SELECT sequence FROM previous_t1.audit_log ORDER BY sequence`)).map((r) => Number(r.sequence))).toEqual([1, 2, 3, 4, 5]);
    // The view of another schema reads the new tables.
    const viewSources = await db.sql(
      `SELECT DISTINCT tn.nspname FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
         JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE v.relname = 'installed_v1' AND t.oid <> v.oid`,
    );
    expect(viewSources).toEqual([{ nspname: 'public' }]);
    expect(await db.sql(`SELECT environment, version FROM reporting.installed_v1 ORDER BY environment`)).toEqual([
      { environment: 'production', version: '1.1.0' },
      { environment: 'staging', version: '1.1.0' },
    ]);
    // Grants moved with the name; the audit log is still append-only.
    expect(await db.sql(`SELECT has_table_privilege('${reader}', 'public.plugins', 'SELECT') AS p, has_table_privilege('${reader}', 'reporting.installed_v1', 'SELECT') AS v`)).toEqual([{ p: true, v: true }]);
    await expect(db.sql(`DELETE FROM public.audit_log WHERE sequence = 1`)).rejects.toThrow(/append-only/);
  });
});
