import { authenticationFailureSettingsFromEnv, readOwnServiceCredential, type AuthenticationFailureSettings } from '@forgeone/authz';
import { authzClientSettingsFromEnv, type AuthzClientSettings } from '@forgeone/authz-client';
import type { ServiceName } from '@forgeone/contracts';
import type { PlatformConfig } from '@forgeone/runtime';
import ipaddr from 'ipaddr.js';

// Name of the projector whose checkpoint tells when a command's event is visible in the read models.
export const AUDIT_PROJECTOR = 'audit-projector';

// Largest JSON body the API accepts: a publish carries the module in base64.
export const JSON_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

// Services /readyz asks, besides the gateway itself.
export const READINESS_SERVICES: readonly ServiceName[] = ['registry', 'audit-projector', 'signer', 'sandbox-runner', 'policy'];

export interface GatewaySettings {
  // How long a command waits for its event to reach the projections before answering `projected: false`.
  readonly readYourWritesTimeoutMs: number;
  // How often the projector checkpoint is read while waiting.
  readonly readYourWritesIntervalMs: number;
  // How long a bus command may take; publish carries megabytes and gets more.
  readonly commandTimeoutMs: number;
  readonly publishTimeoutMs: number;
  // Per service, for /readyz.
  readonly healthTimeoutMs: number;
}

export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = {
  readYourWritesTimeoutMs: 5_000,
  readYourWritesIntervalMs: 25,
  commandTimeoutMs: 10_000,
  publishTimeoutMs: 30_000,
  healthTimeoutMs: 2_000,
};

// Injection token of the GatewaySettings.
export const GATEWAY_SETTINGS = Symbol.for('forgeone.gateway.settings');
// Injection token of the gateway's pino logger.
export const GATEWAY_LOGGER = Symbol.for('forgeone.gateway.logger');
/** Injection token of the checks of the gateway's own NATS (security probe) for its readiness. */
export const GATEWAY_PLATFORM_CHECKS = Symbol.for('forgeone.gateway.platform-checks');
/** Injection token of the EventAuthorship (pinned writer keys, no signing key) `audit verify` checks stream messages with. */
export const GATEWAY_EVENT_AUTHORSHIP = Symbol.for('forgeone.gateway.event-authorship');

// The gateway answers queries from the projections, so it cannot run without their database.
export function requireDatabaseUrl(config: PlatformConfig): string {
  if (!config.databaseUrl) {
    throw new Error(
      'DATABASE_URL is not set: the gateway reads plugins and the audit log from the projections in Postgres; set it to the database the audit-projector writes (npm start sets it)',
    );
  }
  return config.databaseUrl;
}

export function requireNatsUrl(config: PlatformConfig): string {
  if (!config.natsUrl) throw new Error('NATS_URL is not set: the gateway sends every command over the NATS server of its platform (npm start sets it)');
  return config.natsUrl;
}

export interface GatewayAuthOptions {
  // The gateway's own credential, sent with every authz.check it makes.
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
  // FORGEONE_AUTH_FAILURE_LIMIT and FORGEONE_AUTH_FAILURE_WINDOW_S: when a client gets 429 (default 20 failures a minute).
  readonly failures?: Pick<AuthenticationFailureSettings, 'limitPerSource' | 'windowMs'>;
  // FORGEONE_TRUSTED_PROXIES: proxies whose X-Forwarded-For names the client (default none: the peer address is the client).
  readonly trustedProxies?: readonly string[];
}

// Express's names for address blocks, accepted in FORGEONE_TRUSTED_PROXIES besides addresses and CIDRs.
const PROXY_KEYWORDS = ['loopback', 'linklocal', 'uniquelocal'];

// FORGEONE_TRUSTED_PROXIES: comma-separated addresses, CIDR blocks or Express's keywords; refused, naming
// the entry, when one is neither (a typo must not make the gateway believe every X-Forwarded-For).
export function parseTrustedProxies(value: string | undefined): string[] {
  const entries = (value ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) {
    const valid = PROXY_KEYWORDS.includes(entry) || ipaddr.isValid(entry) || (entry.includes('/') && isCidr(entry));
    if (!valid) {
      throw new Error(`Invalid configuration: FORGEONE_TRUSTED_PROXIES entry "${entry}" is not an IP address, a CIDR block or one of ${PROXY_KEYWORDS.join(', ')}`);
    }
  }
  return entries;
}

function isCidr(entry: string): boolean {
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

// FORGEONE_SERVICE_CREDENTIAL is required: without it policy cannot tell the gateway from any other
// client, so every query would be refused. FORGEONE_AUTHZ_* tune the decision cache and deadline.
export function gatewayAuthFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayAuthOptions {
  const credential = readOwnServiceCredential('gateway', env);
  return {
    serviceCredential: () => credential,
    authz: authzClientSettingsFromEnv(env),
    failures: authenticationFailureSettingsFromEnv(env),
    trustedProxies: parseTrustedProxies(env.FORGEONE_TRUSTED_PROXIES),
  };
}
