import { describe, expect, it } from 'vitest';
import { installed, manifestFor, PLUGIN, TENANT, versionPublished } from '../testing/plugin-events.fixture.js';
import { replay } from '../testing/projection.fixture.js';
import { pluginVersionsProjection } from './plugin-versions.projection.js';

describe('pluginVersionsProjection', () => {
  it('plugin versions - each published version is one row with its digests and manifest', () => {
    const v1 = versionPublished({ version: '1.0.0', publisher: 'acme-platform', time: '2026-03-01T10:00:00Z' });
    const v2 = versionPublished({ version: '1.1.0', time: '2026-03-02T10:00:00Z' });
    const rows = replay(pluginVersionsProjection, [v1, v2]);
    expect(rows).toEqual([
      {
        tenant: TENANT,
        name: PLUGIN,
        version: '1.0.0',
        digest: v1.data.digest,
        sizeBytes: 1234,
        manifestDigest: v1.data.manifestDigest,
        manifest: manifestFor(PLUGIN, '1.0.0'),
        publisher: 'acme-platform',
        publishedAt: '2026-03-01T10:00:00.000Z',
        publishedSequence: 1,
        signatureEnvelopeDigest: null,
        signedAt: null,
        privateEgress: [],
      },
      expect.objectContaining({ version: '1.1.0', publishedSequence: 2, publishedAt: '2026-03-02T10:00:00.000Z' }),
    ]);
  });

  it('plugin versions - a second publication of a version keeps the first (versions are immutable)', () => {
    const [row] = replay(pluginVersionsProjection, [versionPublished({ version: '1.0.0', publisher: 'first' })]);
    const next = pluginVersionsProjection.evolve(row, { sequence: 2, event: versionPublished({ version: '1.0.0', publisher: 'second' }) });
    expect(next).toBe(row);
    expect(next?.publisher).toBe('first');
  });

  it('plugin versions - a signed version keeps its envelope digest and the time the platform recorded the signature', () => {
    const signature = { envelopeDigest: `sha256:${'ab'.repeat(32)}`, signedAt: '2026-03-01T10:00:00Z' };
    const [row] = replay(pluginVersionsProjection, [versionPublished({ version: '1.0.0', signature })]);
    expect(row).toMatchObject({ signatureEnvelopeDigest: signature.envelopeDigest, signedAt: '2026-03-01T10:00:00.000Z' });
  });

  it('plugin versions - the private egress its publisher was allowed is kept with the version', () => {
    const [row] = replay(pluginVersionsProjection, [versionPublished({ version: '1.0.0', allow: ['example.com', '10.0.0.7:443'], privateEgress: ['10.0.0.7:443'] })]);
    expect(row.privateEgress).toEqual(['10.0.0.7:443']);
  });

  it('plugin versions - installations are ignored', () => {
    expect(pluginVersionsProjection.keyOf(installed())).toBeNull();
  });
});
