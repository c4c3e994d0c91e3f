/** Tunables of an {@link AuthzClient} that come from the environment. */
export interface AuthzClientSettings {
  /** Deadline of one authorisation, in ms (FORGEONE_AUTHZ_TIMEOUT_MS, default 2000). */
  readonly timeoutMs: number;
  /** How long a decision is reused, in ms; 0 disables the cache (FORGEONE_AUTHZ_CACHE_TTL_MS, default 5000). */
  readonly cacheTtlMs: number;
}

export const DEFAULT_AUTHZ_TIMEOUT_MS = 2_000;
export const DEFAULT_AUTHZ_CACHE_TTL_MS = 5_000;

/**
 * Reads FORGEONE_AUTHZ_TIMEOUT_MS and FORGEONE_AUTHZ_CACHE_TTL_MS. A value that is not a whole
 * number of milliseconds is refused with a message naming the variable, so a typo cannot
 * silently turn the cache off or the deadline into infinity.
 */
export function authzClientSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthzClientSettings {
  const problems: string[] = [];
  const read = (variable: string, fallback: number, min: number): number => {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
      problems.push(`${variable} must be a whole number of milliseconds${min > 0 ? ` of at least ${min}` : ' (0 turns the cache off)'}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  const settings = {
    timeoutMs: read('FORGEONE_AUTHZ_TIMEOUT_MS', DEFAULT_AUTHZ_TIMEOUT_MS, 1),
    cacheTtlMs: read('FORGEONE_AUTHZ_CACHE_TTL_MS', DEFAULT_AUTHZ_CACHE_TTL_MS, 0),
  };
  if (problems.length > 0) throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  return settings;
}
