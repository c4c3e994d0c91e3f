import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { redactUrl } from './config.js';
import { natsConnectionOptions } from './nats-url.js';
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
}

/** A NATS server the platform uses; `stop()` only stops a server it started itself. */
export interface NatsHandle {
  readonly url: string;
  /** True when the platform started this server (and `stop()` will end it). */
  readonly managed: boolean;
  readonly pid?: number;
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
    await assertNatsAnswers(options.url);
    return { url: options.url, managed: false, stop: async () => undefined };
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
  await writeFile(
    configPath,
    [
      '# Written by ForgeOne on every start; edit infra/nats/nats-server.conf for a shared server instead.',
      'server_name: forgeone-local',
      `listen: "127.0.0.1:${port}"`,
      'max_payload: 8MB',
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      '',
    ].join('\n'),
  );
  const logFile = createWriteStream(join(storeDir, 'nats-server.log'), { flags: 'a' });
  const recent: string[] = [];
  // Detached: a Ctrl-C in the terminal reaches only the platform, which stops NATS last, after the services.
  const child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
  return { url, managed: true, pid: child.pid, stop: () => (stopping ??= stop()) };
}

async function assertNatsAnswers(url: string): Promise<void> {
  try {
    const nc = await connect({ ...natsConnectionOptions(url), timeout: 5_000, maxReconnectAttempts: 0, name: 'forgeone-runtime-check' });
    await nc.close();
  } catch (error) {
    throw new Error(
      `NATS_URL ${redactUrl(url)} does not answer (${(error as Error).message}). ` +
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
