import { authenticationFailureSettingsFromEnv, parseApiToken, readServiceKey, type AuthenticationFailureSettings } from '@forgeone/authz';

/** Which allow decisions become `decision_recorded` events; denials always do. */
export type RecordAllows = { readonly mode: 'all' } | { readonly mode: 'none' } | { readonly mode: 'sample'; readonly fraction: number };

export interface PolicyServiceOptions {
  /** FORGEONE_BOOTSTRAP_TOKEN: authenticates the bootstrap administrator; never stored in an event. */
  readonly bootstrapToken?: string;
  /** FORGEONE_SERVICE_KEY: verifies the other services' credentials. */
  readonly serviceKey?: string;
  /** FORGEONE_AUTHZ_RECORD_ALLOWS (default all). */
  readonly recordAllows: RecordAllows;
  /** FORGEONE_AUTH_FAILURE_WINDOW_S and FORGEONE_AUTH_FAILURES_RECORDED: how failed authentications are recorded. */
  readonly authenticationFailures: AuthenticationFailureSettings;
  /** Shows the bootstrap token generated on first start, once (default: a plain line on stdout, never the log). */
  readonly announce?: (line: string) => void;
  /**
   * FORGEONE_WATCHER_TOKEN: the plugins/ directory watcher's token, made by `npm start` in its data folder;
   * issued once (role watcher, tenant default) unless a token of that id exists. Random, so its hash may be stored.
   */
  readonly watcherToken?: string;
}

/**
 * Parses FORGEONE_AUTHZ_RECORD_ALLOWS: `all` (default), `none`, or a fraction between 0 and 1
 * of allow decisions to record, chosen at random.
 */
export function parseRecordAllows(value: string | undefined): RecordAllows {
  const text = value?.trim().toLowerCase();
  if (!text || text === 'all') return { mode: 'all' };
  if (text === 'none') return { mode: 'none' };
  const fraction = Number(text);
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(text) || !(fraction >= 0 && fraction <= 1)) {
    throw new Error(`FORGEONE_AUTHZ_RECORD_ALLOWS must be "all", "none" or a fraction between 0 and 1 such as 0.1 (got "${value}")`);
  }
  if (fraction === 0) return { mode: 'none' };
  if (fraction === 1) return { mode: 'all' };
  return { mode: 'sample', fraction };
}

/** The policy service's options from its environment (the bootstrap token comes validated from the platform config). */
export function policyOptionsFromEnv(env: NodeJS.ProcessEnv, bootstrapToken: string | undefined): PolicyServiceOptions {
  const serviceKey = readServiceKey(env);
  const watcherToken = env.FORGEONE_WATCHER_TOKEN?.trim();
  if (watcherToken && !parseApiToken(watcherToken)) throw new Error('FORGEONE_WATCHER_TOKEN must be an API token (fo_<16 hex>_<43 base64url characters>); npm start makes one in <data dir>/secrets/watcher-token.json');
  return {
    ...(bootstrapToken ? { bootstrapToken } : {}),
    ...(watcherToken ? { watcherToken } : {}),
    ...(serviceKey ? { serviceKey } : {}),
    recordAllows: parseRecordAllows(env.FORGEONE_AUTHZ_RECORD_ALLOWS),
    authenticationFailures: authenticationFailureSettingsFromEnv(env),
  };
}
