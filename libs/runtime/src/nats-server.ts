import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { names as namesFor, SERVICES, type ServiceName } from '@forgeone/contracts';
import { connect } from '@nats-io/transport-node';
import { redactUrl } from './config.js';
import { renderNatsUsers, type NatsUserEntry } from './nats-authorization.js';
import { loadOrCreateNatsCredentials, natsPublicKey, type NatsCredentials } from './nats-credentials.js';
import { natsConnectionOptions, natsTlsHint } from './nats-url.js';
import { findFreePort, waitForTcpPort } from './tcp-port.util.js';
import { killOnParentExit, stopChildProcess } from './child-process.util.js';
import type { Logger } from './runtime.logger.js';

export interface StartNatsOptions {
  /** Platform data folder; a started server keeps JetStream files in `<dataDir>/nats`. */
  readonly dataDir: string;
  /** An existing server to use instead of starting one (NATS_URL). */
  readonly url?: string;
  readonly logger?: Logger;
  /** How long to wait for a started server to accept connections (default 15 s). */
  readonly startTimeoutMs?: number;
  /** Folders searched for `nats-server` (default: PATH, then the usual sbin folders). */
  readonly searchDirs?: readonly string[];
  /** The platform's namespace; a started server's permissions are generated for it (default none). */
  readonly namespace?: string;
  /**
   * For an external server: each service's own credential (`FORGEONE_NATS_CREDENTIAL_<SERVICE>`), by service.
   * A started server issues its own.
   */
  readonly serviceCredentials?: Partial<Record<ServiceName, string>>;
  /** For an external server: the CA its certificate is checked against (FORGEONE_NATS_CA_FILE); TLS is then required. */
  readonly caFile?: string;
}

/** A NATS server the platform uses; `stop()` only stops a server it started itself. */
export interface NatsHandle {
  /** The server's URL, without credentials. */
  readonly url: string;
  /** True when the platform started this server (and `stop()` will end it). */
  readonly managed: boolean;
  readonly pid?: number;
  /**
   * The credential the platform itself connects with (provisioning, readiness): the operator's for
   * a started server; for an external one, none (NATS_URL carries whatever it carries).
   */
  readonly operatorCredential?: string;
  /** Each service's own credential (`FORGEONE_NATS_CREDENTIAL`), where there is one. */
  readonly serviceCredentials: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

// Where Debian and hand installs put the binary; /usr/sbin is often missing from a non-root PATH.
const EXTRA_BIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/sbin'];

/**
 * Returns a NATS server to use: the one at `url` after checking it answers, or else a private
 * `nats-server` (JetStream on, bound to 127.0.0.1 on a free port) started from PATH.
 */
export async function startNats(options: StartNatsOptions): Promise<NatsHandle> {
  if (options.url) {
    await assertNatsAnswers(options.url, options.caFile);
    return { url: options.url, managed: false, serviceCredentials: options.serviceCredentials ?? {}, stop: async () => undefined };
  }
  const binary = await findNatsServerBinary(options.searchDirs);
  if (!binary) {
    throw new Error(
      'No NATS server: NATS_URL is not set and no `nats-server` was found on PATH. ' +
        'Install nats-server (Debian/Ubuntu: `apt-get install nats-server`; others: https://docs.nats.io) ' +
        'or set NATS_URL to a running server with JetStream enabled, e.g. NATS_URL=nats://127.0.0.1:4222.',
    );
  }
  const storeDir = resolve(options.dataDir, 'nats');
  await mkdir(storeDir, { recursive: true });
  // Another process may take the port between picking and binding it; a fresh port fixes that.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary, storeDir, options);
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError;
}

async function launch(binary: string, storeDir: string, options: StartNatsOptions): Promise<NatsHandle> {
  const port = await findFreePort();
  const configPath = join(storeDir, 'nats-server.conf');
  const credentials = await writeManagedAuthorization(options.dataDir, options.namespace ?? '');
  await writeFile(
    configPath,
    [
      '# Written by ForgeOne on every start; edit infra/nats/nats-server.conf for a shared server instead.',
      'server_name: forgeone-local',
      `listen: "127.0.0.1:${port}"`,
      'max_payload: 8MB',
      `pid_file: ${JSON.stringify(join(storeDir, 'nats-server.pid'))}`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      // Users and permissions (generated from the permission table); rewritten and reloaded when a client is added or revoked.
      'include "authorization.conf"',
      '',
    ].join('\n'),
  );
  const logFile = createWriteStream(join(storeDir, 'nats-server.log'), { flags: 'a' });
  const recent: string[] = [];
  // Detached: a Ctrl-C in the terminal reaches only the platform, which stops NATS last, after the services.
  // Its environment holds nothing of the platform's: no token, key or credential.
  const child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: minimalChildEnv() });
  const remember = (chunk: Buffer) => {
    logFile.write(chunk);
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 20));
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  let exit: string | undefined;
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  child.once('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
  const unregister = killOnParentExit(child);

  const url = `nats://127.0.0.1:${port}`;
  try {
    await waitForTcpPort('127.0.0.1', port, options.startTimeoutMs ?? 15_000, () =>
      spawnError || exit
        ? new Error(`nats-server (${binary}) ${spawnError ? `could not start: ${spawnError.message}` : `exited with ${exit}`}: ${recent.join(' | ')}`)
        : undefined,
    );
  } catch (error) {
    await stopChildProcess(child, 2_000);
    unregister();
    logFile.end();
    throw error;
  }
  options.logger?.info({ url, pid: child.pid, storeDir }, 'started nats-server');
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    await stopChildProcess(child, 10_000);
    unregister();
    logFile.end();
    options.logger?.info({ url }, 'stopped nats-server');
  };
  return {
    url,
    managed: true,
    pid: child.pid,
    operatorCredential: credentials.operator,
    serviceCredentials: credentials.services,
    stop: () => (stopping ??= stop()),
  };
}

