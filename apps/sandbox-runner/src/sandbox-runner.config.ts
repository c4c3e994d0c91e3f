import { hostname } from 'node:os';
import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';
import { parseSignaturePolicy, parseStorageQuotaSettings, type SignaturePolicy, type StorageQuotaSettings } from '@forgeone/contracts';
import type { SandboxCaps } from '@forgeone/sandbox';
import { configSecretKeyFromEnv, type ConfigSecretKeyProvider } from '@forgeone/signing';

/** What the sandbox-runner needs besides the platform configuration. */
export interface SandboxRunnerOptions {
  /** The runner's own credential, sent to the policy service with every authorisation check. */
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
  /** Names this instance's durable consumer of plugin events; unique per running runner. */
  readonly instanceId: string;
  /**
   * The runner's identity in call windows (FORGEONE_RUNNER_ID, else the host name): stable across
   * restarts, so a replaced runner continues its predecessor's window numbering.
   */
  readonly runnerId: string;
  /** How long a call window stays open after its first call (FORGEONE_CALL_WINDOW_MS, 100..10000, default 10000). */
  readonly callWindowMs: number;
  /** How long a tenant's call-recording settings are used before they are read again (FORGEONE_CALL_RECORDING_REFRESH_MS, default 2000). */
  readonly callRecordingRefreshMs: number;
  /** Environment caps on every manifest limit. */
  readonly caps?: Partial<SandboxCaps>;
  /** First-start signature mode and threshold per environment (FORGEONE_SIGNATURE_POLICY), for environments never set through the platform. */
  readonly signaturePolicy: SignaturePolicy;
  /** The key configuration secrets are opened with (FORGEONE_CONFIG_SECRET_KEY); without it a plugin reads secrets as unset. */
  readonly configSecretKey: ConfigSecretKeyProvider;
  /** Plugin storage quotas: the default and cap per plugin and environment, and each tenant's total (FORGEONE_STORAGE_*). */
  readonly storageQuota: StorageQuotaSettings;
  /**
   * How long the runner may take at start to read the plugin events already in the stream before it takes calls
   * (FORGEONE_RUNNER_CATCH_UP_TIMEOUT_MS, default 60000); past it the runner does not start.
   */
  readonly catchUpTimeoutMs: number;
}

/**
 * Reads FORGEONE_SERVICE_CREDENTIAL (required), FORGEONE_RUNNER_ID (default: host name and process id
 * for the consumer, the host name for call windows), FORGEONE_CALL_WINDOW_MS,
 * FORGEONE_SANDBOX_MAX_MEMORY_MIB / _MAX_FUEL / _MAX_TIMEOUT_MS (environment caps) and
 * FORGEONE_SIGNATURE_POLICY, FORGEONE_STORAGE_* (storage quotas) and FORGEONE_RUNNER_CATCH_UP_TIMEOUT_MS. Throws a
 * message naming the variable to fix.
 */
export function sandboxRunnerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxRunnerOptions {
  const credential = readOwnServiceCredential('sandbox-runner', env);
  const caps: { -readonly [K in keyof SandboxCaps]?: number } = {};
  const number = (name: string, min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer of at least ${min}, got "${raw}"`);
    return value;
  };
  const memory = number('FORGEONE_SANDBOX_MAX_MEMORY_MIB', 1);
  const fuel = number('FORGEONE_SANDBOX_MAX_FUEL', 1000);
  const timeout = number('FORGEONE_SANDBOX_MAX_TIMEOUT_MS', 1);
  if (memory !== undefined) caps.memoryMiB = memory;
  if (fuel !== undefined) caps.fuel = fuel;
  if (timeout !== undefined) caps.timeoutMs = timeout;
  const instanceId = runnerToken(env.FORGEONE_RUNNER_ID ?? `${hostname()}-${process.pid}`);
  const runnerId = runnerToken(env.FORGEONE_RUNNER_ID ?? hostname());
  const windowMs = env.FORGEONE_CALL_WINDOW_MS === undefined || env.FORGEONE_CALL_WINDOW_MS === '' ? 10_000 : Number(env.FORGEONE_CALL_WINDOW_MS);
  if (!Number.isInteger(windowMs) || windowMs < 100 || windowMs > 10_000) {
    throw new Error(`FORGEONE_CALL_WINDOW_MS must be an integer from 100 to 10000 (milliseconds), got "${env.FORGEONE_CALL_WINDOW_MS}"`);
  }
  return {
    serviceCredential: () => credential,
    authz: authzClientSettingsFromEnv(env),
    instanceId,
    runnerId,
    callWindowMs: windowMs,
    callRecordingRefreshMs: number('FORGEONE_CALL_RECORDING_REFRESH_MS', 0) ?? 2_000,
    caps,
    signaturePolicy: parseSignaturePolicy(env.FORGEONE_SIGNATURE_POLICY),
    storageQuota: parseStorageQuotaSettings(env),
    configSecretKey: configSecretKeyFromEnv(env),
    catchUpTimeoutMs: number('FORGEONE_RUNNER_CATCH_UP_TIMEOUT_MS', 1) ?? 60_000,
  };
}

// One subject-, key- and consumer-safe token: lowercase letters, digits, "_" and "-", starting with a letter or digit.
function runnerToken(raw: string): string {
  const token = raw.toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  if (token === '') throw new Error(`FORGEONE_RUNNER_ID must hold at least one letter or digit, got "${raw}"`);
  return token;
}
