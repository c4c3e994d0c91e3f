import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';
import { configSecretKeyFromEnv, type ConfigSecretKeyProvider } from '@forgeone/signing';
import { DEFAULT_PROMOTION_SETTINGS, type PromotionSettings } from '@forgeone/registry-domain';
import {
  parseAllowedPrivateCidrs,
  parseReviewSettings,
  parseSignaturePolicy,
  parseStorageQuotaSettings,
  parseTestRunSettings,
  type ReviewSettings,
  type SignaturePolicy,
  type StorageQuotaSettings,
  type TestRunSettings,
} from '@forgeone/contracts';

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
  /** How old a test run a promotion accepts, and the failure rate of calls in the source above which it is refused. */
  readonly promotion: PromotionSettings;
  /** FORGEONE_TEST_REGRESSION_FACTOR and FORGEONE_TEST_ON_INSTALL: how test runs are judged and when installs start one. */
  readonly testRuns: TestRunSettings;
  /** Review interval, grace period, environments and the upgrade block (FORGEONE_REVIEW_*). */
  readonly reviewSettings: ReviewSettings;
  /** Blocks of the refused address ranges tenant SIEM sinks may send to (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE); none by default. */
  readonly siemTenantAllowPrivate: readonly string[];
}

/**
 * Reads FORGEONE_SERVICE_CREDENTIAL (required: without it policy cannot tell the registry from any other
 * client, so every command would be refused), the FORGEONE_AUTHZ_* tunables and
 * FORGEONE_SIGNATURE_POLICY (first-start environment defaults), FORGEONE_STORAGE_*, FORGEONE_CONFIG_SECRET_KEY, FORGEONE_PROMOTION_*, FORGEONE_TEST_*, FORGEONE_REVIEW_* and FORGEONE_SIEM_TENANT_ALLOW_PRIVATE. Throws a message naming the variable to fix.
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
    promotion: promotionSettingsFromEnv(env),
    testRuns: parseTestRunSettings(env),
    reviewSettings: parseReviewSettings(env),
    siemTenantAllowPrivate: parseAllowedPrivateCidrs(env.FORGEONE_SIEM_TENANT_ALLOW_PRIVATE),
  };
}

/**
 * FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S (whole seconds, default 7 days) and FORGEONE_PROMOTION_MAX_FAILURE_RATE
 * (0 to 1, default 0.05). A value that does not parse stops the registry rather than judge promotions by a guess.
 */
export function promotionSettingsFromEnv(env: NodeJS.ProcessEnv): PromotionSettings {
  const maxAge = env.FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S?.trim();
  const rate = env.FORGEONE_PROMOTION_MAX_FAILURE_RATE?.trim();
  const testRunMaxAgeSeconds = maxAge ? Number(maxAge) : DEFAULT_PROMOTION_SETTINGS.testRunMaxAgeSeconds;
  const maxFailureRate = rate ? Number(rate) : DEFAULT_PROMOTION_SETTINGS.maxFailureRate;
  if (!Number.isInteger(testRunMaxAgeSeconds) || testRunMaxAgeSeconds < 1) {
    throw new Error(`FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S must be a whole number of seconds of at least 1 (got "${maxAge}")`);
  }
  if (!Number.isFinite(maxFailureRate) || maxFailureRate < 0 || maxFailureRate > 1) {
    throw new Error(`FORGEONE_PROMOTION_MAX_FAILURE_RATE must be a number from 0 to 1 (got "${rate}")`);
  }
  return { testRunMaxAgeSeconds, maxFailureRate };
}
