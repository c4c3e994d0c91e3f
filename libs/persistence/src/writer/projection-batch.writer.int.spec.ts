import {
  cloudEvent,
  DECISION_AGGREGATE,
  IDENTITY_EVENT_TYPES,
  INVOCATION_AGGREGATE,
  INVOCATION_EVENT_TYPES,
  POLICY_EVENT_TYPES,
  REVIEW_AGGREGATE,
  REVIEW_EVENT_TYPES,
  REVIEW_NOTICE_AGGREGATE,
  REVIEW_NOTICE_EVENT_TYPES,
  TOKEN_AGGREGATE,
} from '@forgeone/contracts';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/audit-chain.verifier.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { checkpoint } from '../queries/checkpoint.queries.js';
import { installed, removed, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, snapshot, type TestDatabase } from '../testing/test-database.js';
import { recordForgedEvent, type ForgedMessage } from './forged-event.writer.js';
import { applyEvents, type ProjectionBatchItem } from './projection-batch.writer.js';
import { AuditLogConflictError, PoisonEventError, ProjectionGapError } from './projection.errors.js';
import { applyEvent } from './projection.writer.js';

const PROJECTOR = 'audit-projector';
const SUBJECT = 'forgeone.evt.plugin.acme~3aacme~2fbatch';

function forged(text: string): ForgedMessage {
  return { reason: 'unsigned', message: 'no writer or signature headers', subject: SUBJECT, writer: null, payload: new TextEncoder().encode(text), storedAt: '2026-03-02T08:00:00.000Z' };
}

const REVIEW_ID = '0b9d2f1e-4c1a-4f7e-9a51-1f3c2d4e5a6b';

/** A runner's window summary part: a `call_windows` row and a count in `plugin_calls_daily`. */
function windowPart(tenant: string, sequence: number, part: number, parts: number, count: number) {
  return cloudEvent(INVOCATION_AGGREGATE, tenant, {
    id: `calls:r1:${sequence}:${part}:${tenant}:${count}`,
    type: INVOCATION_EVENT_TYPES.invocationsRecorded,
    time: '2026-03-01T11:00:01Z',
    actor: 'runner:r1',
    tenant,
    subject: `${tenant}/a`,
    data: {
      tenant,
      plugin: `${tenant}/a`,
      version: '1.1.0',
      environment: 'staging',
      principal: 'alice',
      count,
      failures: { 'SANDBOX.TRAP': 1 },
      durationMs: { p50: 1.5, p95: 3, p99: 4, max: 5 },
      fuelTotal: 1000,
      bytesIn: 100,
      bytesOut: 200,
      window: { runner: 'r1', sequence, part, parts, start: '2026-03-01T11:00:00Z', end: '2026-03-01T11:00:01Z' },
    },
  });
}

/** Events of the table projections: call windows and daily counts (one row folded several times), compliance records, a review and two shapes of notice. */
function tableEvents(tenant: string): unknown[] {
  return [
    windowPart(tenant, 1, 1, 2, 10),
    windowPart(tenant, 1, 2, 2, 5),
    // The same part claimed again changes no window, but counts again in the day's total as the projection says.
    windowPart(tenant, 1, 2, 2, 7),
    windowPart(tenant, 2, 1, 1, 3),
    cloudEvent(DECISION_AGGREGATE, tenant, {
      id: `deny-${tenant}`,
      type: POLICY_EVENT_TYPES.decisionRecorded,
      time: '2026-03-01T11:01:00Z',
      actor: 'mallory',
      tenant,
      data: { decisionId: `d-${tenant}`, decision: 'deny', principal: 'mallory', principalTenant: tenant, action: 'install', resource: { type: 'Plugin', id: `${tenant}/a`, tenant }, environment: 'production', policyIds: [], policyVersion: 1 },
    }),
    cloudEvent(TOKEN_AGGREGATE, `tok${tenant}1234`, {
      id: `issued-${tenant}`,
      type: IDENTITY_EVENT_TYPES.tokenIssued,
      time: '2026-03-01T11:02:00Z',
      actor: 'admin',
      tenant,
      data: { tokenId: `tok${tenant}1234`, principal: 'carol', principalType: 'user', role: 'auditor', tenant, secretHash: 'ab'.repeat(32), issuedBy: 'admin' },
    }),
    cloudEvent(REVIEW_AGGREGATE, `${tenant}:${tenant}/a`, { id: `review-${tenant}`, type: REVIEW_EVENT_TYPES.recorded, time: '2026-03-01T11:03:00Z', actor: 'rm-1', tenant, data: { reviewId: REVIEW_ID, name: `${tenant}/a`, outcome: 'approved', notes: 'fine' } }),
    cloudEvent(REVIEW_NOTICE_AGGREGATE, tenant, { id: `incident-${tenant}`, type: REVIEW_NOTICE_EVENT_TYPES.incidentRecorded, time: '2026-03-01T11:04:00Z', actor: 'rm-1', tenant, data: { incidentId: REVIEW_ID, severity: 'major', summary: 'leak', all: false, plugins: [`${tenant}/a`] } }),
    cloudEvent(REVIEW_NOTICE_AGGREGATE, tenant, { id: `regulation-${tenant}`, type: REVIEW_NOTICE_EVENT_TYPES.regulationRecorded, time: '2026-03-01T11:05:00Z', actor: 'rm-1', tenant, data: { regulationId: REVIEW_ID, summary: 'retention', all: true, plugins: [] } }),
  ];
}

