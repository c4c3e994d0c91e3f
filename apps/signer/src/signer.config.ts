import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';

/** What the signer needs besides the platform configuration. */
export interface SignerOptions {
  /** The signer's own credential, sent to the policy service with every authorisation check. */
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
}

/** Reads FORGEONE_SERVICE_CREDENTIAL (required: without it every command would be refused) and the FORGEONE_AUTHZ_* tunables. */
export function signerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SignerOptions {
  const credential = readOwnServiceCredential('signer', env);
  return { serviceCredential: () => credential, authz: authzClientSettingsFromEnv(env) };
}
