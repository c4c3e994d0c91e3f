import { describe, expect, it } from 'vitest';
import { generateApiToken } from './api-token.codec.js';
import { CredentialVerifier } from './credential.verifier.js';
import { TokenRegistry } from './token.registry.js';

describe('credential verifier - length', () => {
  const verifier = new CredentialVerifier({ tokens: new TokenRegistry(), bootstrapToken: 'b'.repeat(5000) });

  it('refuses a credential over 4096 characters as unauthenticated, saying it is too long', () => {
    const result = verifier.authenticate(`Bearer fo_${'a'.repeat(5000)}`);
    expect(result).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'credential too long' });
    expect(!result.ok && result.message).toContain('5003 characters long, more than the 4096');
  });

  it('never compares an over-long credential, not even with a bootstrap token of the same length', () => {
    expect(verifier.authenticate('b'.repeat(5000)).ok).toBe(false);
  });

  it('judges a credential of 4096 characters on its merits', () => {
    const result = verifier.authenticate(generateApiToken().token.padEnd(4096, 'x'));
    expect(result).toMatchObject({ ok: false, reason: 'malformed token' });
  });
});
