import { randomBytes } from 'node:crypto';
import { cloudEvent, IDENTITY_EVENT_TYPES, INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES, POLICY_EVENT_TYPES, DECISION_AGGREGATE, TOKEN_AGGREGATE, reportRange } from '@forgeone/contracts';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTING_ROLE } from '../migrations/reporting-views.sql.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { applyEvent } from '../writer/projection.writer.js';
import { readReport } from './report.queries.js';

const PROJECTOR = 'audit-projector';

function window(tenant: string, sequence: number, part: number, parts: number, over: Record<string, unknown> = {}) {
  return cloudEvent(INVOCATION_AGGREGATE, tenant, {
    id: `calls:r1:${sequence}:${part}:${tenant}`,
    type: INVOCATION_EVENT_TYPES.invocationsRecorded,
    time: '2026-12-07T10:00:01Z',
    actor: 'runner:r1',
    tenant,
    subject: `${tenant}/echo`,
    data: {
      tenant,
      plugin: `${tenant}/echo`,
      version: '1.0.0',
      environment: 'staging',
      principal: 'alice',
      count: 10,
      failures: { 'SANDBOX.TRAP': 2 },
      durationMs: { p50: 1.5, p95: 3, p99: 4, max: 5 },
      fuelTotal: 1000,
      bytesIn: 100,
      bytesOut: 200,
      window: { runner: 'r1', sequence, part, parts, start: '2026-12-07T10:00:00Z', end: '2026-12-07T10:00:01Z' },
      ...over,
    },
  });
}

function perCall(tenant: string, n: number, ok: boolean) {
  return cloudEvent(INVOCATION_AGGREGATE, tenant, {
    id: `call-${tenant}-${n}`,
    type: INVOCATION_EVENT_TYPES.invocationRecorded,
    time: '2026-12-08T09:00:00Z',
    actor: 'alice',
    tenant,
    data: { tenant, plugin: `${tenant}/echo`, handler: 'echo', version: '1.0.0', environment: 'staging', principal: 'alice', ok, ...(ok ? {} : { code: 'SANDBOX.TRAP' }), durationMs: 1, bytesIn: 1, bytesOut: 1, runner: 'r1' },
  });
}

function denial(tenant: string) {
  return cloudEvent(DECISION_AGGREGATE, tenant, {
    id: `deny-${tenant}`,
    type: POLICY_EVENT_TYPES.decisionRecorded,
    time: '2026-12-07T11:00:00Z',
    actor: 'mallory',
    tenant,
    data: { decisionId: `d-${tenant}`, decision: 'deny', principal: 'mallory', principalTenant: tenant, action: 'install', resource: { type: 'Plugin', id: `${tenant}/echo`, tenant }, environment: 'production', policyIds: [], policyVersion: 1 },
  });
}

function tokenIssued(tenant: string) {
  return cloudEvent(TOKEN_AGGREGATE, `tok${tenant}1234`, {
    id: `issued-${tenant}`,
    type: IDENTITY_EVENT_TYPES.tokenIssued,
    time: '2026-12-07T12:00:00Z',
    actor: 'admin',
    tenant,
    data: { tokenId: `tok${tenant}1234`, principal: 'carol', principalType: 'user', role: 'auditor', tenant, secretHash: 'ab'.repeat(32), issuedBy: 'admin' },
  });
}

