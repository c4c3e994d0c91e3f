import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';
import { configSecretKeyFromEnv, type ConfigSecretKeyProvider } from '@forgeone/signing';
import { parseReviewSettings, parseSignaturePolicy, parseStorageQuotaSettings, type ReviewSettings, type SignaturePolicy, type StorageQuotaSettings } from '@forgeone/contracts';

/** What the registry needs besides the platform configuration. */
export interface RegistryOptions {
  /** The registry's own credential, sent to the policy service with every authorisation check. */
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
  /** Signature mode and threshold per environment, from FORGEONE_SIGNATURE_POLICY over the defaults. */
  readonly signaturePolicy: SignaturePolicy;
  /** Plugin storage quota settings (FORGEONE_STORAGE_*); publish refuses a manifest asking above the cap. */
  readonly storageQuota: StorageQuotaSettings;
  /** The configuration key (FORGEONE_CONFIG_SECRET_KEY) secrets are sealed with; without it secrets are refused. */
  readonly configSecretKey: ConfigSecretKeyProvider;
  /** Review interval, grace period, environments and the upgrade block (FORGEONE_REVIEW_*). */
  readonly reviewSettings: ReviewSettings;
}

/**
 * Reads FORGEONE_SERVICE_CREDENTIAL (required: without it policy cannot tell the registry from any other
 * client, so every command would be refused), the FORGEONE_AUTHZ_* tunables and
 * FORGEONE_SIGNATURE_POLICY (first-start environment defaults), FORGEONE_STORAGE_*, FORGEONE_CONFIG_SECRET_KEY and FORGEONE_REVIEW_*. Throws a message naming the variable to fix.
 */
export function registryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryOptions {
  const credential = readOwnServiceCredential('registry', env);
  // A policy that does not parse stops the registry: guessing a mode could let unsigned code through.
  const signaturePolicy = parseSignaturePolicy(env.FORGEONE_SIGNATURE_POLICY);
  return {
    serviceCredential: () => credential,
    authz: authzClientSettingsFromEnv(env),
    signaturePolicy,
    storageQuota: parseStorageQuotaSettings(env),
    configSecretKey: configSecretKeyFromEnv(env),
    reviewSettings: parseReviewSettings(env),
  };
}