/** A stream of several tenants' plugins and of every table projection's events, a forged message and a replayed event among them, numbered from 1. */
function stream(): ProjectionBatchItem[] {
  const events: unknown[] = [];
  for (const tenant of ['acme', 'globex']) {
    for (const plugin of ['a', 'b', 'c']) {
      const name = `${tenant}/${plugin}`;
      events.push(
        versionPublished({ tenant, name, version: '1.0.0', time: '2026-03-01T10:00:00Z' }),
        installed({ tenant, name, version: '1.0.0', environment: 'staging', time: '2026-03-01T10:01:00Z' }),
        versionPublished({ tenant, name, version: '1.1.0', time: '2026-03-01T10:02:00Z' }),
        upgraded({ tenant, name, fromVersion: '1.0.0', version: '1.1.0', environment: 'staging', time: '2026-03-01T10:03:00Z' }),
      );
    }
    events.push(...tableEvents(tenant));
    // Removed, installed again and removed: one installation row folded three times.
    const name = `${tenant}/b`;
    events.push(
      removed({ tenant, name, version: '1.1.0', environment: 'staging', time: '2026-03-01T10:04:00Z' }),
      installed({ tenant, name, version: '1.1.0', environment: 'staging', time: '2026-03-01T10:05:00Z' }),
      removed({ tenant, name, version: '1.1.0', environment: 'staging', time: '2026-03-01T10:06:00Z' }),
    );
  }
  const items: ProjectionBatchItem[] = events.map((event, i) => ({ sequence: i + 1, event, origin: { writer: 'registry', subject: SUBJECT } }));
  // A forged message in the middle, and the first event published again later (a replay).
  items.splice(9, 0, { sequence: 0, forged: forged('{"type":"io.forgeone.plugin.installed.v1"}') });
  items.push({ sequence: 0, event: events[0], origin: { writer: 'registry', subject: SUBJECT } });
  return items.map((item, i) => ({ ...item, sequence: i + 1 }));
}

/** The table projections, compared row for row. */
const TABLES = ['call_windows', 'plugin_calls_daily', 'compliance_records', 'plugin_test_runs', 'plugin_reviews', 'review_notices'] as const;

/** Everything but when rows were written. */
async function state(ds: DataSource): Promise<Record<string, unknown[]>> {
  const all = await snapshot(ds);
  const tables: Record<string, unknown[]> = {};
  for (const table of TABLES) tables[table] = await ds.query(`SELECT * FROM ${table} t ORDER BY t::text`);
  return {
    ...all,
    ...tables,
    projection_checkpoint: all.projection_checkpoint.map((row) => ({ ...(row as object), updated_at: null })),
    audit_log: all.audit_log.map((row) => ({ ...(row as object), recorded_at: null })),
  };
}

async function applyOneByOne(ds: DataSource, items: readonly ProjectionBatchItem[]): Promise<void> {
  for (const item of items) {
    if ('forged' in item) await recordForgedEvent(ds, PROJECTOR, item.sequence, item.forged);
    else await applyEvent(ds, PROJECTOR, item.sequence, item.event, item.origin ? { origin: item.origin } : {});
  }
}

