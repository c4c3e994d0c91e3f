import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import pg from 'pg';
import { redactUrl } from '../config.js';

/** Debian's layout first (the client matching the server's major version is often not on PATH), then PATH. */
const PG_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export class PostgresDumpError extends Error {
  override readonly name = 'PostgresDumpError';
}

/**
 * The URL without its password, and the password for PGPASSWORD: pg_dump's command line is visible to
 * every user of the machine (ps), its environment is not.
 */
function splitCredentials(databaseUrl: string): { url: string; env: Record<string, string> } {
  let parsed: URL;
  try {
    parsed = new URL(databaseUrl);
  } catch {
    throw new PostgresDumpError(`DATABASE_URL ${redactUrl(databaseUrl)} is not a URL: give postgres://user:password@host:port/database`);
  }
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { url: parsed.toString(), env: password ? { PGPASSWORD: password } : {} };
}

async function run(binary: string, args: readonly string[], databaseUrl: string, what: string): Promise<void> {
  const { url, env } = splitCredentials(databaseUrl);
  const command = await findBinary(binary);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, [...args, '--dbname', url], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new PostgresDumpError(`${what}: cannot run ${command}: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new PostgresDumpError(`${what} failed (${binary} exited with ${code}): ${stderr.trim().slice(-2_000).replaceAll(databaseUrl, redactUrl(databaseUrl))}`));
    });
  });
}

async function findBinary(binary: string): Promise<string> {
  for (const dir of [process.env.FORGEONE_PG_BIN, ...PG_BIN_DIRS]) {
    if (!dir) continue;
    const candidate = `${dir}/${binary}`;
    if (await access(candidate).then(() => true, () => false)) return candidate;
  }
  return binary;
}

/**
 * `pg_dump --format=custom` of the whole database (every schema: live projections, kept rebuilds, reporting):
 * one transaction, so one consistent point in time. pg_dump refuses a server newer than itself, naming both
 * versions; FORGEONE_PG_BIN picks another client.
 */
export async function dumpDatabase(databaseUrl: string, file: string): Promise<void> {
  await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', file], databaseUrl, `dump of ${redactUrl(databaseUrl)}`);
}

/** `pg_restore` of a {@link dumpDatabase} file into an empty database; stops at the first error. */
export async function restoreDatabase(databaseUrl: string, file: string): Promise<void> {
  await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', file], databaseUrl, `restore into ${redactUrl(databaseUrl)}`);
}

/** Tables, views and sequences outside PostgreSQL's own schemas: what makes a database not empty. */
export async function userRelations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new PostgresDumpError(`cannot connect to PostgreSQL ${redactUrl(databaseUrl)}: ${(error as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ name: string }>(
      `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
        order by 1 limit 20`,
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}
