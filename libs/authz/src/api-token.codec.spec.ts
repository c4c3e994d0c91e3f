import { IDENTITY_EVENT_TYPES, type CloudEvent, cloudEvent, TOKEN_AGGREGATE } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { generateApiToken, hashTokenSecret, parseApiToken, tokenSecretMatches } from './api-token.codec.js';
import { CredentialVerifier } from './credential.verifier.js';
import { serviceCredential, verifyServiceCredential } from './service-credential.js';
import { BOOTSTRAP_TOKEN_AGGREGATE_ID, TokenRegistry } from './token.registry.js';

const KEY = 'k'.repeat(40);
let sequence = 0;

function issued(token: ReturnType<typeof generateApiToken>, extra: Record<string, unknown> = {}, aggregateId = token.tokenId): [CloudEvent, string, number] {
  const event = cloudEvent(TOKEN_AGGREGATE, aggregateId, {
    id: `e-${++sequence}`,
    type: IDENTITY_EVENT_TYPES.tokenIssued,
    time: '2030-01-01T00:00:00.000Z',
    data: { tokenId: token.tokenId, principal: 'dev-1', principalType: 'user', role: 'developer', tenant: 'acme', secretHash: token.secretHash, issuedBy: 'ann', ...extra },
    actor: 'ann',
    tenant: 'acme',
  });
  return [event, aggregateId, sequence];
}

function revoked(tokenId: string): [CloudEvent, string, number] {
  const event = cloudEvent(TOKEN_AGGREGATE, tokenId, {
    id: `e-${++sequence}`,
    type: IDENTITY_EVENT_TYPES.tokenRevoked,
    time: '2030-01-02T00:00:00.000Z',
    data: { tokenId, reason: 'laptop lost', revokedBy: 'ann' },
    actor: 'ann',
    tenant: 'acme',
  });
  return [event, tokenId, sequence];
}

describe('API tokens - codec', () => {
  it('generate - fo_<16 hex>_<43 base64url>, and only the hash of the secret leaves', () => {
    const token = generateApiToken();
    expect(token.token).toMatch(/^fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiToken(token.token)).toEqual({ tokenId: token.tokenId, secret: token.secret });
    expect(token.secretHash).toBe(hashTokenSecret(token.secret));
    expect(token.secretHash).not.toContain(token.secret);
    expect(generateApiToken().token).not.toBe(token.token);
  });

  it('parse - truncated, extended, altered prefix or foreign strings are not tokens', () => {
    const { token } = generateApiToken();
    for (const bad of [token.slice(0, -1), `${token}x`, token.replace('fo_', 'fx_'), token.toUpperCase(), `${token.slice(0, 19)}${token.slice(20)}`, '', 'fo__', 'Bearer x', 'fo_zzzzzzzzzzzzzzzz_' + 'a'.repeat(43)]) {
      expect(parseApiToken(bad), bad).toBeUndefined();
    }
  });

  it('secret - matches only its own hash', () => {
    const a = generateApiToken();
    const b = generateApiToken();
    expect(tokenSecretMatches(a.secret, a.secretHash)).toBe(true);
    expect(tokenSecretMatches(b.secret, a.secretHash)).toBe(false);
    expect(tokenSecretMatches(a.secret, 'not hex')).toBe(false);
  });
});