describe('applyEvents', () => {
  const databases: TestDatabase[] = [];
  const sources: DataSource[] = [];
  const items = stream();

  async function freshDatabase(): Promise<DataSource> {
    const db = await createTestDatabase();
    databases.push(db);
    const ds = await createDataSource(db.url, { applicationName: 'fo-batch-writer-test' }).initialize();
    sources.push(ds);
    await runMigrations(ds);
    return ds;
  }

  let oneByOne: DataSource;
  beforeAll(async () => {
    oneByOne = await freshDatabase();
    await applyOneByOne(oneByOne, items);
  });

  afterAll(async () => {
    for (const ds of sources) if (ds.isInitialized) await ds.destroy();
    for (const db of databases) await db.drop();
  });

  it('batch - batches of any size, in order, leave exactly the state of applying the events one by one (projections, chain, leaves, Merkle nodes, findings)', async () => {
    const ds = await freshDatabase();
    const outcomes = [];
    for (let start = 0, size = 1; start < items.length; start += size, size = (size * 3) % 11 || 1) {
      outcomes.push(...(await applyEvents(ds, PROJECTOR, items.slice(start, start + size))));
    }
    expect(outcomes.filter((o) => o === 'forged')).toHaveLength(2);
    expect(outcomes.at(-1)).toBe('forged');
    expect(outcomes[9]).toBe('forged');
    const batched = await state(ds);
    expect(batched).toEqual(await state(oneByOne));
    // The stream reaches every table projection but test runs, and folds some rows more than once.
    for (const table of TABLES.filter((t) => t !== 'plugin_test_runs')) expect(batched[table].length, table).toBeGreaterThan(0);
    expect(batched.plugin_calls_daily).toHaveLength(2);
    expect(batched.installations.filter((row) => (row as { status: string }).status === 'removed')).toHaveLength(2);
    const findings = (rows: { sequence: string; kind: string }[]) => rows.map((r) => [r.sequence, r.kind]);
    expect(findings(await ds.query(`SELECT sequence, kind FROM security_findings ORDER BY sequence`))).toEqual(findings(await oneByOne.query(`SELECT sequence, kind FROM security_findings ORDER BY sequence`)));
    expect((await verifyAuditChain(ds)).ok).toBe(true);
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(items.length);
  });

  it('batch - a redelivered batch writes nothing twice; an overlapping one applies only what is new', async () => {
    const ds = await freshDatabase();
    expect(await applyEvents(ds, PROJECTOR, items.slice(0, 8))).toEqual(Array(8).fill('applied'));
    const before = await snapshot(ds);
    expect(await applyEvents(ds, PROJECTOR, items.slice(0, 8))).toEqual(Array(8).fill('duplicate'));
    expect(await snapshot(ds)).toEqual(before);
    // A redelivery inside one batch: 5..8 again, then 9.. new, and 9 a second time.
    const overlapping = [...items.slice(4, 12), items[8]];
    expect(await applyEvents(ds, PROJECTOR, overlapping)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'applied', 'forged', 'applied', 'applied', 'duplicate']);
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(12);
    const sequences: { sequence: string }[] = await ds.query(`SELECT sequence FROM audit_log ORDER BY sequence`);
    expect(sequences.map((r) => Number(r.sequence))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('batch - a poison event in the middle halts at its sequence; the events before it are committed, nothing after it', async () => {
    const ds = await freshDatabase();
    const poison = { sequence: 4, event: { ...(items[3] as { event: object }).event, data: { name: 'acme/a' } } };
    const batch = [...items.slice(0, 3), poison, ...items.slice(4, 8)];
    const error = await applyEvents(ds, PROJECTOR, batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoisonEventError);
    expect(error).toMatchObject({ code: 'PROJECTION.POISON_EVENT', sequence: 4 });

    // Exactly the state after applying 1..3 one by one.
    const reference = await freshDatabase();
    await applyOneByOne(reference, items.slice(0, 3));
    expect(await state(ds)).toEqual(await state(reference));
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(3);

    // Redelivered with the event repaired, the batch goes on from 4.
    expect(await applyEvents(ds, PROJECTOR, items.slice(0, 8))).toEqual([...Array(3).fill('duplicate'), ...Array(5).fill('applied')]);
    expect((await verifyAuditChain(ds)).ok).toBe(true);
  });

  it('batch - a poison event first in the batch writes nothing at all, not even the checkpoint row', async () => {
    const ds = await freshDatabase();
    const error = await applyEvents(ds, PROJECTOR, [{ sequence: 1, event: { type: 'nonsense' } }, ...items.slice(1, 4)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoisonEventError);
    expect(error).toMatchObject({ sequence: 1 });
    expect(await ds.query(`SELECT * FROM projection_checkpoint`)).toEqual([]);
    expect(await ds.query(`SELECT * FROM audit_log`)).toEqual([]);
  });

  it('batch - a gap inside a batch halts naming the missing sequence; the events before it are committed', async () => {
    const ds = await freshDatabase();
    const error = await applyEvents(ds, PROJECTOR, [...items.slice(0, 5), ...items.slice(6, 9)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionGapError);
    expect(error).toMatchObject({ code: 'PROJECTION.GAP', expected: 6, received: 7 });
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(5);
    const count: { n: string }[] = await ds.query(`SELECT count(*) AS n FROM audit_log`);
    expect(Number(count[0].n)).toBe(5);
  });

  it('batch - an audit conflict at event k halts naming it, with the events before k committed', async () => {
    const ds = await freshDatabase();
    await applyEvents(ds, PROJECTOR, items.slice(0, 6));
    // Rebuild the projections from 1, with another event than the audit log holds at sequence 5.
    await ds.query(`UPDATE projection_checkpoint SET last_sequence = 0`);
    const other = { sequence: 5, event: versionPublished({ tenant: 'acme', name: 'acme/z', version: '9.0.0' }) };
    const error = await applyEvents(ds, PROJECTOR, [...items.slice(0, 4), other, items[5]]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditLogConflictError);
    expect(error).toMatchObject({ code: 'PROJECTION.AUDIT_CONFLICT', sequence: 5 });
    expect((await checkpoint(ds, PROJECTOR)).lastSequence).toBe(4);
  });

  it('batch - a sequence that is no positive integer is refused by name before anything is read', async () => {
    const ds = await freshDatabase();
    await expect(applyEvents(ds, PROJECTOR, [items[0], { ...items[1], sequence: 0 }])).rejects.toThrow(/applyEvents: batch item 1: stream sequence must be a positive integer, got 0/);
    await expect(applyEvents(ds, '', items.slice(0, 1))).rejects.toThrow(/projector name must not be empty/);
  });
});
