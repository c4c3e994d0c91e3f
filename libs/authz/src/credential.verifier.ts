import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_CREDENTIAL_LENGTH, type ServiceName } from '@forgeone/contracts';
import { parseApiToken, tokenSecretMatches } from './api-token.codec.js';
import type { AuthzPrincipal } from './authz-entities.js';
import { looksLikeServiceCredential, servicePrincipalId, verifyServiceCredential } from './service-credential.js';
import { BOOTSTRAP_PRINCIPAL, PLATFORM_TENANT, type TokenRecord, type TokenRegistry } from './token.registry.js';

// Verified API tokens remembered at most; past it the oldest is forgotten (and hashed again on its next use).
const MAX_VERIFIED_TOKENS = 10_000;

/** An authenticated caller: who it is for policy, and the token it used (never the secret). */
export type AuthenticatedIdentity = AuthzPrincipal & { readonly type: 'user' | 'service'; readonly tokenId?: string };

export type AuthenticationFailureCode = 'AUTH.UNAUTHENTICATED' | 'AUTH.TOKEN_EXPIRED' | 'AUTH.TOKEN_REVOKED';

export type Authentication =
  | { readonly ok: true; readonly identity: AuthenticatedIdentity }
  | {
      readonly ok: false;
      readonly code: AuthenticationFailureCode;
      /** Says what was wrong and what to do; never contains the credential. */
      readonly message: string;
      /** Short reason for the decision record (`no credential`, `token revoked`, ...). */
      readonly reason: string;
      /** The principal, when the token was genuine but is no longer valid. */
      readonly principal?: string;
      readonly tenant?: string;
      readonly tokenId?: string;
      /** Set when a well-formed token names an id this registry does not know (yet). */
      readonly unknownTokenId?: string;
    };

export interface CredentialVerifierOptions {
  readonly tokens: TokenRegistry;
  /** FORGEONE_BOOTSTRAP_TOKEN: authenticates the bootstrap administrator; kept in memory only. */
  readonly bootstrapToken?: string;
  /** FORGEONE_SERVICE_KEY: verifies service credentials; without it they are refused. */
  readonly serviceKey?: string;
}

/** The bootstrap administrator: role admin in the platform tenant, allowed on every tenant. */
export const BOOTSTRAP_IDENTITY: AuthenticatedIdentity = {
  id: BOOTSTRAP_PRINCIPAL,
  type: 'user',
  tenant: PLATFORM_TENANT,
  roles: ['admin'],
  platformAdmin: true,
};

/**
 * Tells who a credential belongs to: the bootstrap token, an API token (`fo_...`, checked
 * against its stored hash, its revocation and its expiry on every use) or a service credential
 * (`fos_...`). A `Bearer ` prefix is ignored.
 */
export class CredentialVerifier {
  // Service credentials verified before: every service sends the same one on every request, so the
  // HMAC is computed once per credential, not per request. Only genuine ones are kept (a handful).
  private readonly verifiedServices = new Map<string, ServiceName>();
  // API tokens whose secret matched their stored hash, by the presented token: a token is sent on
  // every request, and re-hashing it each time is most of what authenticating costs. Only the match
  // is remembered; revocation and expiry are read from the registry on every use, and an entry whose
  // token no longer carries the hash it matched is dropped and the token verified afresh.
  private readonly verifiedTokens = new Map<string, { readonly tokenId: string; readonly secretHash: string }>();
  private readonly bootstrapDigest?: Buffer;

  constructor(private readonly options: CredentialVerifierOptions) {
    if (options.bootstrapToken) this.bootstrapDigest = sha256(options.bootstrapToken);
  }

