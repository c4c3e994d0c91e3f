import { UsageError } from './cli.errors.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface CliConfig {
  /** Gateway base URL without a trailing slash. */
  readonly apiUrl: string;
  /** API token; secret, so it never appears in output or error messages. */
  readonly token?: string;
}

/** Reads FORGEONE_API and FORGEONE_TOKEN (DESIGN §10). */
export function readCliConfig(env: Readonly<Record<string, string | undefined>>): CliConfig {
  const raw = env['FORGEONE_API']?.trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`FORGEONE_API must be the gateway's http(s) URL, such as ${DEFAULT_API_URL}; got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`FORGEONE_API must be an http:// or https:// URL, such as ${DEFAULT_API_URL}; got "${raw}"`);
  }
  if (url.username || url.password) {
    throw new UsageError('FORGEONE_API must not hold credentials; put the API token in FORGEONE_TOKEN');
  }
  const token = env['FORGEONE_TOKEN']?.trim();
  return { apiUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, ...(token ? { token } : {}) };
}
