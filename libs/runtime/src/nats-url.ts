import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { busInboxPrefix, type Names, type ServiceName } from '@forgeone/contracts';
import { nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';

/** How to reach NATS besides its URL: the CA that signs the servers' certificates (FORGEONE_NATS_CA_FILE). */
export interface NatsTlsSettings {
  /** PEM file of the CA (or CAs) trusted for the servers' certificates; set, the client refuses a server without TLS. */
  readonly caFile?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks a CA file for NATS TLS: every PEM certificate in it must parse. Returns the PEM text.
 * Throws an error naming the file (never its content) when it is missing, unreadable or holds no certificate.
 */
export function readNatsCaFile(caFile: string): string {
  const path = resolve(caFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; give the PEM file of the CA that signed the NATS servers' certificates`);
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) throw new Error(`${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA that signed the NATS servers' certificates`);
  for (const [i, pem] of certificates.entries()) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new Error(`${path}: certificate ${i + 1} does not parse (${(error as Error).message})`);
    }
  }
  return certificates.join('\n');
}

/**
 * The `tls` connection option for {@link NatsTlsSettings}: with a CA file, TLS is required (nats.js
 * refuses a server that does not offer it) and the servers' certificates are checked against that CA
 * alone; without one, nothing (a server that requires TLS is then checked against the system CAs).
 */
export function natsTlsOptions(settings: NatsTlsSettings = {}): Pick<ConnectionOptions, 'tls'> {
  return settings.caFile ? { tls: { ca: readNatsCaFile(settings.caFile) } } : {};
}

/**
 * What to add to a failed connection's message: a certificate the client could not check, with no CA
 * given, most often means a server with a private CA (a cluster from infra/cluster).
 */
export function natsTlsHint(error: unknown, tls: NatsTlsSettings = {}): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!/certificate/i.test(message)) return '';
  return tls.caFile
    ? `; the server's certificate does not chain to FORGEONE_NATS_CA_FILE ${tls.caFile}, or does not name the host in NATS_URL`
    : "; set FORGEONE_NATS_CA_FILE to the CA that signed the NATS servers' certificates";
}

/**
 * Turns a NATS_URL (one server or a comma-separated list, optionally with `user:password@` or
 * `token@`) into connection options. The NATS client does not read credentials from the URL,
 * so they are lifted into `user`/`pass` (or `token`) here. `tls` adds the CA ({@link natsTlsOptions}).
 */
export function natsConnectionOptions(natsUrl: string, tls: NatsTlsSettings = {}): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'tls'> {
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
  return { servers, ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}), ...natsTlsOptions(tls) };
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
 * FORGEONE_NATS_CREDENTIAL when set (taking precedence), the CA of FORGEONE_NATS_CA_FILE when set,
 * and its own inbox prefix, under which alone it may receive replies.
 */
export function serviceNatsConnectionOptions(
  natsUrl: string,
  service: ServiceName,
  names: Names,
  env: NodeJS.ProcessEnv = process.env,
): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'inboxPrefix' | 'tls'> {
  const caFile = env.FORGEONE_NATS_CA_FILE?.trim();
  let base: Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'tls'>;
  try {
    base = natsConnectionOptions(natsUrl, caFile ? { caFile } : {});
  } catch (error) {
    throw new Error(`FORGEONE_NATS_CA_FILE: ${(error as Error).message}`);
  }
  const { user, pass, token, ...rest } = base;
  const credential = env.FORGEONE_NATS_CREDENTIAL?.trim();
  let auth: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'>;
  try {
    auth = credential ? natsCredentialOptions(credential) : { ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}) };
  } catch (error) {
    throw new Error(`FORGEONE_NATS_CREDENTIAL: ${(error as Error).message}`);
  }
  return { ...rest, ...auth, inboxPrefix: busInboxPrefix(names, { kind: 'service', service }) };
}
