import { readServiceKey, serviceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';

/** What the signer needs besides the platform configuration. */
export interface SignerOptions {
  /** The signer's own credential, sent to the policy service with every authorisation check. */
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
}

/** Reads FORGEONE_SERVICE_KEY (required: without it every command would be refused) and the FORGEONE_AUTHZ_* tunables. */
export function signerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SignerOptions {
  const key = readServiceKey(env);
  if (!key) {
    throw new Error(
      'FORGEONE_SERVICE_KEY is not set: the signer proves itself to the policy service with a credential derived from it. ' +
        'Give the signer the same FORGEONE_SERVICE_KEY as the policy service (`npm start` generates one; otherwise `openssl rand -base64 48`)',
    );
  }
  const credential = serviceCredential('signer', key);
  return { serviceCredential: () => credential, authz: authzClientSettingsFromEnv(env) };
}
