import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SERVICES, names as namesFor, type ServiceName } from '@forgeone/contracts';
import { loadConfig, redactConfig, redactUrl, type PlatformConfig } from './config.js';
import { startPostgres, type PostgresHandle } from './embedded-postgres.js';
import { prepareEventWriterKeys, withEventAuthorship } from './event-writer-keys.store.js';
import { startNats, type NatsHandle } from './nats-server.js';
import { waitForReadiness } from './readiness.js';
import { createRuntimeLogger } from './runtime.logger.js';
import { superviseServices, type PlatformExit, type Supervisor } from './supervisor.js';

export interface RunPlatformOptions {
  /** Environment to read the configuration from and pass on (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Repository root holding `apps/<name>/dist/main.js` (default: found from this file). */
  readonly repoRoot?: string;
  /** Services to run (default: all six). */
  readonly services?: readonly ServiceName[];
  /** How long the services may take to report ready (default 60 s). */
  readonly readinessTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL when stopping services (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Stop on SIGINT/SIGTERM (default true). */
  readonly handleSignals?: boolean;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

/** The running platform. */
export interface RunningPlatform {
  readonly config: PlatformConfig;
  readonly apiUrl: string;
  readonly natsUrl: string;
  readonly databaseUrl: string;
  /** Process ids of the services, by name. */
  readonly pids: ReadonlyMap<string, number>;
  /** Stops services, then Postgres and NATS if they were started here; resolves with the exit code. */
  stop(): Promise<number>;
  /** Resolves with the exit code once the platform has stopped for any reason. */
  readonly done: Promise<number>;
}

// Variables handed to every service besides their own configuration; the rest of the parent's
// environment (cloud credentials, tokens of other tools) stays out of the sandbox-runner's reach.
const PASSED_THROUGH = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];

/**
 * Runs the whole platform on this machine: configuration from the environment, NATS (given or
 * started), Postgres (given or embedded), the six services as child processes; resolves once
 * every service reports ready and prints one line saying where the API is. Call
 * `process.exit(await platform.done)` to end with the platform's exit code.
 */
export async function runPlatform(options: RunPlatformOptions = {}): Promise<RunningPlatform> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const logger = createRuntimeLogger(config.logLevel);
  const repoRoot = options.repoRoot ?? findRepoRoot();
  const serviceNames = options.services ?? SERVICES;
  const entries = serviceNames.map((name) => ({ name, entry: join(repoRoot, 'apps', name, 'dist', 'main.js') }));
  const missing = entries.filter((e) => !existsSync(e.entry));
  if (missing.length > 0) {
    // Checked before NATS and Postgres start, so a missing build fails in a second, not after.
    throw new Error(
      `Not built: ${missing.map((e) => e.entry).join(', ')} missing. Run \`npm run build\` at ${repoRoot} first.`,
    );
  }
  // Services prove who they are to each other with credentials derived from this key; one per run is enough.
  const serviceKey = env.FORGEONE_SERVICE_KEY?.trim() ? env.FORGEONE_SERVICE_KEY : randomBytes(32).toString('base64url');
  if (serviceKey.length < 32) throw new Error('FORGEONE_SERVICE_KEY must be at least 32 characters long (or leave it unset: npm start generates one)');
  logger.info({ config: redactConfig(config) }, 'starting ForgeOne');

