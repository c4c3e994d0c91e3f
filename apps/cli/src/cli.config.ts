import { UsageError } from './cli.errors.js';
import { isProfileName, profilesPath, readProfiles } from './profile.store.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface CliConfig {
  /** Gateway base URL without a trailing slash. */
  readonly apiUrl: string;
  /** API token; secret, so it never appears in output or error messages. */
  readonly token?: string;
  /** The profile the values came from, when one was used. */
  readonly profile?: string;
  /** The audit key fingerprint the profile pins (`forgeone audit key --pin`). */
  readonly auditKeyId?: string;
}

/** Checks a gateway URL as given in FORGEONE_API, a profile or `login --api`; `source` names where it came from. */
export function parseApiUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be the gateway's http(s) URL, such as ${DEFAULT_API_URL}; got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http:// or https:// URL, such as ${DEFAULT_API_URL}; got "${raw}"`);
  }
  if (url.username || url.password) {
    throw new UsageError(`${source} must not hold credentials; keep the API token in FORGEONE_TOKEN or a profile (forgeone login)`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The API and token to use: FORGEONE_API and FORGEONE_TOKEN win, each on its own; what they leave
 * open comes from the profile named by `--profile`, else FORGEONE_PROFILE, else the current one
 * (`forgeone profile use`). A profile named but not stored is a usage error.
 */
export async function resolveCliConfig(env: Readonly<Record<string, string | undefined>>, profileOption: string | undefined): Promise<CliConfig> {
  const named = profileOption ?? (env['FORGEONE_PROFILE']?.trim() || undefined);
  const source = profileOption !== undefined ? '--profile' : 'FORGEONE_PROFILE';
  if (named !== undefined && !isProfileName(named)) throw new UsageError(`${source} "${named}" is not a profile name: use letters, digits, ".", "_" and "-"`);
  const file = await readProfiles(env);
  const name = named ?? file.current;
  const profile = name === undefined ? undefined : file.profiles[name];
  if (named !== undefined && profile === undefined) {
    const known = Object.keys(file.profiles);
    throw new UsageError(
      `${source} names profile "${named}", which does not exist in ${profilesPath(env)}; ${known.length ? `known profiles: ${known.join(', ')}` : 'there are none yet'} (create it with forgeone login --api <url> --profile ${named})`,
    );
  }
  const envApi = env['FORGEONE_API']?.trim();
  const envToken = env['FORGEONE_TOKEN']?.trim();
  const apiUrl = envApi ? parseApiUrl(envApi, 'FORGEONE_API') : profile ? parseApiUrl(profile.api, `the API of profile "${name}"`) : DEFAULT_API_URL;
  const token = envToken || profile?.token;
  return { apiUrl, ...(token ? { token } : {}), ...(profile && name ? { profile: name } : {}), ...(profile?.auditKeyId ? { auditKeyId: profile.auditKeyId } : {}) };
}