  authenticate(credential: string | undefined, now: Date = new Date()): Authentication {
    const presented = credential?.replace(/^bearer\s+/i, '').trim();
    if (!presented) {
      return fail('AUTH.UNAUTHENTICATED', 'no credential: send an API token (FORGEONE_TOKEN) or a service credential', 'no credential');
    }
    // Never hashed nor matched: no ForgeOne credential is anywhere near this long.
    if (presented.length > MAX_CREDENTIAL_LENGTH) {
      return fail('AUTH.UNAUTHENTICATED', `the credential is ${presented.length} characters long, more than the ${MAX_CREDENTIAL_LENGTH} any ForgeOne credential has; send an API token (fo_<id>_<secret>)`, 'credential too long');
    }
    const { serviceKey, tokens } = this.options;
    // A credential verified before is neither the bootstrap token (that one is never remembered)
    // nor forged: it skips the hashing below, not the checks of its token's current state.
    const service = serviceKey === undefined ? undefined : this.verifiedServices.get(presented);
    if (service) return { ok: true, identity: serviceIdentity(service) };
    const verified = this.verifiedTokens.get(presented);
    if (verified) {
      const token = tokens.get(verified.tokenId);
      if (token && token.secretHash === verified.secretHash) return this.tokenState(token, now);
      this.verifiedTokens.delete(presented);
    }
    // Compared as digests in constant time: the bootstrap token may be short or low in entropy.
    if (this.bootstrapDigest && timingSafeEqual(sha256(presented), this.bootstrapDigest)) return { ok: true, identity: BOOTSTRAP_IDENTITY };

    if (looksLikeServiceCredential(presented)) {
      if (!serviceKey) {
        return fail('AUTH.UNAUTHENTICATED', 'service credentials are not accepted: FORGEONE_SERVICE_KEY is not set for the policy service', 'service key not configured');
      }
      const service = verifyServiceCredential(presented, serviceKey);
      if (service && this.verifiedServices.size < 64) this.verifiedServices.set(presented, service);
      if (!service) return fail('AUTH.UNAUTHENTICATED', 'the service credential is not valid (altered, truncated or from another platform)', 'invalid service credential');
      return { ok: true, identity: serviceIdentity(service) };
    }

    const parts = parseApiToken(presented);
    if (!parts) {
      return fail('AUTH.UNAUTHENTICATED', 'the credential is not a ForgeOne API token (fo_<id>_<secret>); it may be truncated or altered', 'malformed token');
    }
    const token = tokens.get(parts.tokenId);
    if (!token || !tokenSecretMatches(parts.secret, token.secretHash)) {
      return {
        ...fail('AUTH.UNAUTHENTICATED', `token ${parts.tokenId} is not valid: unknown id or wrong secret; ask an admin for a token`, 'invalid token'),
        tokenId: parts.tokenId,
        ...(token ? {} : { unknownTokenId: parts.tokenId }),
      };
    }
    const state = this.tokenState(token, now);
    // Only a token valid now is remembered, the oldest entry making room past the bound.
    if (state.ok) {
      if (this.verifiedTokens.size >= MAX_VERIFIED_TOKENS) this.verifiedTokens.delete(this.verifiedTokens.keys().next().value!);
      this.verifiedTokens.set(presented, { tokenId: token.tokenId, secretHash: token.secretHash });
    }
    return state;
  }

  // A genuine token as it stands now: revoked, expired or its holder's identity.
  private tokenState(token: TokenRecord, now: Date): Authentication {
    const known = { principal: token.principal, tenant: token.tenant, tokenId: token.tokenId };
    if (token.revokedAt) {
      return {
        ...fail('AUTH.TOKEN_REVOKED', `token ${token.tokenId} was revoked at ${token.revokedAt} (${token.revokedReason ?? 'no reason given'}); ask an admin for a new one`, 'token revoked'),
        ...known,
      };
    }
    if (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime()) {
      return { ...fail('AUTH.TOKEN_EXPIRED', `token ${token.tokenId} expired at ${token.expiresAt}; ask an admin for a new one`, 'token expired'), ...known };
    }
    return {
      ok: true,
      identity: {
        id: token.principal,
        type: token.principalType,
        tenant: token.tenant,
        roles: [token.role],
        tokenId: token.tokenId,
        ...(token.bootstrap ? { platformAdmin: true } : {}),
      },
    };
  }
}

function serviceIdentity(service: ServiceName): AuthenticatedIdentity {
  return { id: servicePrincipalId(service), type: 'service', tenant: PLATFORM_TENANT, roles: [], platformService: true };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function fail(code: AuthenticationFailureCode, message: string, reason: string) {
  return { ok: false as const, code, message, reason };
}
