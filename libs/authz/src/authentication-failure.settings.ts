/** How failed authentications are recorded (policy service) and limited (gateway). */
export interface AuthenticationFailureSettings {
  /** One counting window in ms (FORGEONE_AUTH_FAILURE_WINDOW_S, default 60 s). */
  readonly windowMs: number;
  /** Failures per source and window recorded one by one; the rest are counted (FORGEONE_AUTH_FAILURES_RECORDED, default 5). */
  readonly recordedPerSource: number;
  /** Failures per client address and window after which the gateway answers 429 (FORGEONE_AUTH_FAILURE_LIMIT, default 20). */
  readonly limitPerSource: number;
}

export const DEFAULT_AUTHENTICATION_FAILURE_SETTINGS: AuthenticationFailureSettings = { windowMs: 60_000, recordedPerSource: 5, limitPerSource: 20 };

/**
 * Reads FORGEONE_AUTH_FAILURE_WINDOW_S (1–3600), FORGEONE_AUTH_FAILURES_RECORDED (1–1000) and
 * FORGEONE_AUTH_FAILURE_LIMIT (1–100000); a value that is not a whole number in range is refused
 * with a message naming the variable, so a typo cannot turn the bounds off.
 */
export function authenticationFailureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthenticationFailureSettings {
  const problems: string[] = [];
  const read = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${variable} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const defaults = DEFAULT_AUTHENTICATION_FAILURE_SETTINGS;
  const settings = {
    windowMs: read('FORGEONE_AUTH_FAILURE_WINDOW_S', defaults.windowMs / 1000, 1, 3600) * 1000,
    recordedPerSource: read('FORGEONE_AUTH_FAILURES_RECORDED', defaults.recordedPerSource, 1, 1000),
    limitPerSource: read('FORGEONE_AUTH_FAILURE_LIMIT', defaults.limitPerSource, 1, 100_000),
  };
  if (problems.length > 0) throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  return settings;
}
