import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/audit-chain.verifier.js';
import { createDataSource, runMigrations } from '../postgres.data-source.js';
import { checkpoint } from '../queries/checkpoint.queries.js';
import { getPlugin } from '../queries/plugin.queries.js';
import { installed, PLUGIN, TENANT, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { createTestDatabase, snapshot, type TestDatabase } from '../testing/test-database.js';
import { AuditLogConflictError, PoisonEventError, ProjectionGapError } from './projection.errors.js';
import { applyEvent, resetProjections } from './projection.writer.js';

const PROJECTOR = 'audit-projector';

describe('applyEvent', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-writer-test', poolSize: 25 }).initialize();
    await runMigrations(ds);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const published = versionPublished({
    version: '1.0.0',
    time: '2026-03-01T10:00:00Z',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    signature: { envelopeDigest: `sha256:${'ab'.repeat(32)}`, signedAt: '2026-03-01T10:00:00Z' },
  });
  const installedInStaging = installed({ version: '1.0.0', environment: 'staging', time: '2026-03-01T11:00:00Z' });

  it('writer - a sequence that does not start at 1 is a gap, and not even the checkpoint row is left behind', async () => {
    const error = await applyEvent(ds, PROJECTOR, 2, installedInStaging).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionGapError);
    expect(error).toMatchObject({ code: 'PROJECTION.GAP', expected: 1, received: 2 });
    expect((error as Error).message).toMatch(/expected stream sequence 1 but received 2/);
    expect(await ds.query(`SELECT * FROM projection_checkpoint`)).toEqual([]);
  });

  it('writer - published then installed are projected with the audit rows and checkpoint, in one step each', async () => {
    expect(await applyEvent(ds, PROJECTOR, 1, published)).toBe('applied');
    expect(await applyEvent(ds, PROJECTOR, 2, installedInStaging)).toBe('applied');

    expect(await getPlugin(ds, { tenant: TENANT, name: PLUGIN })).toEqual({
      tenant: TENANT,
      name: PLUGIN,
      latestVersion: '1.0.0',
      versionsCount: 1,
      createdAt: '2026-03-01T10:00:00.000Z',
      updatedAt: '2026-03-01T10:00:00.000Z',
      lastSequence: 1,
      versions: [
        {
          tenant: TENANT,
          name: PLUGIN,
          version: '1.0.0',
          digest: published.data.digest,
          sizeBytes: 1234,
          manifestDigest: published.data.manifestDigest,
          manifest: published.data.manifest,
          publisher: 'acme',
          publishedAt: '2026-03-01T10:00:00.000Z',
          publishedSequence: 1,
          signatureEnvelopeDigest: `sha256:${'ab'.repeat(32)}`,
          signedAt: '2026-03-01T10:00:00.000Z',
          privateEgress: [],
        },
      ],
      installations: [
        {
          tenant: TENANT,
          name: PLUGIN,
          environment: 'staging',
          version: '1.0.0',
          digest: installedInStaging.data.digest,
          status: 'installed',
          installedAt: '2026-03-01T11:00:00.000Z',
          updatedAt: '2026-03-01T11:00:00.000Z',
          lastSequence: 2,
        },
      ],
    });
    expect(await checkpoint(ds, PROJECTOR)).toMatchObject({ projector: PROJECTOR, lastSequence: 2 });

    const audit = await ds.query(`SELECT sequence, event_id, type, tenant, plugin, traceparent, prev_hash, hash FROM audit_log ORDER BY sequence`);
    expect(audit).toEqual([
      expect.objectContaining({ sequence: '1', event_id: published.id, type: published.type, plugin: PLUGIN, traceparent: published.traceparent, prev_hash: '0'.repeat(64) }),
      expect.objectContaining({ sequence: '2', event_id: installedInStaging.id, plugin: PLUGIN, traceparent: null, prev_hash: audit[0].hash }),
    ]);
  });

  it('writer - redelivering an applied sequence is a duplicate and changes nothing', async () => {
    const before = await snapshot(ds);
    expect(await applyEvent(ds, PROJECTOR, 2, installedInStaging)).toBe('duplicate');
    expect(await applyEvent(ds, PROJECTOR, 1, published)).toBe('duplicate');
    expect(await snapshot(ds)).toEqual(before);
  });

  it('writer - a gap throws ProjectionGapError naming both sequences and writes nothing', async () => {
    const before = await snapshot(ds);
    const error = await applyEvent(ds, PROJECTOR, 4, upgraded({ version: '1.1.0' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionGapError);
    expect((error as Error).message).toMatch(/expected stream sequence 3 but received 4/);
    expect(await snapshot(ds)).toEqual(before);
  });

  it('writer - invalid data throws PoisonEventError with the reason and writes nothing', async () => {
    const before = await snapshot(ds);
    const bad = versionPublished({ version: '1.1.0' });
    const error = await applyEvent(ds, PROJECTOR, 3, { ...bad, data: { ...bad.data, digest: 'md5:abc' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoisonEventError);
    expect(error).toMatchObject({ code: 'PROJECTION.POISON_EVENT', sequence: 3, eventId: bad.id });
    expect((error as Error).message).toMatch(/data\.digest: must be sha256:<64 hex digits>/);
    expect(await snapshot(ds)).toEqual(before);
  });

  it('writer - an unknown event type throws PoisonEventError and writes nothing', async () => {
    const before = await snapshot(ds);
    const error = await applyEvent(ds, PROJECTOR, 3, { ...installed(), type: 'io.forgeone.plugin.teleported.v1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoisonEventError);
    expect((error as Error).message).toMatch(/unknown event type "io\.forgeone\.plugin\.teleported\.v1"/);
    expect(await snapshot(ds)).toEqual(before);
  });

  it('writer - a rebuild from sequence 1 reproduces the projections and keeps the audit chain', async () => {
    const before = await snapshot(ds);
    await resetProjections(ds, PROJECTOR);
    expect(await getPlugin(ds, { tenant: TENANT, name: PLUGIN })).toBeNull();
    expect(await applyEvent(ds, PROJECTOR, 1, published)).toBe('applied');
    expect(await applyEvent(ds, PROJECTOR, 2, installedInStaging)).toBe('applied');
    const after = await snapshot(ds);
    expect({ ...after, projection_checkpoint: [] }).toEqual({ ...before, projection_checkpoint: [] });
  });

  it('writer - replaying a different event than the audit log recorded at a sequence is refused', async () => {
    await resetProjections(ds, PROJECTOR);
    const error = await applyEvent(ds, PROJECTOR, 1, versionPublished({ version: '1.0.0' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditLogConflictError);
    expect((error as Error).message).toMatch(/disagrees with the stream at sequence 1/);
    expect(await checkpoint(ds, PROJECTOR)).toMatchObject({ lastSequence: 0 });
    // put the projections back for the tests that follow
    await applyEvent(ds, PROJECTOR, 1, published);
    await applyEvent(ds, PROJECTOR, 2, installedInStaging);
  });
});

describe('applyEvent - concurrency', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.url, { applicationName: 'fo-writer-race', poolSize: 25 }).initialize();
    await runMigrations(ds);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  // seq 1 publishes 1.0.0, seq 2 installs it; then publish 1.0.n and upgrade to it, up to 1.0.9 at seq 20.
  const events = Array.from({ length: 20 }, (_, i) => {
    const sequence = i + 1;
    if (sequence === 1) return versionPublished({ version: '1.0.0' });
    if (sequence === 2) return installed({ version: '1.0.0' });
    const n = Math.floor((sequence - 1) / 2);
    return sequence % 2 === 1 ? versionPublished({ version: `1.0.${n}` }) : upgraded({ fromVersion: `1.0.${n - 1}`, version: `1.0.${n}` });
  });

  it('writer - 20 racing sequences in shuffled order never skip; the refused ones apply when retried in order', async () => {
    const order = shuffled(events.map((_, i) => i + 1), 42);
    const settled = await Promise.allSettled(order.map((sequence) => applyEvent(ds, PROJECTOR, sequence, events[sequence - 1])));

    const applied: number[] = [];
    const refused: number[] = [];
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        expect(result.value).toBe('applied');
        applied.push(order[i]);
      } else {
        expect(result.reason).toBeInstanceOf(ProjectionGapError);
        refused.push(order[i]);
      }
    });
    // whatever won the race, what was applied is exactly 1..k: nothing was skipped
    applied.sort((a, b) => a - b);
    const { lastSequence } = await checkpoint(ds, PROJECTOR);
    expect(applied).toEqual(Array.from({ length: lastSequence }, (_, i) => i + 1));
    expect(Number((await ds.query(`SELECT count(*) AS n FROM audit_log`))[0].n)).toBe(lastSequence);

    for (const sequence of refused.sort((a, b) => a - b)) {
      expect(await applyEvent(ds, PROJECTOR, sequence, events[sequence - 1])).toBe('applied');
    }

    expect(await checkpoint(ds, PROJECTOR)).toMatchObject({ lastSequence: 20 });
    const plugin = await getPlugin(ds, { tenant: TENANT, name: PLUGIN });
    expect(plugin).toMatchObject({ latestVersion: '1.0.9', versionsCount: 10, lastSequence: 19 });
    expect(plugin?.versions.map((v) => v.version)).toEqual(Array.from({ length: 10 }, (_, i) => `1.0.${i}`));
    expect(plugin?.installations).toEqual([expect.objectContaining({ environment: 'staging', version: '1.0.9', status: 'installed', lastSequence: 20 })]);
    expect(await verifyAuditChain(ds)).toEqual({ ok: true, rows: 20, forged: { count: 0, sequences: [] }, lastSequence: 20, lastHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('writer - the same sequence delivered 5 times at once is applied exactly once', async () => {
    const next = versionPublished({ version: '1.0.10' });
    const results = await Promise.all(Array.from({ length: 5 }, () => applyEvent(ds, PROJECTOR, 21, next)));
    expect(results.sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await getPlugin(ds, { tenant: TENANT, name: PLUGIN })).toMatchObject({ latestVersion: '1.0.10', versionsCount: 11, lastSequence: 21 });
    expect(await verifyAuditChain(ds)).toMatchObject({ ok: true, rows: 21 });
  });
});

/** Deterministic Fisher-Yates with a seeded generator (mulberry32), so the test races the same way every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
