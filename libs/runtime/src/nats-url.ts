import type { ConnectionOptions } from '@nats-io/transport-node';

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
