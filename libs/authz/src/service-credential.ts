import { createHmac } from 'node:crypto';
import { SERVICES, type ServiceName } from '@forgeone/contracts';
import { constantTimeEquals } from './api-token.codec.js';

/** Every service credential starts with this. */
export const SERVICE_CREDENTIAL_PREFIX = 'fos_';

/** Shortest FORGEONE_SERVICE_KEY accepted. */
export const MIN_SERVICE_KEY_LENGTH = 32;

const SERVICE_CREDENTIAL_PATTERN = /^fos_([a-z-]+)_([A-Za-z0-9_-]{43})$/;

/** The principal id of a platform service: `service.<name>`. */
export function servicePrincipalId(service: ServiceName): string {
  return `service.${service}`;
}

/**
 * The credential a ForgeOne service presents to the others (`Authorization` header, or
 * `credential` of `authz.check`): `fos_<service>_<base64url(HMAC-SHA256(key, service))>`.
 * Every service of a platform derives it from the same FORGEONE_SERVICE_KEY.
 */
export function serviceCredential(service: ServiceName, key: string): string {
  assertServiceKey(key);
  return `${SERVICE_CREDENTIAL_PREFIX}${service}_${mac(service, key)}`;
}

/**
 * The service a credential belongs to when its MAC is right for `key`; undefined for anything
 * else (unknown service, altered or truncated credential, another platform's key).
 */
export function verifyServiceCredential(credential: string, key: string): ServiceName | undefined {
  const match = SERVICE_CREDENTIAL_PATTERN.exec(credential);
  if (!match) return undefined;
  const service = match[1] as ServiceName;
  if (!SERVICES.includes(service)) return undefined;
  return constantTimeEquals(match[2], mac(service, key)) ? service : undefined;
}

/** Whether a credential has the shape of a service credential (whatever its MAC). */
export function looksLikeServiceCredential(credential: string): boolean {
  return credential.startsWith(SERVICE_CREDENTIAL_PREFIX);
}

/**
 * FORGEONE_SERVICE_KEY from the environment: undefined when unset or empty; throws when it is
 * shorter than {@link MIN_SERVICE_KEY_LENGTH} characters. `npm start` generates one per run.
 */
export function readServiceKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env.FORGEONE_SERVICE_KEY;
  if (key === undefined || key.trim() === '') return undefined;
  assertServiceKey(key);
  return key;
}

function assertServiceKey(key: string): void {
  if (key.length < MIN_SERVICE_KEY_LENGTH) {
    throw new Error(
      `FORGEONE_SERVICE_KEY must be at least ${MIN_SERVICE_KEY_LENGTH} characters long (generate one with \`openssl rand -base64 48\`)`,
    );
  }
}

function mac(service: string, key: string): string {
  return createHmac('sha256', key).update(service, 'utf8').digest('base64url');
}

/**
 * The credential `service` presents to the policy service: FORGEONE_SERVICE_CREDENTIAL (what
 * `npm start` hands each service: its own credential and nothing from which another's could be
 * made), or else one derived from FORGEONE_SERVICE_KEY. Throws, naming the variables, when neither
 * is set or the credential is not `service`'s: without it every authorisation would be refused.
 */
export function readOwnServiceCredential(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.FORGEONE_SERVICE_CREDENTIAL?.trim();
  if (given) {
    const match = SERVICE_CREDENTIAL_PATTERN.exec(given);
    // The value is never echoed: it is a secret.
    if (!match) throw new Error(`FORGEONE_SERVICE_CREDENTIAL is not a service credential (fos_${service}_<43 characters>)`);
    if (match[1] !== service) throw new Error(`FORGEONE_SERVICE_CREDENTIAL belongs to the ${match[1]} service, not to ${service}`);
    return given;
  }
  const key = readServiceKey(env);
  if (!key) {
    throw new Error(
      `FORGEONE_SERVICE_CREDENTIAL is not set: the ${service} service proves itself to the policy service with it ` +
        '(`npm start` hands each service its own; infra/generate-env.sh writes one per service for docker compose)',
    );
  }
  return serviceCredential(service, key);
}