describe('reports - projections and the reporting views', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const reader = `fo_reader_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-report-test' }).initialize();
    await runMigrations(ds);
    // Window 2 of runner r1 never arrives; window 4 arrives in one of its two parts.
    const events = [window('acme', 1, 1, 2), window('initech', 1, 2, 2), window('acme', 3, 1, 1), window('acme', 4, 1, 2), perCall('acme', 1, true), perCall('acme', 2, false), denial('acme'), denial('initech'), tokenIssued('acme')];
    for (const [i, e] of events.entries()) expect(await applyEvent(ds, PROJECTOR, i + 1, e)).toBe('applied');
    // Redelivery changes nothing.
    expect(await applyEvent(ds, PROJECTOR, 1, events[0])).toBe('duplicate');
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
    await db?.sql(`DROP ROLE IF EXISTS ${reader}`).catch(() => undefined);
  });

  it('plugin-calls - window summaries and single calls counted per plugin and day, one tenant only', async () => {
    const acme = await readReport(ds, 'plugin-calls', 'acme', {});
    expect(acme.rows).toEqual([
      { day: '2026-12-07', plugin: 'acme/echo', environment: 'staging', calls: 30, failed: 6 },
      { day: '2026-12-08', plugin: 'acme/echo', environment: 'staging', calls: 2, failed: 1 },
    ]);
    const initech = await readReport(ds, 'plugin-calls', 'initech', {});
    expect(initech.rows).toEqual([{ day: '2026-12-07', plugin: 'initech/echo', environment: 'staging', calls: 10, failed: 2 }]);
    const oneDay = await readReport(ds, 'plugin-calls', 'acme', reportRange('2026-12-08', '2026-12-08'));
    expect(oneDay.rows.map((r) => r.day)).toEqual(['2026-12-08']);
  });

  it('call-windows - a number a runner took but never wrote is listed, with the windows written in part', async () => {
    const gaps = await readReport(ds, 'call-windows', 'acme', {});
    expect(gaps.rows).toEqual([{ runner: 'r1', missing_from: 2, missing_to: 2, missing_count: 1 }]);
    expect(await db.sql(`SELECT runner, window_sequence::int AS w, parts, parts_recorded::int AS recorded FROM reporting.call_windows_incomplete_v1`)).toEqual([{ runner: 'r1', w: 4, parts: 2, recorded: 1 }]);
    const [w] = await db.sql<{ duration_p95_ms: number; failures: unknown }>(`SELECT duration_p95_ms, failures FROM reporting.call_windows_v1 WHERE window_sequence = 3`);
    expect(w).toEqual({ duration_p95_ms: 3, failures: { 'SANDBOX.TRAP': 2 } });
  });

  it('policy-denials and token-events - one tenant each, in range', async () => {
    const denials = await readReport(ds, 'policy-denials', 'acme', {});
    expect(denials.rows).toHaveLength(1);
    expect(denials.rows[0]).toMatchObject({ principal: 'mallory', action: 'install', resource_id: 'acme/echo', environment: 'production' });
    expect((await readReport(ds, 'policy-denials', 'acme', reportRange('2026-12-08', undefined))).rows).toEqual([]);
    const tokens = await readReport(ds, 'token-events', 'acme', {});
    expect(tokens.rows).toEqual([expect.objectContaining({ token_id: 'tokacme1234', change: 'issued', principal: 'carol', role: 'auditor' })]);
    expect(JSON.stringify(tokens.rows)).not.toContain('abab');
    expect((await readReport(ds, 'token-events', 'initech', {})).rows).toEqual([]);
  });

  it('reporting role - a login granted it reads the views and nothing else', async () => {
    await db.sql(`CREATE ROLE ${reader} LOGIN`);
    await db.sql(`GRANT ${REPORTING_ROLE} TO ${reader}`);
    const url = new URL(db.url);
    url.username = reader;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const rows = (await client.query(`SELECT tenant, calls FROM reporting.plugin_calls_daily_v1 ORDER BY tenant, day`)).rows;
      expect(rows.length).toBe(3);
      await expect(client.query(`SELECT * FROM reporting.call_window_gaps_v1`)).resolves.toBeDefined();
      await expect(client.query(`INSERT INTO reporting.plugin_calls_daily_v1 (tenant, plugin, environment, day, calls, failed) VALUES ('x', 'x/y', 'e', '2026-01-01', 1, 0)`)).rejects.toThrow(/permission denied/);
      await expect(client.query(`UPDATE reporting.plugin_calls_daily_v1 SET calls = 0`)).rejects.toThrow(/permission denied/);
      await expect(client.query(`SELECT * FROM public.plugin_calls_daily`)).rejects.toThrow(/permission denied/);
      await expect(client.query(`SELECT * FROM public.audit_log`)).rejects.toThrow(/permission denied/);
      await expect(client.query(`SELECT * FROM public.compliance_records`)).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });
});
