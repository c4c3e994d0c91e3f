import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertValidClientName, SERVICES, type ServiceName } from '@forgeone/contracts';
import { nkeys } from '@nats-io/transport-node';
import { z } from 'zod';
import { readSecretJson } from './secret-file.js';

/**
 * The NKey credentials of a platform whose nats-server `npm start` runs: one seed per service and
 * for the operator (kept so that every start hands each service the same identity), and only the
 * public key of each automation client (its seed is shown once when it is created). The file lives
 * in the data folder with mode 0600; nats-server's configuration holds public keys only.
 */
export interface NatsCredentials {
  readonly operator: string;
  readonly services: Readonly<Record<ServiceName, string>>;
  readonly clients: Readonly<Record<string, NatsClientRecord>>;
}

/** An automation client: its NKey public key and when it was created. */
export interface NatsClientRecord {
  readonly publicKey: string;
  readonly createdAt: string;
}

const Seed = z.string().regex(/^SU[A-Z2-7]{56}$/, 'must be a NATS user NKey seed (SU…)');
const FileSchema = z
  .object({
    version: z.literal(1),
    operator: Seed,
    services: z.record(z.string(), Seed),
    clients: z.record(z.string(), z.object({ publicKey: z.string().regex(/^U[A-Z2-7]{55}$/), createdAt: z.string() }).strict()),
  })
  .strict();

/** Where the credentials of a data folder live. */
export function natsCredentialsPath(dataDir: string): string {
  return join(dataDir, 'secrets', 'nats-credentials.json');
}

function newUserSeed(): string {
  return new TextDecoder().decode(nkeys.createUser().getSeed());
}

/** The public key (U…) of a user seed. */
export function natsPublicKey(seed: string): string {
  return nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
}

async function readCredentials(path: string): Promise<NatsCredentials | undefined> {
  const parsed = await readSecretJson(path, FileSchema, "the platform's NATS credentials", 'restore it from a backup or remove it to issue new NATS credentials');
  if (!parsed) return undefined;
  const { operator, services, clients } = parsed;
  return { operator, services: services as Record<ServiceName, string>, clients };
}

async function writeCredentials(path: string, credentials: NatsCredentials): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // Written beside and renamed over, so a crash never leaves half a file (and the platform without credentials).
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ version: 1, ...credentials }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

/**
 * Reads the data folder's NATS credentials, creating what is missing (the first start, or a
 * service added since): existing seeds are never replaced, so identities are stable across restarts.
 */
export async function loadOrCreateNatsCredentials(dataDir: string): Promise<NatsCredentials> {
  const path = natsCredentialsPath(dataDir);
  const existing = await readCredentials(path);
  const services = { ...(existing?.services ?? {}) } as Record<ServiceName, string>;
  let changed = !existing;
  for (const service of SERVICES) {
    if (!services[service]) {
      services[service] = newUserSeed();
      changed = true;
    }
  }
  const credentials: NatsCredentials = { operator: existing?.operator ?? newUserSeed(), services, clients: existing?.clients ?? {} };
  if (changed) await writeCredentials(path, credentials);
  else await chmod(path, 0o600);
  return credentials;
}

/** Adds an automation client; returns its seed, which is stored nowhere (show it once). */
export async function createNatsClient(dataDir: string, name: string, now = new Date()): Promise<{ seed: string; publicKey: string }> {
  assertValidClientName(name);
  const credentials = await loadOrCreateNatsCredentials(dataDir);
  if (Object.hasOwn(credentials.clients, name)) {
    throw new Error(`a NATS client named "${name}" exists already; revoke it first (forgeone admin nats-client revoke ${name}) or pick another name`);
  }
  const seed = newUserSeed();
  const publicKey = natsPublicKey(seed);
  await writeCredentials(natsCredentialsPath(dataDir), {
    ...credentials,
    clients: { ...credentials.clients, [name]: { publicKey, createdAt: now.toISOString() } },
  });
  return { seed, publicKey };
}

/** Removes an automation client; throws when there is none of that name. */
export async function revokeNatsClient(dataDir: string, name: string): Promise<void> {
  const credentials = await loadOrCreateNatsCredentials(dataDir);
  if (!Object.hasOwn(credentials.clients, name)) throw new Error(`there is no NATS client named "${name}" (forgeone admin nats-client list shows them)`);
  const clients = { ...credentials.clients };
  delete clients[name];
  await writeCredentials(natsCredentialsPath(dataDir), { ...credentials, clients });
}
