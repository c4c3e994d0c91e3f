import { describe, expect, it } from 'vitest';
import { digestOf, installed, PLUGIN, removed, rolledBack, TENANT, upgraded, versionPublished } from '../testing/plugin-events.fixture.js';
import { replay } from '../testing/projection.fixture.js';
import { installationsProjection } from './installations.projection.js';

const T1 = '2026-03-01T10:00:00.000Z';
const T2 = '2026-03-02T10:00:00.000Z';
const T3 = '2026-03-03T10:00:00.000Z';

describe('installationsProjection', () => {
  it('installations - publishing alone installs nothing', () => {
    expect(installationsProjection.keyOf(versionPublished())).toBeNull();
  });

  it('installations - an install creates one row per environment', () => {
    const rows = replay(installationsProjection, [
      installed({ environment: 'staging', time: T1 }),
      installed({ environment: 'production', time: T2 }),
    ]);
    expect(rows).toEqual([
      {
        tenant: TENANT,
        name: PLUGIN,
        environment: 'staging',
        version: '1.0.0',
        digest: digestOf(`${PLUGIN}@1.0.0.wasm`),
        status: 'installed',
        installedAt: T1,
        updatedAt: T1,
        lastSequence: 1,
      },
      expect.objectContaining({ environment: 'production', installedAt: T2, lastSequence: 2 }),
    ]);
  });

  it('installations - an upgrade changes version and digest but keeps the install time', () => {
    const rows = replay(installationsProjection, [installed({ time: T1 }), upgraded({ version: '1.2.0', time: T2 })]);
    expect(rows).toEqual([
      expect.objectContaining({
        version: '1.2.0',
        digest: digestOf(`${PLUGIN}@1.2.0.wasm`),
        status: 'installed',
        installedAt: T1,
        updatedAt: T2,
        lastSequence: 2,
      }),
    ]);
  });

  it('installations - a rollback moves version and digest back and keeps the install time', () => {
    const rows = replay(installationsProjection, [installed({ time: T1 }), upgraded({ version: '2.0.0', time: T2 }), rolledBack({ version: '1.0.0', time: T3 })]);
    expect(rows).toEqual([
      expect.objectContaining({ version: '1.0.0', digest: digestOf(`${PLUGIN}@1.0.0.wasm`), status: 'installed', installedAt: T1, updatedAt: T3, lastSequence: 3 }),
    ]);
  });

  it('installations - a removal keeps the row with status removed; a reinstall starts a new install time', () => {
    const afterRemoval = replay(installationsProjection, [installed({ time: T1 }), removed({ time: T2 })]);
    expect(afterRemoval).toEqual([expect.objectContaining({ status: 'removed', version: '1.0.0', installedAt: T1, updatedAt: T2 })]);

    const afterReinstall = replay(installationsProjection, [installed({ time: T1 }), removed({ time: T2 }), installed({ version: '1.1.0', time: T3 })]);
    expect(afterReinstall).toEqual([expect.objectContaining({ status: 'installed', version: '1.1.0', installedAt: T3, lastSequence: 3 })]);
  });

  it('installations - removing what was never installed leaves no row', () => {
    expect(replay(installationsProjection, [removed()])).toEqual([]);
  });

  it('installations - an event at or below the row sequence is ignored (idempotent on sequence)', () => {
    const [row] = replay(installationsProjection, [installed({ time: T1 }), upgraded({ version: '2.0.0', time: T2 })]);
    expect(installationsProjection.evolve(row, { sequence: 1, event: installed({ time: T3 }) })).toBe(row);
  });
});
