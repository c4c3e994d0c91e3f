import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { installed, PLUGIN, versionPublished } from '../testing/plugin-events.fixture.js';
import { auditHash, auditHashAndDigest, auditHashOfCanonical, GENESIS_HASH, pluginOf, type ForgedMark } from './audit-chain.js';
import { auditEventDigest, auditEventDigestOfCanonical } from './audit-leaf.js';
import { canonicalJson } from '@forgeone/contracts';

describe('auditHash', () => {
  it('audit chain - hash is sha256 of the previous hash and the canonical {sequence, event}', () => {
    const event = installed({ id: 'evt-1' });
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson({ sequence: 1, event }))
      .digest('hex');
    expect(auditHash(GENESIS_HASH, 1, event)).toBe(expected);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });

  it('audit chain - key order of the event does not matter, its content and position do', () => {
    const event = installed({ id: 'evt-1' });
    const reordered = Object.fromEntries(Object.entries(event).reverse()) as typeof event;
    const h = auditHash(GENESIS_HASH, 1, event);
    expect(auditHash(GENESIS_HASH, 1, reordered)).toBe(h);
    expect(auditHash(GENESIS_HASH, 2, event)).not.toBe(h);
    expect(auditHash(h, 1, event)).not.toBe(h);
    expect(auditHash(GENESIS_HASH, 1, { ...event, data: { ...event.data, version: '1.0.1' } })).not.toBe(h);
  });

  it('audit chain - the hash and leaf digest computed together equal auditHash and auditEventDigest, forged or not', () => {
    const prev = createHash('sha256').update('prev').digest('hex');
    const event = { ...versionPublished({ id: 'evt-2' }), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const forged = { reason: 'replayed', writer: null, subject: 'forgeone.x.events.plugin.acme' } as const;
    for (const [sequence, mark] of [[1, undefined], [9_007_199_254_740_991, undefined], [42, forged], [43, { ...forged, reason: 'bad-signature', writer: 'registry' } as const]] as const) {
      const together = auditHashAndDigest(prev, sequence, event, mark);
      expect(together.hash).toBe(auditHash(prev, sequence, event, mark));
      expect(together.digest).toBe(auditEventDigest(event, mark));
    }
    expect(auditHashAndDigest(prev, 1, event, forged).hash).not.toBe(auditHashAndDigest(prev, 1, event).hash);
  });

  it('audit chain - hashing the canonical text gives the same chain hash and digest as hashing the event, genuine or forged', () => {
    const event = installed({ id: 'evt-1' });
    const mark: ForgedMark = { reason: 'unsigned', writer: null, subject: 'forgeone.events.plugin.acme' };
    const text = canonicalJson(event);
    for (const sequence of [1, 42, 9_007_199_254_740_991]) {
      expect(auditHashOfCanonical(GENESIS_HASH, sequence, text)).toBe(auditHash(GENESIS_HASH, sequence, event));
      expect(auditHashOfCanonical(GENESIS_HASH, sequence, text, mark)).toBe(auditHash(GENESIS_HASH, sequence, event, mark));
    }
    expect(auditEventDigestOfCanonical(text)).toBe(auditEventDigest(event));
    expect(auditEventDigestOfCanonical(text, mark)).toBe(auditEventDigest(event, mark));
    expect(auditEventDigestOfCanonical(text, { ...mark, writer: 'service.registry' })).not.toBe(auditEventDigest(event, mark));
  });

  it('audit chain - plugin events name their plugin', () => {
    expect(pluginOf(versionPublished())).toBe(PLUGIN);
    expect(pluginOf({ ...installed(), type: 'io.forgeone.key.trusted.v1', data: { name: 'x' } })).toBeNull();
    // Signature results show in the plugin's history.
    expect(pluginOf({ ...installed(), type: 'io.forgeone.signature.rejected.v1', data: { name: PLUGIN } })).toBe(PLUGIN);
  });
});
