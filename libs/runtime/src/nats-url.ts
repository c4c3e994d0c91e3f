import { busInboxPrefix, type Names, type ServiceName } from '@forgeone/contracts';
import { nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';

/**
 * Turns a NATS_URL (one server or a comma-separated list, optionally with `user:password@` or
 * `token@`) into connection options. The NATS client does not read credentials from the URL,
 * so they are lifted into `user`/`pass` (or `token`) here.
 */
export function natsConnectionOptions(natsUrl: string): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token'> {
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  const servers = natsUrl
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '')
    .map((server) => {
      const withScheme = server.includes('://') ? server : `nats://${server}`;
      const url = new URL(withScheme);
      if (url.username !== '') {
        if (url.password !== '') {
          user = decodeURIComponent(url.username);
          pass = decodeURIComponent(url.password);
        } else token = decodeURIComponent(url.username);
      }
      return `${url.protocol}//${url.host}`;
    });
  return { servers, ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}) };
}

/**
 * Connection options for a credential as the platform hands it to a service
 * (`FORGEONE_NATS_CREDENTIAL`): an NKey user seed (`SU…`, signs the server's nonce; nothing
 * secret goes over the wire) or `user:password`. Throws, without echoing it, when it is neither.
 */
export function natsCredentialOptions(credential: string): Pick<ConnectionOptions, 'user' | 'pass' | 'authenticator'> {
  const value = credential.trim();
  if (/^SU[A-Z2-7]{56}$/.test(value)) return { authenticator: nkeyAuthenticator(new TextEncoder().encode(value)) };
  const colon = value.indexOf(':');
  if (colon > 0 && colon < value.length - 1) return { user: value.slice(0, colon), pass: value.slice(colon + 1) };
  throw new Error('a NATS credential must be an NKey user seed (SU…, 58 characters) or user:password');
}

/**
 * How a service connects: the servers (and any credentials) of NATS_URL, its own credential from
 * FORGEONE_NATS_CREDENTIAL when set (taking precedence), and its own inbox prefix, under which
 * alone it may receive replies.
 */
export function serviceNatsConnectionOptions(
  natsUrl: string,
  service: ServiceName,
  names: Names,
  env: NodeJS.ProcessEnv = process.env,
): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'inboxPrefix'> {
  const { user, pass, token, ...base } = natsConnectionOptions(natsUrl);
  const credential = env.FORGEONE_NATS_CREDENTIAL?.trim();
  let auth: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'>;
  try {
    auth = credential ? natsCredentialOptions(credential) : { ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}) };
  } catch (error) {
    throw new Error(`FORGEONE_NATS_CREDENTIAL: ${(error as Error).message}`);
  }
  return { ...base, ...auth, inboxPrefix: busInboxPrefix(names, { kind: 'service', service }) };
}
