import { describe, expect, it } from 'vitest';
import { installed, PLUGIN, TENANT, versionPublished } from '../testing/plugin-events.fixture.js';
import { replay } from '../testing/projection.fixture.js';
import { pluginsProjection } from './plugins.projection.js';

describe('pluginsProjection', () => {
  it('plugins - a first published version creates the plugin row', () => {
    // given no events, when a version is published
    const rows = replay(pluginsProjection, [versionPublished({ version: '1.0.0', time: '2026-03-01T10:00:00+02:00' })]);
    // then
    expect(rows).toEqual([
      {
        tenant: TENANT,
        name: PLUGIN,
        latestVersion: '1.0.0',
        versionsCount: 1,
        createdAt: '2026-03-01T08:00:00.000Z',
        updatedAt: '2026-03-01T08:00:00.000Z',
        lastSequence: 1,
      },
    ]);
  });

  it('plugins - latest version follows semver precedence, not publication order', () => {
    const rows = replay(pluginsProjection, [
      versionPublished({ version: '1.0.0', time: '2026-03-01T10:00:00Z' }),
      versionPublished({ version: '2.0.0', time: '2026-03-02T10:00:00Z' }),
      versionPublished({ version: '1.5.3', time: '2026-03-03T10:00:00Z' }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      latestVersion: '2.0.0',
      versionsCount: 3,
      createdAt: '2026-03-01T10:00:00.000Z',
      updatedAt: '2026-03-03T10:00:00.000Z',
      lastSequence: 3,
    });
  });

  it('plugins - the same name in two tenants is two plugins', () => {
    const rows = replay(pluginsProjection, [versionPublished({ tenant: 'acme' }), versionPublished({ tenant: 'globex' })]);
    expect(rows.map((r) => r.tenant).sort()).toEqual(['acme', 'globex']);
  });

  it('plugins - installations do not touch the plugin row', () => {
    expect(pluginsProjection.keyOf(installed())).toBeNull();
  });

  it('plugins - an event at or below the row sequence is ignored (idempotent on sequence)', () => {
    const [row] = replay(pluginsProjection, [versionPublished({ version: '1.0.0' }), versionPublished({ version: '1.1.0' })]);
    const again = pluginsProjection.evolve(row, { sequence: 2, event: versionPublished({ version: '1.1.0' }) });
    expect(again).toBe(row);
    expect(row.versionsCount).toBe(2);
  });
});
