import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { names as namesFor } from '@forgeone/contracts';
import { sha256File } from '@forgeone/signing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { redactUrl } from '../config.js';
import { natsConnectionOptions, natsTlsHint, type NatsTlsSettings } from '../nats-url.js';
import { restoreStream, snapshotStream, type StreamSnapshotMeta } from './jetstream-snapshot.js';
import { dumpDatabase, restoreDatabase, userRelations } from './postgres-dump.js';

export const BACKUP_MANIFEST = 'manifest.json';
const FORMAT = 'forgeone-backup';
const FORMAT_VERSION = 1;

/** Where the platform lives: what a backup reads and a restore writes. */
export interface PlatformLocation {
  /** NATS with a user allowed to snapshot and restore streams (the operator). */
  readonly natsUrl: string;
  readonly tls?: NatsTlsSettings;
  readonly databaseUrl: string;
  readonly namespace: string;
  /** FORGEONE_DATA_DIR: its `secrets/` folder (the keys that sign events and audit checkpoints) is backed up too. */
  readonly dataDir: string;
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: 'BACKUP.TARGET_NOT_EMPTY' | 'BACKUP.INVALID' | 'BACKUP.FAILED',
    message: string,
  ) {
    super(message);
  }
}

const StreamEntrySchema = z.object({
  label: z.string(),
  file: z.string(),
  meta: z.object({ config: z.looseObject({ name: z.string().min(1) }), state: z.looseObject({ messages: z.number(), first_seq: z.number(), last_seq: z.number() }) }),
});

const ManifestSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(FORMAT_VERSION),
  createdAt: z.string(),
  namespace: z.string(),
  // In the order they were taken.
  postgres: z.object({ file: z.string(), takenAt: z.string() }),
  streams: z.array(StreamEntrySchema).min(1),
  secrets: z.array(z.string()),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
});

export type BackupManifest = z.infer<typeof ManifestSchema>;

export interface BackupResult {
  readonly dir: string;
  readonly manifest: BackupManifest;
  /** sha256 of manifest.json: keep it apart from the backup to detect a manifest rewritten along with the files. */
  readonly manifestSha256: string;
}

/** The platform's three streams, in the order a backup takes them: events before the artifacts they name. */
function platformStreams(namespace: string): { label: string; stream: string }[] {
  const names = namesFor(namespace);
  return [
    { label: 'event stream', stream: names.stream },
    { label: 'artifact object store', stream: `OBJ_${names.artifactBucket}` },
    { label: 'plugin key/value bucket', stream: `KV_${names.pluginKvBucket}` },
  ];
}

async function connectNats(location: PlatformLocation, purpose: string): Promise<NatsConnection> {
  try {
    return await connect({ ...natsConnectionOptions(location.natsUrl, location.tls ?? {}), name: `forgeone-${purpose}`, timeout: 5_000, maxReconnectAttempts: 0 });
  } catch (error) {
    throw new BackupError('BACKUP.FAILED', `cannot connect to NATS ${redactUrl(location.natsUrl)} for the ${purpose}: ${(error as Error).message}${natsTlsHint(error, location.tls ?? {})}`);
  }
}


async function isMissingOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

