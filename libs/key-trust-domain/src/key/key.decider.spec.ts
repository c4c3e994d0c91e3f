import { ForgeOneError, KEY_EVENT_TYPES, type KeyEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { KeyCommand } from './key.commands.js';
import { keyDecider } from './key.decider.js';

const KEY = 'a'.repeat(64);
const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';
const trustData = { keyId: KEY, publicKeyPem: PEM, publisher: 'acme', scope: 'acme/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'alice' };
const revokeData = { keyId: KEY, revokedAt: '2026-03-01T00:00:00Z', reason: 'leaked', revokedBy: 'alice' };
const trust: KeyCommand = { type: 'TrustKey', data: trustData };
const revoke: KeyCommand = { type: 'RevokeKey', data: revokeData };
const trusted: KeyEvent = { type: KEY_EVENT_TYPES.trusted, data: trustData };
const revoked: KeyEvent = { type: KEY_EVENT_TYPES.revoked, data: revokeData };

/** Given past events of one key, when a command is decided, then these events (or this error code). */
function given(events: KeyEvent[]) {
  const state = events.reduce(keyDecider.evolve, keyDecider.initialState());
  return {
    when: (command: KeyCommand) => ({
      then: (expected: KeyEvent[]) => expect(keyDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          keyDecider.decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
        return caught as ForgeOneError;
      },
    }),
  };
}

describe('key decider - trust', () => {
  it('trusts a new key', () => {
    given([]).when(trust).then([trusted]);
  });
  it('refuses trusting a key twice', () => {
    given([trusted]).when(trust).thenRefused('KEY.ALREADY_TRUSTED');
  });
  it('never trusts a revoked key again', () => {
    expect(given([trusted, revoked]).when(trust).thenRefused('KEY.ALREADY_REVOKED').message).toContain('generate a new key');
  });
  it('refuses a validity window that ends before it starts', () => {
    given([]).when({ type: 'TrustKey', data: { ...trustData, validUntil: '2025-12-31T00:00:00Z' } }).thenRefused('COMMAND.INVALID');
  });
});

describe('key decider - revoke', () => {
  it('revokes a trusted key', () => {
    given([trusted]).when(revoke).then([revoked]);
  });
  it('refuses revoking a key never trusted, or one already revoked', () => {
    given([]).when(revoke).thenRefused('KEY.NOT_FOUND');
    given([trusted, revoked]).when(revoke).thenRefused('KEY.ALREADY_REVOKED');
  });
});

describe('key decider - evolve', () => {
  it('keeps the envelope time of the trust as trustedAt', () => {
    const state = keyDecider.evolve(keyDecider.initialState(), { ...trusted, time: '2026-01-02T00:00:00Z' } as KeyEvent);
    expect(state.keys.get(KEY)).toMatchObject({ trustedAt: '2026-01-02T00:00:00Z', revokedAt: null });
  });
});
