import { ForgeOneError, MAX_CREDENTIAL_LENGTH } from '@forgeone/contracts';

const HOW_TO_GET_A_TOKEN =
  'send an API token as "Authorization: Bearer <token>" (the CLI sends FORGEONE_TOKEN). ' +
  'An administrator issues tokens with `forgeone token create --principal <id> --role <role>`; the first administrator uses the platform\'s FORGEONE_BOOTSTRAP_TOKEN';

// Every /v1 route needs an API token: refuse a request without one before anything is asked
// or sent, with a message that says how to get one. Returns the header as sent.
export function requireCredential(authorization: string | undefined): string {
  const value = authorization?.trim();
  if (!value) throw new ForgeOneError('AUTH.UNAUTHENTICATED', `no API token was sent: ${HOW_TO_GET_A_TOKEN}`);
  const match = /^bearer(?:\s+(.*))?$/i.exec(value);
  // The header is never echoed: it may be a secret sent the wrong way.
  if (!match) throw new ForgeOneError('AUTH.UNAUTHENTICATED', `the Authorization header is not of the form "Bearer <token>": ${HOW_TO_GET_A_TOKEN}`);
  const token = match[1]?.trim();
  if (!token) throw new ForgeOneError('AUTH.UNAUTHENTICATED', `the Authorization header holds "Bearer" but no token: ${HOW_TO_GET_A_TOKEN}`);
  if (token.length > MAX_CREDENTIAL_LENGTH) {
    throw new ForgeOneError('AUTH.UNAUTHENTICATED', `the token is ${token.length} characters long, more than the ${MAX_CREDENTIAL_LENGTH} any ForgeOne credential has: ${HOW_TO_GET_A_TOKEN}`, {
      maxLength: MAX_CREDENTIAL_LENGTH,
    });
  }
  return value;
}
