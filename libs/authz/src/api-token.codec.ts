import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every API token starts with this. */
export const API_TOKEN_PREFIX = 'fo_';

// fo_<16 lowercase hex: token id>_<43 base64url chars: 32 random bytes>
const API_TOKEN_PATTERN = /^fo_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ApiTokenParts {
  /** Public id: names the token in events, lists and revocations. */
  readonly tokenId: string;
  /** The secret half; only its sha256 is ever stored. */
  readonly secret: string;
}

export interface IssuedApiToken extends ApiTokenParts {
  /** The whole token, shown once to whoever asked for it. */
  readonly token: string;
  /** sha256 (hex) of the secret: what the `token_issued` event stores. */
  readonly secretHash: string;
}

/** A new random token: 8 random bytes of id, 32 random bytes of secret. */
export function generateApiToken(): IssuedApiToken {
  const tokenId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { tokenId, secret, token: `${API_TOKEN_PREFIX}${tokenId}_${secret}`, secretHash: hashTokenSecret(secret) };
}

/** Splits a token into id and secret; undefined when it is not a well-formed token (truncated, altered, another kind). */
export function parseApiToken(token: string): ApiTokenParts | undefined {
  const match = API_TOKEN_PATTERN.exec(token);
  return match ? { tokenId: match[1], secret: match[2] } : undefined;
}

/** sha256 (hex) of a token secret. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `expectedHash`, compared in constant time. */
export function tokenSecretMatches(secret: string, expectedHash: string): boolean {
  const expected = Buffer.from(expectedHash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether two strings are equal, compared in constant time over their sha256 (lengths may differ). */
export function constantTimeEquals(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
