import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENT_AUTHORSHIP_ENV, type Names, type ServiceName } from '@forgeone/contracts';
import { EventAuthorship, eventWriters, generateEventWriterKey, parseWriterKeys } from '@forgeone/event-store';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, type ConnectionOptions } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { readSecretJson } from './secret-file.js';
import { natsConnectionOptions } from './nats-url.js';

/** The event writers' keys of one platform and its cut-over, as `npm start` keeps them in the data folder. */
export interface EventWriterSecrets {
  /** The stream the cut-over was taken on: the file is for this stream only. */
  readonly stream: string;
  /** Unsigned events at or below this stream sequence are history from before signing; after it every event is signed. */
  readonly unsignedUntil: number;
  /** Base64 PKCS#8 DER private and SPKI DER public key of each writing service. */
  readonly writers: Readonly<Record<string, { readonly privateKey: string; readonly publicKey: string }>>;
}

const SecretsSchema = z
  .object({
    stream: z.string().min(1),
    unsignedUntil: z.number().int().min(0),
    writers: z.record(z.string(), z.object({ privateKey: z.string().min(1), publicKey: z.string().min(1) }).strict()),
  })
  .strict();

/** Where `npm start` keeps the event writers' keys: `<dataDir>/secrets/event-writers.json` (0600, folder 0700). */
export function eventWriterKeysFile(dataDir: string): string {
  return join(dataDir, 'secrets', 'event-writers.json');
}

/**
 * The platform's event-writer keys from the data folder, made the first time: a fresh Ed25519 key
 * pair per writing service and the cut-over, which is the event stream's last sequence at that
 * moment (0 when the stream does not exist yet), so the history written before signing stays
 * readable and everything after must be signed. The file is created once (never overwritten, also
 * when two starts race) and refused when others may read it or when it was made for another stream.
 */