  let nats: NatsHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let supervisor: Supervisor | undefined;
  const stopInfrastructure = async () => {
    // Services are gone by now; Postgres before NATS mirrors the start order in reverse.
    await postgres?.stop().catch((error: unknown) => logger.error({ err: error }, 'could not stop Postgres'));
    await nats?.stop().catch((error: unknown) => logger.error({ err: error }, 'could not stop NATS'));
  };
  try {
    nats = await startNats({ dataDir: config.dataDir, url: config.natsUrl, logger });
    const writerKeys = await prepareEventWriterKeys({ dataDir: config.dataDir, natsUrl: nats.url, names: namesFor(config.namespace), logger });
    postgres = await startPostgres({ dataDir: config.dataDir, url: config.databaseUrl, logger });
    const shared = serviceEnv(env, config, nats.url, postgres.url, serviceKey);
    supervisor = superviseServices({
      services: entries.map(({ name, entry }) => ({
        name,
        entry,
        cwd: repoRoot,
        env: withEventAuthorship(name, envForService(name, shared), writerKeys),
      })),
      onExit: stopInfrastructure,
      stopTimeoutMs: options.stopTimeoutMs,
      handleSignals: options.handleSignals,
      stdout: options.stdout,
      stderr: options.stderr,
      logger,
    });
    const earlyExit = new AbortController();
    void supervisor.done.then((exit) => earlyExit.abort(new Error(`ForgeOne stopped while starting: ${describeExit(exit)}`)));
    await waitForReadiness(nats.url, config.namespace, serviceNames, options.readinessTimeoutMs ?? 60_000, {
      signal: earlyExit.signal,
    });
  } catch (error) {
    if (supervisor) await supervisor.stop();
    else await stopInfrastructure();
    throw error;
  }

  const running = supervisor;
  const apiUrl = `http://127.0.0.1:${config.httpPort}`;
  (options.stdout ?? process.stdout).write(
    `ForgeOne is up: API ${apiUrl} (OpenAPI at /docs), NATS ${redactUrl(nats.url)}, Postgres ${redactUrl(postgres.url)}\n`,
  );
  const done = running.done.then((exit) => {
    logger.info({ reason: describeExit(exit), exitCode: exit.exitCode }, 'ForgeOne stopped');
    return exit.exitCode;
  });
  return {
    config,
    apiUrl,
    natsUrl: nats.url,
    databaseUrl: postgres.url,
    pids: running.pids,
    stop: async () => {
      await running.stop();
      return done;
    },
    done,
  };
}

/** The environment every service gets; OTEL_SERVICE_NAME is added per service. */
export function serviceEnv(env: NodeJS.ProcessEnv, config: PlatformConfig, natsUrl: string, databaseUrl: string, serviceKey?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (PASSED_THROUGH.includes(key) || key.startsWith('OTEL_') || key.startsWith('FORGEONE_')) out[key] = value;
  }
  return {
    ...out,
    NATS_URL: natsUrl,
    DATABASE_URL: databaseUrl,
    FORGEONE_NAMESPACE: config.namespace,
    FORGEONE_HTTP_PORT: String(config.httpPort),
    FORGEONE_DATA_DIR: config.dataDir,
    FORGEONE_LOG_LEVEL: config.logLevel,
    ...(serviceKey ? { FORGEONE_SERVICE_KEY: serviceKey } : {}),
  };
}

/**
 * One service's environment: the shared one, less what only another service may read. The
 * platform's signing key (FORGEONE_SIGNER_KEY*) is the signer's alone; FORGEONE_SIGNATURE_POLICY
 * reaches every service, since the registry and the sandbox-runner both verify by it.
 */
export function envForService(name: ServiceName, shared: Record<string, string>): Record<string, string> {
  return { ...(name === 'signer' ? shared : withoutSigningKey(shared)), OTEL_SERVICE_NAME: `forgeone-${name}` };
}

function withoutSigningKey(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('FORGEONE_SIGNER_KEY')));
}

/** The folder holding nx.json above this file (the repository root). */
export function findRepoRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dir === dirname(dir)) {
      throw new Error(`Cannot find the ForgeOne repository root (a folder with nx.json) above ${start}; pass repoRoot.`);
    }
  }
}

function describeExit(exit: PlatformExit): string {
  switch (exit.reason) {
    case 'signal':
      return `received ${exit.signal}`;
    case 'service-exited':
      return `service ${exit.service} exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})`;
    case 'stopped':
      return 'stopped on request';
  }
}