/** The environment of a child process that needs none of the platform's settings (nats-server, PostgreSQL). */
export function minimalChildEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['PATH', 'TZ', 'LANG', 'LC_ALL']) if (env[key] !== undefined) out[key] = env[key]!;
  return out;
}

interface ManagedNatsRecord {
  readonly namespace: string;
}

/**
 * Writes `<dataDir>/nats/authorization.conf` for a started server: the operator, every service and
 * every automation client, each an NKey user with the permissions of the table in libs/contracts.
 */
async function writeManagedAuthorization(dataDir: string, namespace: string): Promise<NatsCredentials> {
  const storeDir = resolve(dataDir, 'nats');
  const credentials = await loadOrCreateNatsCredentials(dataDir);
  const names = namesFor(namespace);
  const entries: NatsUserEntry[] = [
    { principal: { kind: 'operator' }, auth: { nkey: natsPublicKey(credentials.operator) } },
    ...SERVICES.map((service) => ({ principal: { kind: 'service', service } as const, auth: { nkey: natsPublicKey(credentials.services[service]) } })),
    ...Object.entries(credentials.clients).map(([name, client]) => ({ principal: { kind: 'client', name } as const, auth: { nkey: client.publicKey } })),
  ];
  await writeFile(
    join(storeDir, 'authorization.conf'),
    [
      `# Written by ForgeOne from the permission table (namespace "${namespace}"); anonymous connections are refused.`,
      `authorization {\n  ${renderNatsUsers(names, entries, '    ')}\n}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const record: ManagedNatsRecord = { namespace };
  await writeFile(join(storeDir, 'managed.json'), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return credentials;
}

/**
 * After a change of the data folder's credentials (a client added or revoked): rewrites the started
 * server's users and tells it to reload them. Returns false when no server of that folder is running
 * (the next `npm start` picks the change up).
 */
export async function reloadManagedNats(dataDir: string): Promise<boolean> {
  const storeDir = resolve(dataDir, 'nats');
  let record: ManagedNatsRecord;
  try {
    record = JSON.parse(await readFile(join(storeDir, 'managed.json'), 'utf8')) as ManagedNatsRecord;
  } catch {
    return false;
  }
  await writeManagedAuthorization(dataDir, record.namespace);
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(join(storeDir, 'nats-server.pid'), 'utf8'), 10);
  } catch {
    return false;
  }
  try {
    // A pid file outlives a crashed server: signal the process only if it is that nats-server.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('nats-server') || !cmdline.includes(join(storeDir, 'nats-server.conf'))) return false;
    // SIGHUP makes nats-server reload its configuration; connections of removed users are closed.
    process.kill(pid, 'SIGHUP');
    return true;
  } catch {
    return false;
  }
}

async function assertNatsAnswers(url: string, caFile: string | undefined): Promise<void> {
  try {
    const nc = await connect({ ...natsConnectionOptions(url, caFile ? { caFile } : {}), timeout: 5_000, maxReconnectAttempts: 0, name: 'forgeone-runtime-check' });
    await nc.close();
  } catch (error) {
    throw new Error(
      `NATS_URL ${redactUrl(url)} does not answer (${(error as Error).message}${natsTlsHint(error, caFile ? { caFile } : {})}). ` +
        'Start that server (with JetStream) or unset NATS_URL so ForgeOne starts its own nats-server.',
    );
  }
}

/** The path of an executable `nats-server` on PATH (or in the usual sbin folders), if any. */
export async function findNatsServerBinary(
  dirs: readonly string[] = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_BIN_DIRS],
): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  return undefined;
}