export async function prepareEventWriterKeys(options: {
  readonly dataDir: string;
  readonly natsUrl: string;
  readonly names: Names;
  readonly logger: Logger;
  /** Added to NATS_URL's options to read the stream's last sequence (a credential on a closed server). */
  readonly connection?: Partial<ConnectionOptions>;
}): Promise<EventWriterSecrets> {
  const file = eventWriterKeysFile(options.dataDir);
  const existing = await readSecrets(file);
  if (existing) return checked(await withNewWriters(checkedStream(existing, file, options.names), file, options.logger), file, options.names);

  const folder = join(options.dataDir, 'secrets');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
  const writers: Record<string, { privateKey: string; publicKey: string }> = {};
  for (const writer of eventWriters()) writers[writer] = generateEventWriterKey();
  const secrets: EventWriterSecrets = { stream: options.names.stream, unsignedUntil: await lastSequence(options.natsUrl, options.names, options.connection), writers };
  // Written aside, then linked into place: link fails when the file exists, so a racing start keeps the first one.
  const partial = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(partial, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(partial, file);
    options.logger.info({ file, stream: secrets.stream, unsignedUntil: secrets.unsignedUntil, writers: Object.keys(writers) }, 'event writer keys created; unsigned events are accepted up to the cut-over only');
    return secrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return checked((await readSecrets(file))!, file, options.names);
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}

/**
 * The event variables of one service: the pinned public keys of every writer and the cut-over for
 * all, and its own private key for a writing service alone. Any FORGEONE_EVENT_* in `env` (passed
 * through from the caller's environment) is replaced, so no service receives another's key.
 */
export function withEventAuthorship(service: ServiceName, env: Record<string, string>, secrets: EventWriterSecrets): Record<string, string> {
  const out = Object.fromEntries(Object.entries(env).filter(([key]) => !(Object.values(EVENT_AUTHORSHIP_ENV) as string[]).includes(key)));
  const own = secrets.writers[service];
  return {
    ...out,
    [EVENT_AUTHORSHIP_ENV.writerKeys]: JSON.stringify(Object.fromEntries(Object.entries(secrets.writers).map(([writer, key]) => [writer, key.publicKey]))),
    [EVENT_AUTHORSHIP_ENV.unsignedUntil]: String(secrets.unsignedUntil),
    ...(own ? { [EVENT_AUTHORSHIP_ENV.signingKey]: own.privateKey } : {}),
  };
}

function readSecrets(file: string): Promise<EventWriterSecrets | undefined> {
  return readSecretJson(file, SecretsSchema, "the event writers' private keys", 'restore it from a backup: events signed with its keys cannot be verified without it');
}

/**
 * A file made before a service became an event writer lacks its key: one is made and added, the
 * others and the cut-over stay as they are (the new writer has written nothing yet, so all its
 * events come after the cut-over and are signed).
 */
async function withNewWriters(secrets: EventWriterSecrets, file: string, logger: Logger): Promise<EventWriterSecrets> {
  const missing = eventWriters().filter((writer) => !secrets.writers[writer]);
  if (missing.length === 0) return secrets;
  const writers = { ...secrets.writers };
  for (const writer of missing) writers[writer] = generateEventWriterKey();
  const updated: EventWriterSecrets = { ...secrets, writers };
  const partial = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(partial, `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await rename(partial, file);
  } finally {
    await unlink(partial).catch(() => undefined);
  }
  logger.info({ file, added: missing }, 'event writer keys added for services that write events now');
  return updated;
}

function checkedStream(secrets: EventWriterSecrets, file: string, names: Names): EventWriterSecrets {
  if (secrets.stream !== names.stream) {
    throw new Error(
      `${file} was made for the event stream ${secrets.stream}, but this platform uses ${names.stream} (FORGEONE_NAMESPACE); give each stream its own FORGEONE_DATA_DIR`,
    );
  }
  return secrets;
}

function checked(secrets: EventWriterSecrets, file: string, names: Names): EventWriterSecrets {
  if (secrets.stream !== names.stream) {
    throw new Error(
      `${file} was made for the event stream ${secrets.stream}, but this platform uses ${names.stream} (FORGEONE_NAMESPACE); give each stream its own FORGEONE_DATA_DIR`,
    );
  }
  // Every writer present and every public key an Ed25519 key; the private keys are checked by each service at start.
  parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(secrets.writers).map(([writer, key]) => [writer, key.publicKey]))));
  return secrets;
}

async function lastSequence(natsUrl: string, names: Names, connection: Partial<ConnectionOptions> = {}): Promise<number> {
  const nc = await connect({ ...natsConnectionOptions(natsUrl), ...connection, name: 'forgeone-runtime' });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    return (await jsm.streams.info(names.stream)).state.last_seq;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return 0;
    throw error;
  } finally {
    await nc.close();
  }
}

/**
 * Authorship that only verifies, for a reader outside the services (`audit verify`): the pinned writer keys as
 * FORGEONE_EVENT_WRITER_KEYS spells them, or a data folder's event-writers.json (its public keys and its cut-over,
 * never its private keys), and the cut-over (`unsignedUntil`, else the file's, else 0). Throws naming what is wrong.
 */
export function pinnedEventAuthorship(names: Names, writerKeys: string, unsignedUntil?: number): EventAuthorship {
  let parsed: unknown;
  try {
    parsed = JSON.parse(writerKeys);
  } catch (error) {
    throw new Error(`the pinned writer keys are not JSON: ${(error as Error).message}`);
  }
  const secrets = SecretsSchema.safeParse(parsed);
  const keys = secrets.success ? JSON.stringify(Object.fromEntries(Object.entries(secrets.data.writers).map(([writer, key]) => [writer, key.publicKey]))) : writerKeys;
  return new EventAuthorship({ names, writerKeys: parseWriterKeys(keys), unsignedUntil: unsignedUntil ?? (secrets.success ? secrets.data.unsignedUntil : 0) });
}