async function secretFiles(dataDir: string): Promise<string[]> {
  const folder = join(dataDir, 'secrets');
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Backs the platform up into `dir` (which must not exist or be empty; made 0700, files 0600 since it holds
 * the platform's keys): first PostgreSQL (pg_dump, one transaction), then the event stream, the artifact
 * object store and the plugin key/value bucket (JetStream snapshots), then `<dataDir>/secrets`, and last
 * `manifest.json` with the sha256 of every file. PostgreSQL first: its projections and checkpoints are
 * then at or behind the stream snapshot, and the projector catches up after a restore; the other way round
 * they could name events the restored stream does not hold. On failure the folder is removed.
 */
export async function backupPlatform(location: PlatformLocation, dir: string): Promise<BackupResult> {
  if (!(await isMissingOrEmpty(dir))) throw new BackupError('BACKUP.TARGET_NOT_EMPTY', `${dir} is not empty: give a new folder for the backup`);
  await mkdir(join(dir, 'nats'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'postgres'), { mode: 0o700 });
  await chmod(dir, 0o700);
  try {
    const takenAt = new Date().toISOString();
    await dumpDatabase(location.databaseUrl, join(dir, 'postgres', 'database.dump'));
    const nc = await connectNats(location, 'backup');
    const streams: BackupManifest['streams'] = [];
    try {
      for (const { label, stream } of platformStreams(location.namespace)) {
        const file = `nats/${stream}.tar.s2`;
        const { meta } = await snapshotStream(nc, stream, join(dir, file)).catch((error: Error) => {
          throw new BackupError('BACKUP.FAILED', `${label}: ${error.message}`);
        });
        streams.push({ label, file, meta: meta as BackupManifest['streams'][number]['meta'] });
      }
    } finally {
      await nc.close();
    }
    const secrets = await secretFiles(location.dataDir);
    if (secrets.length > 0) await mkdir(join(dir, 'secrets'), { mode: 0o700 });
    for (const name of secrets) {
      await copyFile(join(location.dataDir, 'secrets', name), join(dir, 'secrets', name));
      await chmod(join(dir, 'secrets', name), 0o600);
    }
    const files: BackupManifest['files'] = {};
    for (const file of [`postgres/database.dump`, ...streams.map((s) => s.file), ...secrets.map((s) => `secrets/${s}`)]) {
      await chmod(join(dir, file), 0o600);
      files[file] = await sha256File(join(dir, file));
    }
    const manifest: BackupManifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      namespace: location.namespace,
      postgres: { file: 'postgres/database.dump', takenAt },
      streams,
      secrets: secrets.map((s) => `secrets/${s}`),
      files,
    };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeFile(join(dir, BACKUP_MANIFEST), text, { mode: 0o600, flag: 'wx' });
    return { dir, manifest, manifestSha256: createHash('sha256').update(text).digest('hex') };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

/**
 * Checks a backup folder without writing anything: manifest.json is one this version wrote, every file
 * it lists is there with its sha256 and size, and no other file is. Throws a {@link BackupError} naming
 * every file that does not match.
 */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, BACKUP_MANIFEST), 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is missing (an incomplete or foreign folder)' : (error as Error).message;
    throw new BackupError('BACKUP.INVALID', `${join(dir, BACKUP_MANIFEST)} cannot be read: ${reason}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new BackupError('BACKUP.INVALID', `${join(dir, BACKUP_MANIFEST)} is not a ForgeOne backup manifest (format ${FORMAT} ${FORMAT_VERSION}): ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const manifest = parsed.data;
  const problems: string[] = [];
  const referenced = [manifest.postgres.file, ...manifest.streams.map((s) => s.file), ...manifest.secrets];
  for (const file of referenced) if (!manifest.files[file]) problems.push(`${file} is used but has no checksum in the manifest`);
  for (const [file, expected] of Object.entries(manifest.files)) {
    if (file.split('/').includes('..') || file.startsWith('/')) {
      problems.push(`${file} points outside the backup folder`);
      continue;
    }
    const actual = await stat(join(dir, file)).then(
      () => sha256File(join(dir, file)),
      () => undefined,
    );
    if (!actual) problems.push(`${file} is missing`);
    else if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
      problems.push(`${file} does not match the manifest (sha256 ${actual.sha256.slice(0, 16)}…, ${actual.bytes} bytes; expected ${expected.sha256.slice(0, 16)}…, ${expected.bytes} bytes)`);
    }
  }
  for (const file of await listFiles(dir)) if (file !== BACKUP_MANIFEST && !manifest.files[file]) problems.push(`${file} is not in the manifest`);
  if (problems.length > 0) throw new BackupError('BACKUP.INVALID', `backup ${dir} is damaged or was changed, nothing restored\n  - ${problems.join('\n  - ')}`);
  return manifest;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly streams: readonly { label: string; stream: string; messages: number; lastSeq: number }[];
}

/**
 * Restores a {@link backupPlatform} folder into a fresh platform: checks the folder ({@link verifyBackup}) and
 * that the target is empty (none of the streams on NATS, no table in the database, no secrets in the data
 * folder) before it writes anything, then restores the streams with their sequence numbers, the database and
 * the secrets. Start the platform afterwards: the projector resumes from the restored checkpoint.
 */
export async function restorePlatform(location: PlatformLocation, dir: string): Promise<RestoreResult> {
  const manifest = await verifyBackup(dir);
  if (manifest.namespace !== location.namespace) {
    throw new BackupError(
      'BACKUP.INVALID',
      `the backup is of namespace "${manifest.namespace}" but FORGEONE_NAMESPACE is "${location.namespace}": restore with FORGEONE_NAMESPACE=${manifest.namespace} (stream and subject names carry it)`,
    );
  }
  const nc = await connectNats(location, 'restore');
  try {
    const busy: string[] = [];
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
    for (const { meta, label } of manifest.streams) {
      const exists = await jsm.streams.info(meta.config.name).then(
        () => true,
        (error: Error) => {
          if (/stream not found/i.test(error.message)) return false;
          throw new BackupError('BACKUP.FAILED', `cannot ask NATS ${redactUrl(location.natsUrl)} about the ${label} ${meta.config.name}: ${error.message}`);
        },
      );
      if (exists) busy.push(`NATS already has the ${label} ${meta.config.name}`);
    }
    const tables = await userRelations(location.databaseUrl);
    if (tables.length > 0) busy.push(`database ${redactUrl(location.databaseUrl)} already has tables (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''})`);
    if (manifest.secrets.length > 0 && !(await isMissingOrEmpty(join(location.dataDir, 'secrets')))) busy.push(`${join(location.dataDir, 'secrets')} is not empty`);
    if (busy.length > 0) {
      throw new BackupError('BACKUP.TARGET_NOT_EMPTY', `the target is not a fresh platform, nothing restored\n  - ${busy.join('\n  - ')}\nrestore into a new NATS store, an empty database and a new data folder`);
    }

    const streams: { label: string; stream: string; messages: number; lastSeq: number }[] = [];
    for (const { label, file, meta } of manifest.streams) {
      const state = await restoreStream(nc, meta as StreamSnapshotMeta, join(dir, file)).catch((error: Error) => {
        throw new BackupError('BACKUP.FAILED', `${label}: ${error.message}`);
      });
      // The state in the manifest is the server's when the snapshot began: messages stored while it ran may follow it.
      if (state.last_seq < meta.state.last_seq) {
        throw new BackupError('BACKUP.FAILED', `${label} ${meta.config.name} restored only up to sequence ${state.last_seq}, the backup holds up to ${meta.state.last_seq}`);
      }
      streams.push({ label, stream: meta.config.name, messages: state.messages, lastSeq: state.last_seq });
    }
    await restoreDatabase(location.databaseUrl, join(dir, manifest.postgres.file));
    if (manifest.secrets.length > 0) {
      await mkdir(join(location.dataDir, 'secrets'), { recursive: true, mode: 0o700 });
      await chmod(join(location.dataDir, 'secrets'), 0o700);
      for (const file of manifest.secrets) {
        const target = join(location.dataDir, file);
        await copyFile(join(dir, file), target);
        await chmod(target, 0o600);
      }
    }
    return { manifest, streams };
  } finally {
    await nc.close();
  }
}