describe('API tokens - verification', () => {
  const now = new Date('2030-06-01T00:00:00Z');

  function setup(extra: Record<string, unknown> = {}) {
    const tokens = new TokenRegistry();
    const token = generateApiToken();
    tokens.apply(...issued(token, extra));
    return { tokens, token, verifier: new CredentialVerifier({ tokens, serviceKey: KEY, bootstrapToken: 'bootstrap-token-from-env' }) };
  }

  it('a genuine token - authenticates its principal with its role and tenant', () => {
    const { verifier, token } = setup();
    expect(verifier.authenticate(token.token, now)).toEqual({
      ok: true,
      identity: { id: 'dev-1', type: 'user', tenant: 'acme', roles: ['developer'], tokenId: token.tokenId },
    });
    expect(verifier.authenticate(`Bearer ${token.token}`, now).ok).toBe(true);
  });

  it('forged - a wrong secret, or another token\'s id with this secret, is refused', () => {
    const { verifier, token, tokens } = setup();
    const other = generateApiToken();
    tokens.apply(...issued(other));
    const wrongSecret = `fo_${token.tokenId}_${generateApiToken().secret}`;
    const swapped = `fo_${other.tokenId}_${token.secret}`;
    for (const forged of [wrongSecret, swapped]) {
      const result = verifier.authenticate(forged, now);
      expect(result).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'invalid token' });
      if (!result.ok) expect(result.message).not.toContain(forged);
    }
    const unknown = verifier.authenticate(generateApiToken().token, now);
    expect(unknown).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED' });
    expect(unknown.ok ? undefined : unknown.unknownTokenId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('truncated or missing - refused clearly', () => {
    const { verifier, token } = setup();
    expect(verifier.authenticate(token.token.slice(0, 30), now)).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'malformed token' });
    expect(verifier.authenticate(undefined, now)).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'no credential' });
    expect(verifier.authenticate('  ', now)).toMatchObject({ ok: false, reason: 'no credential' });
  });

  it('revoked - refused with AUTH.TOKEN_REVOKED naming the principal', () => {
    const { verifier, token, tokens } = setup();
    tokens.apply(...revoked(token.tokenId));
    expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: false, code: 'AUTH.TOKEN_REVOKED', principal: 'dev-1', tenant: 'acme' });
    expect(tokens.newestActiveFor('dev-1', now)).toBeUndefined();
  });

  it('revoked after use - a token verified before is refused as soon as its revocation is applied', () => {
    const { verifier, token, tokens } = setup();
    for (let i = 0; i < 3; i++) expect(verifier.authenticate(token.token, now).ok).toBe(true);
    tokens.apply(...revoked(token.tokenId));
    expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: false, code: 'AUTH.TOKEN_REVOKED', principal: 'dev-1', tokenId: token.tokenId });
    expect(verifier.authenticate(`Bearer ${token.token}`, now)).toMatchObject({ ok: false, code: 'AUTH.TOKEN_REVOKED' });
  });

  it('verified before - its id with another secret is still refused, and the genuine token still works', () => {
    const { verifier, token } = setup();
    expect(verifier.authenticate(token.token, now).ok).toBe(true);
    const wrongSecret = `fo_${token.tokenId}_${generateApiToken().secret}`;
    expect(verifier.authenticate(wrongSecret, now)).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'invalid token' });
    expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: true, identity: { id: 'dev-1', tokenId: token.tokenId } });
  });

  it('verified before - a token whose stored hash is no longer the one it matched is verified afresh and refused', () => {
    const { verifier, token, tokens } = setup();
    expect(verifier.authenticate(token.token, now).ok).toBe(true);
    // The same token id issued again (under another aggregate) with another secret's hash.
    tokens.apply(...issued({ ...token, secretHash: generateApiToken().secretHash }, {}, 'other-aggregate'));
    expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED', reason: 'invalid token' });
  });

  it('verified before - the bootstrap token and service credentials keep authenticating as themselves', () => {
    const { verifier, token } = setup();
    const gateway = serviceCredential('gateway', KEY);
    for (let i = 0; i < 2; i++) {
      expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: true, identity: { id: 'dev-1' } });
      expect(verifier.authenticate(gateway, now)).toMatchObject({ ok: true, identity: { id: 'service.gateway', platformService: true } });
      expect(verifier.authenticate('bootstrap-token-from-env', now)).toMatchObject({ ok: true, identity: { id: 'bootstrap-admin', platformAdmin: true } });
    }
    expect(verifier.authenticate(serviceCredential('gateway', 'x'.repeat(40)), now)).toMatchObject({ ok: false, reason: 'invalid service credential' });
  });

  it('expired - valid until its expiry, refused from then on', () => {
    const { verifier, token } = setup({ expiresAt: '2030-06-01T00:00:00Z' });
    expect(verifier.authenticate(token.token, new Date('2030-05-31T23:59:59Z')).ok).toBe(true);
    expect(verifier.authenticate(token.token, now)).toMatchObject({ ok: false, code: 'AUTH.TOKEN_EXPIRED', principal: 'dev-1' });
  });

  it('events - applying the same event twice changes nothing', () => {
    const tokens = new TokenRegistry();
    const token = generateApiToken();
    const event = issued(token);
    expect(tokens.apply(...event)).toBe(true);
    const revocation = revoked(token.tokenId);
    expect(tokens.apply(...revocation)).toBe(true);
    expect(tokens.apply(...event)).toBe(false);
    expect(tokens.get(token.tokenId)?.revokedAt).toBeDefined();
    expect(tokens.aggregateSequence(token.tokenId)).toBe(revocation[2]);
  });

  it('bootstrap - the env token and the first-start token make the platform administrator', () => {
    const tokens = new TokenRegistry();
    const first = generateApiToken();
    tokens.apply(...issued(first, { principal: 'bootstrap-admin', role: 'admin', tenant: 'default' }, BOOTSTRAP_TOKEN_AGGREGATE_ID));
    expect(tokens.bootstrapIssued).toBe(true);
    const verifier = new CredentialVerifier({ tokens, bootstrapToken: 'bootstrap-token-from-env' });
    expect(verifier.authenticate(first.token, now)).toMatchObject({ ok: true, identity: { id: 'bootstrap-admin', platformAdmin: true, roles: ['admin'] } });
    expect(verifier.authenticate('bootstrap-token-from-env', now)).toMatchObject({ ok: true, identity: { id: 'bootstrap-admin', platformAdmin: true } });
    expect(verifier.authenticate('bootstrap-token-from-en', now)).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED' });
    // An ordinary token for a principal of the same name is no platform administrator.
    const lookalike = generateApiToken();
    tokens.apply(...issued(lookalike, { principal: 'bootstrap-admin', role: 'admin', tenant: 'default' }));
    const result = verifier.authenticate(lookalike.token, now);
    expect(result.ok && result.identity.platformAdmin).toBeFalsy();
  });
});

