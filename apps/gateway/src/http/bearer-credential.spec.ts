import { ForgeOneError } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { requireCredential } from './bearer-credential.js';

function refusal(header: string | undefined): ForgeOneError {
  try {
    requireCredential(header);
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeOneError);
    return error as ForgeOneError;
  }
  throw new Error(`"${header}" was accepted`);
}

describe('requireCredential', () => {
  it('passes a bearer token through as sent', () => {
    expect(requireCredential('Bearer fo_0123456789abcdef_secret')).toBe('Bearer fo_0123456789abcdef_secret');
    expect(requireCredential('  bearer   tok  ')).toBe('bearer   tok');
  });

  it('refuses no header, an empty one and a bare scheme with 401 AUTH.UNAUTHENTICATED saying how to get a token', () => {
    for (const header of [undefined, '', '   ', 'Bearer', 'Bearer   ']) {
      const error = refusal(header);
      expect(error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(error.message).toContain('forgeone token create');
      expect(error.message).toContain('FORGEONE_TOKEN');
    }
  });

  it('refuses another scheme without echoing the header', () => {
    for (const header of ['Basic dXNlcjpwYXNzd29yZA==', 'fo_0123456789abcdef_secretsecret', 'Bearertoken']) {
      const error = refusal(header);
      expect(error.code).toBe('AUTH.UNAUTHENTICATED');
      expect(error.message).toContain('"Bearer <token>"');
      expect(error.message).not.toContain(header);
    }
  });

  it('refuses a token over 4096 characters with 401 saying it is too long, without echoing it', () => {
    const token = `fo_${'z'.repeat(5000)}`;
    const error = refusal(`Bearer ${token}`);
    expect(error.code).toBe('AUTH.UNAUTHENTICATED');
    expect(error.message).toMatch(/^the token is 5003 characters long, more than the 4096 any ForgeOne credential has/);
    expect(error.message).not.toContain('zzzz');
    expect(requireCredential(`Bearer ${'z'.repeat(4096)}`)).toHaveLength(4096 + 7);
  });
});
