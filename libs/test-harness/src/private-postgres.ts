import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './test-platform.js';

/** Debian's PostgreSQL 15 binaries (FORGEONE_TEST_PG_BIN to use others). */
const PG_BIN = process.env.FORGEONE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL server of a test's own: its own data folder and port, stopped and started at will. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** Process id of the running postmaster (undefined while stopped). */
  readonly pid: number | undefined;
  /** Fast shutdown (SIGINT: open sessions are ended, committed data kept); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same data folder and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
  /** The server's own output (for failure messages). */
  output(): string;
}

/**
 * Makes a database cluster in a temporary folder (initdb) and starts `postgres` on a free port of
 * 127.0.0.1, with trust authentication for the user `postgres`. PostgreSQL refuses to run as root:
 * as root, the folder is given to the OS user `postgres` and the server runs as that user (setpriv).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  for (const binary of ['initdb', 'postgres']) {
    if (!existsSync(join(PG_BIN, binary))) throw new Error(`${join(PG_BIN, binary)} not found: install PostgreSQL 15 (Debian package postgresql-15) or set FORGEONE_TEST_PG_BIN`);
  }
  const root = mkdtempSync(join(tmpdir(), 'forgeone-pg-'));
  const data = join(root, 'data');
  const asUser = osUser();
  if (asUser) chownSync(root, asUser.uid, asUser.gid);
  const run = (binary: string, args: string[]) => (asUser ? ['setpriv', [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', join(PG_BIN, binary), ...args]] : [join(PG_BIN, binary), args]) as [string, string[]];
  const [initCmd, initArgs] = run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' } });
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let out = '';
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const start = async () => {
    // No unix socket (the folder of the system's server is not ours); fsync off: only an OS crash could lose data, and no test makes one.
    const [cmd, args] = run('postgres', ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', "unix_socket_directories=", '-c', 'fsync=off', '-c', 'max_connections=200']);
    const started = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' } });
    child = started;
    started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`postgres exited with ${started.exitCode} while starting:\n${out.slice(-4_000)}`);
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres on port ${port} not accepting connections after 30 s:\n${out.slice(-4_000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGINT');
    const kill = setTimeout(() => running.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(kill);
  };
  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    remove: async () => {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
    output: () => out,
  };
}

/** As root, the OS user `postgres` (which initdb and postgres need); otherwise none: run as ourselves. */
function osUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, and there is no OS user `postgres` to run a private PostgreSQL as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