describe('service credentials', () => {
  it('serviceCredential - derived from the key, verified in constant time', () => {
    const credential = serviceCredential('gateway', KEY);
    expect(credential).toMatch(/^fos_gateway_[A-Za-z0-9_-]{43}$/);
    expect(serviceCredential('gateway', KEY)).toBe(credential);
    expect(verifyServiceCredential(credential, KEY)).toBe('gateway');
    expect(verifyServiceCredential(credential, 'x'.repeat(40))).toBeUndefined();
    expect(verifyServiceCredential(credential.replace('gateway', 'registry'), KEY)).toBeUndefined();
    expect(verifyServiceCredential(credential.slice(0, -2), KEY)).toBeUndefined();
    expect(verifyServiceCredential(serviceCredential('registry', KEY).replace('registry', 'intruder'), KEY)).toBeUndefined();
    expect(() => serviceCredential('gateway', 'short')).toThrow(/at least 32 characters/);
  });

  it('verifier - a service credential authenticates service.<name> of the platform tenant', () => {
    const verifier = new CredentialVerifier({ tokens: new TokenRegistry(), serviceKey: KEY });
    expect(verifier.authenticate(serviceCredential('sandbox-runner', KEY))).toEqual({
      ok: true,
      identity: { id: 'service.sandbox-runner', type: 'service', tenant: 'default', roles: [], platformService: true },
    });
    expect(verifier.authenticate(serviceCredential('sandbox-runner', 'y'.repeat(32)))).toMatchObject({ ok: false, code: 'AUTH.UNAUTHENTICATED' });
    const keyless = new CredentialVerifier({ tokens: new TokenRegistry() });
    expect(keyless.authenticate(serviceCredential('gateway', KEY))).toMatchObject({ ok: false, message: /FORGEONE_SERVICE_KEY is not set/ });
  });
});
