import { describe, expect, it } from 'vitest';
import { installed, versionPublished } from '../testing/plugin-events.fixture.js';
import { checkEvent } from './event.checker.js';

describe('checkEvent', () => {
  it('event checker - a valid event passes, its raw envelope kept as received', () => {
    const event = versionPublished();
    const checked = checkEvent(event);
    expect(checked.ok).toBe(true);
    if (checked.ok) {
      expect(checked.event).toBe(event);
      expect(checked.projectable.data).toEqual(event.data);
    }
  });

  it('event checker - invalid data names the field', () => {
    const event = installed({ id: 'evt-bad' });
    const checked = checkEvent({ ...event, data: { ...event.data, version: 'latest' } });
    expect(checked).toMatchObject({ ok: false, id: 'evt-bad', type: event.type });
    expect(!checked.ok && checked.reason).toMatch(/data\.version: must be a semantic version/);
  });

  it('event checker - key and signature events pass (an audit-log row, no projection)', () => {
    const keyId = 'a'.repeat(64);
    const digest = `sha256:${'b'.repeat(64)}`;
    const events = [
      {
        type: 'io.forgeone.key.trusted.v1',
        data: {
          keyId,
          publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
          publisher: 'acme',
          scope: 'acme/*',
          validFrom: '2026-01-01T00:00:00Z',
          validUntil: null,
          trustedBy: 'u-1',
        },
      },
      { type: 'io.forgeone.key.revoked.v1', data: { keyId, revokedAt: '2026-02-01T00:00:00Z', reason: 'laptop lost', revokedBy: 'u-1' } },
      {
        type: 'io.forgeone.signature.rejected.v1',
        data: {
          name: 'acme/hello',
          version: '1.0.0',
          environment: 'production',
          stage: 'install',
          mode: 'strict',
          keyIds: [keyId],
          envelopeDigest: null,
          pluginDigest: digest,
          manifestDigest: digest,
          reason: 'SIGNATURE.KEY_REVOKED',
          flagged: false,
          message: 'key revoked',
        },
      },
    ];
    for (const { type, data } of events) expect(checkEvent({ ...installed(), type, data }).ok, type).toBe(true);
    expect(checkEvent({ ...installed(), type: events[1].type, data: { ...events[1].data, extra: 1 } }).ok).toBe(false);
  });

  it('event checker - an unknown type is refused', () => {
    const checked = checkEvent({ ...installed(), type: 'io.forgeone.plugin.teleported.v1' });
    expect(!checked.ok && checked.reason).toBe('unknown event type "io.forgeone.plugin.teleported.v1"');
  });

  it('event checker - an envelope with a missing or unknown field is refused', () => {
    const { actor: _actor, ...withoutActor } = installed();
    const checked = checkEvent(withoutActor);
    expect(!checked.ok && checked.reason).toMatch(/envelope is invalid: actor/);
    expect(checkEvent({ ...installed(), extra: 1 }).ok).toBe(false);
    expect(checkEvent('not an event').ok).toBe(false);
  });
});
