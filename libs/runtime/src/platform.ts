import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHmac } from 'node:crypto';
import { busInboxPrefix, SERVICES, names as namesFor, type ServiceName } from '@forgeone/contracts';
import { loadConfig, redactConfig, redactUrl, type PlatformConfig } from './config.js';
import { startPostgres, type PostgresHandle } from './embedded-postgres.js';
import { prepareAuditKey } from './audit-key.store.js';
import { prepareConfigSecretKey } from './config-secret-key.store.js';
import { prepareWatcherToken } from './watcher-token.store.js';
import { prepareEventWriterKeys, withEventAuthorship } from './event-writer-keys.store.js';
import { startNats, type NatsHandle } from './nats-server.js';
import { natsCredentialOptions, natsTlsOptions } from './nats-url.js';
import { loadPlatformNatsConfig } from './platform-nats.config.js';
import { preparePlatformNats } from './platform-nats.setup.js';
import { waitForReadiness } from './readiness.js';
import { createRuntimeLogger } from './runtime.logger.js';
import type { RestartPolicy } from './restart.policy.js';
import { instanceCounts, serviceInstances } from './service-instances.js';
import { superviseServices, type PlatformExit, type Supervisor } from './supervisor.js';
import { findFreePort } from './tcp-port.util.js';

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
  /** How a service that exits on its own is restarted (default: the supervisor's policy); `false`: it stops the platform. */
  readonly restart?: RestartPolicy | false;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Write the platform's own log lines to stderr, keeping stdout for a machine-read result (`up --json`). */
  readonly logToStderr?: boolean;
  /** Make (once, in the data folder) and have the policy service issue the plugins/ directory watcher's token. */
  readonly watcherToken?: boolean;
}

/** The running platform. */
export interface RunningPlatform {
  readonly config: PlatformConfig;
  readonly apiUrl: string;
  readonly natsUrl: string;
  readonly databaseUrl: string;
  /** Process ids of the services, by name (`sandbox-runner-2`, ... for runners beyond the first). */
  readonly pids: ReadonlyMap<string, number>;
  /** Stops services, then Postgres and NATS if they were started here; resolves with the exit code. */
  stop(): Promise<number>;
  /** Resolves with the exit code once the platform has stopped for any reason. */
  readonly done: Promise<number>;
  /** The plugins/ directory watcher's token (role watcher, tenant default), when asked for. */
  readonly watcherToken?: string;
  /** Each service's Prometheus endpoint (`http://127.0.0.1:<port>/metrics`), by name as in `pids`. */
  readonly metricsUrls: Readonly<Record<string, string>>;
}

/** The first metrics port of `npm start` when FORGEONE_METRICS_PORT is not set: the Prometheus exporter's customary port. */
export const DEFAULT_METRICS_BASE_PORT = 9464;

/**
 * The metrics port of each service: consecutive ports from `base` in the order given, or, for base
 * 0, a free port each (as tests ask, so platforms started side by side do not collide).
 */
export async function metricsPortsFor(services: readonly string[], base: number | undefined): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const taken = new Set<number>();
  for (const [i, name] of services.entries()) {
    let port = (base ?? DEFAULT_METRICS_BASE_PORT) + i;
    // The OS may hand the same released port out twice in a row.
    if (base === 0) do port = await findFreePort(); while (taken.has(port));
    taken.add(port);
    ports[name] = port;
  }
  const highest = Math.max(...Object.values(ports));
  if (highest > 65535) throw new Error(`FORGEONE_METRICS_PORT ${base} leaves no room for ${services.length} services' metrics ports (the last would be ${highest}); choose a lower one`);
  return ports;
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
  // A copy: the secrets are then removed from this process's own environment (see below).
  const env = { ...(options.env ?? process.env) };
  const config = loadConfig(env);
  const natsConfig = loadPlatformNatsConfig(env);
  const logger = createRuntimeLogger(config.logLevel, options.logToStderr ? 'stderr' : undefined);
  const repoRoot = options.repoRoot ?? findRepoRoot();
  const serviceNames = options.services ?? SERVICES;
  const instances = serviceInstances(serviceNames, config.sandboxRunners, env.FORGEONE_RUNNER_ID?.trim() || hostname());
  const entries = serviceNames.map((name) => ({ name, entry: join(repoRoot, 'apps', name, 'dist', 'main.js') }));
  const entryOf = (service: ServiceName) => entries.find((e) => e.name === service)!.entry;
  // Every service starts with the tracing hook, so `pg` and outgoing `http` are traced (ESM needs it before the service's modules load).
  const tracingHook = join(repoRoot, 'libs', 'telemetry', 'dist', 'register.js');
  const missing = [...entries, { name: 'telemetry', entry: tracingHook }].filter((e) => !existsSync(e.entry));
  if (missing.length > 0) {
    // Checked before NATS and Postgres start, so a missing build fails in a second, not after.
    throw new Error(
      `Not built: ${missing.map((e) => e.entry).join(', ')} missing. Run \`npm run build\` at ${repoRoot} first.`,
    );
  }
  // Services prove who they are to each other with credentials derived from this key; one per run is enough.
  const serviceKey = env.FORGEONE_SERVICE_KEY?.trim() ? env.FORGEONE_SERVICE_KEY : randomBytes(32).toString('base64url');
  if (serviceKey.length < 32) throw new Error('FORGEONE_SERVICE_KEY must be at least 32 characters long (or leave it unset: npm start generates one)');
  const externalCredentials = config.natsUrl ? externalServiceCredentials(env, serviceNames) : {};
  // The embedded PostgreSQL inherits this process's environment, and needs none of the platform's settings
  // (least of all its secrets): they are read from the copy above from here on.
  if (!options.env || options.env === process.env) forgetPlatformVariables(process.env);
  logger.info({ config: redactConfig(config) }, 'starting ForgeOne');

  let nats: NatsHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let supervisor: Supervisor | undefined;
  let watcherToken: string | undefined;
  let metricsPorts: Record<string, number> = {};
  const stopInfrastructure = async () => {
    // Services are gone by now; Postgres before NATS mirrors the start order in reverse.
    await postgres?.stop().catch((error: unknown) => logger.error({ err: error }, 'could not stop Postgres'));
    await nats?.stop().catch((error: unknown) => logger.error({ err: error }, 'could not stop NATS'));
  };
  try {
    const caFile = config.natsCaFile ? { caFile: config.natsCaFile } : {};
    nats = await startNats({ dataDir: config.dataDir, url: config.natsUrl, namespace: config.namespace, serviceCredentials: externalCredentials, logger, ...caFile });
    // Services only check the storage; it is provisioned here (as the operator), and an insecure external NATS refused.
    const natsEnv = await preparePlatformNats({
      natsUrl: nats.url,
      managed: nats.managed,
      namespace: config.namespace,
      config: natsConfig,
      logger,
      ...caFile,
      ...(nats.operatorCredential ? { credential: nats.operatorCredential } : {}),
    });
    // The stream exists now; its last sequence is the cut-over the first time the keys are made (read as the operator on its own server).
    const writerKeys = await prepareEventWriterKeys({
      dataDir: config.dataDir,
      natsUrl: nats.url,
      names: namesFor(config.namespace),
      logger,
      connection: {
        ...natsTlsOptions(caFile),
        ...(nats.operatorCredential ? { ...natsCredentialOptions(nats.operatorCredential), inboxPrefix: busInboxPrefix(namesFor(config.namespace), { kind: 'operator' }) } : {}),
      },
    });
    // The audit log's checkpoint key exists from the first start, unless the operator gives one (FORGEONE_AUDIT_KEY*).
    const auditKeyFile = env.FORGEONE_AUDIT_KEY_FILE || env.FORGEONE_AUDIT_KEY ? undefined : await prepareAuditKey(config.dataDir, logger);
    postgres = await startPostgres({ dataDir: config.dataDir, url: config.databaseUrl, logger });
    const shared = { ...serviceEnv(env, config, nats.url, postgres.url), ...natsEnv };
    metricsPorts = config.metrics.off ? {} : await metricsPortsFor(instances.map((i) => i.name), config.metrics.port);
    const configSecretKey = await prepareConfigSecretKey(config.dataDir, env);
    watcherToken = options.watcherToken ? await prepareWatcherToken(config.dataDir) : undefined;
    const secrets: PlatformSecrets = {
      serviceKey,
      natsCredentials: nats.serviceCredentials,
      configSecretKey,
      ...(config.bootstrapToken ? { bootstrapToken: config.bootstrapToken } : {}),
      ...(auditKeyFile ? { auditKeyFile } : {}),
      ...(watcherToken ? { watcherToken } : {}),
    };
    supervisor = superviseServices({
      services: instances.map(({ name, service, env: own }) => ({
        name,
        entry: entryOf(service),
        nodeArgs: ['--import', pathToFileURL(tracingHook).href],
        cwd: repoRoot,
        env: withEventAuthorship(service, { ...envForService(service, shared, secrets, env), ...own, ...(metricsPorts[name] !== undefined ? { FORGEONE_METRICS_PORT: String(metricsPorts[name]) } : {}) }, writerKeys),
      })),
      onExit: stopInfrastructure,
      stopTimeoutMs: options.stopTimeoutMs,
      ...(options.restart !== undefined ? { restart: options.restart } : {}),
      handleSignals: options.handleSignals,
      stdout: options.stdout,
      stderr: options.stderr,
      logger,
    });
    const earlyExit = new AbortController();
    void supervisor.done.then((exit) => earlyExit.abort(new Error(`ForgeOne stopped while starting: ${describeExit(exit)}`)));
    await waitForReadiness(nats.url, config.namespace, serviceNames, options.readinessTimeoutMs ?? 60_000, {
      signal: earlyExit.signal,
      instances: instanceCounts(instances),
      ...caFile,
      ...(nats.operatorCredential ? { credential: nats.operatorCredential } : {}),
    });
  } catch (error) {
    if (supervisor) await supervisor.stop();
    else await stopInfrastructure();
    throw error;
  }

  const running = supervisor;
  const apiUrl = `http://127.0.0.1:${config.httpPort}`;
  const metricsHost = config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host;
  // A wildcard address is reached on loopback from here.
  const reachableHost = ['0.0.0.0', '[::]'].includes(metricsHost) ? '127.0.0.1' : metricsHost;
  const metricsUrls = Object.fromEntries(Object.entries(metricsPorts).map(([name, port]) => [name, `http://${reachableHost}:${port}/metrics`]));
  (options.stdout ?? process.stdout).write(
    `ForgeOne is up: API ${apiUrl} (API reference at ${apiUrl}/docs, OpenAPI document at ${apiUrl}/openapi.json), NATS ${redactUrl(nats.url)}, Postgres ${redactUrl(postgres.url)}\n` +
      (config.metrics.off ? '' : `Metrics (Prometheus${config.metrics.token ? ', Authorization: Bearer $FORGEONE_METRICS_TOKEN' : ''}): ${Object.entries(metricsUrls).map(([name, url]) => `${name} ${url}`).join(', ')}\n`),
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
    metricsUrls,
    ...(watcherToken ? { watcherToken } : {}),
    stop: async () => {
      await running.stop();
      return done;
    },
    done,
  };
}

/**
 * Variables no service receives from the shared environment: each is handed only to the service
 * that needs it (see {@link envForService}), and nats-server and PostgreSQL receive none of them.
 */
const SECRET_VARIABLE = /^(FORGEONE_METRICS_TOKEN|FORGEONE_BOOTSTRAP_TOKEN|FORGEONE_SERVICE_KEY|FORGEONE_SERVICE_CREDENTIAL|FORGEONE_NATS_CREDENTIAL(_.*)?|FORGEONE_NATS_.*_PASSWORD|FORGEONE_SIGNER_KEY.*|FORGEONE_AUDIT_KEY.*|FORGEONE_EVENT_SIGNING_KEY|FORGEONE_CONFIG_SECRET_KEY|FORGEONE_WATCHER_TOKEN|FORGEONE_SIEM_HEC_TOKEN)$/;

/** Secrets the platform hands out, each to the one service that needs it. */
export interface PlatformSecrets {
  /** The key service credentials are derived from; only the policy service (which verifies them) receives it. */
  readonly serviceKey: string;
  /** Each service's own NATS credential (NKey seed or user:password), where there is one. */
  readonly natsCredentials?: Partial<Record<ServiceName, string>>;
  /** The platform administrator's token; only the policy service receives it. */
  readonly bootstrapToken?: string;
  /** The audit log's checkpoint key file (made by `npm start`); only the audit-projector receives its path. */
  readonly auditKeyFile?: string;
  /** The key configuration secrets are sealed with; only the registry (seals), the sandbox-runner (opens plugin configuration) and the siem-forwarder (opens tenant sinks' HEC tokens) receive it. */
  readonly configSecretKey?: string;
  /** The plugins/ directory watcher's token; only the policy service (which issues it once) receives it. */
  readonly watcherToken?: string;
}

/** The environment every service gets, without any secret; OTEL_SERVICE_NAME and the service's own secrets are added per service. */
export function serviceEnv(env: NodeJS.ProcessEnv, config: PlatformConfig, natsUrl: string, databaseUrl: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || SECRET_VARIABLE.test(key)) continue;
    if (PASSED_THROUGH.includes(key) || key.startsWith('OTEL_') || key.startsWith('FORGEONE_')) out[key] = value;
  }
  return {
    ...out,
    NATS_URL: natsUrl,
    DATABASE_URL: databaseUrl,
    FORGEONE_NAMESPACE: config.namespace,
    // Absolute, so a service started in another folder reads the same file.
    ...(config.natsCaFile ? { FORGEONE_NATS_CA_FILE: config.natsCaFile } : {}),
    FORGEONE_HTTP_PORT: String(config.httpPort),
    FORGEONE_DATA_DIR: config.dataDir,
    FORGEONE_LOG_LEVEL: config.logLevel,
  };
}

/**
 * One service's environment: the shared one plus what is that service's alone. Each service gets
 * its own NATS credential and its own service credential; only the policy service gets the
 * bootstrap token and the key that service credentials are derived from (it verifies them); only
 * the signer gets the platform's signing key (FORGEONE_SIGNER_KEY*, from `env`); only the
 * audit-projector gets the audit log's checkpoint key (FORGEONE_AUDIT_KEY* from `env`, else the file).
 */
export function envForService(name: ServiceName, shared: Record<string, string>, secrets: PlatformSecrets, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  const own: Record<string, string> = { OTEL_SERVICE_NAME: `forgeone-${name}` };
  const nats = secrets.natsCredentials?.[name];
  if (nats) own.FORGEONE_NATS_CREDENTIAL = nats;
  if (name === 'policy') {
    own.FORGEONE_SERVICE_KEY = secrets.serviceKey;
    if (secrets.bootstrapToken) own.FORGEONE_BOOTSTRAP_TOKEN = secrets.bootstrapToken;
    if (secrets.watcherToken) own.FORGEONE_WATCHER_TOKEN = secrets.watcherToken;
  } else {
    own.FORGEONE_SERVICE_CREDENTIAL = `fos_${name}_${createHmac('sha256', secrets.serviceKey).update(name, 'utf8').digest('base64url')}`;
  }
  if (secrets.configSecretKey && (name === 'registry' || name === 'sandbox-runner' || name === 'siem-forwarder')) own.FORGEONE_CONFIG_SECRET_KEY = secrets.configSecretKey;
  if (name === 'signer') {
    for (const [key, value] of Object.entries(env)) if (key.startsWith('FORGEONE_SIGNER_KEY') && value !== undefined) own[key] = value;
  }
  if (name === 'audit-projector') {
    for (const [key, value] of Object.entries(env)) if (key.startsWith('FORGEONE_AUDIT_KEY') && value !== undefined) own[key] = value;
    if (secrets.auditKeyFile && !own.FORGEONE_AUDIT_KEY && !own.FORGEONE_AUDIT_KEY_FILE) own.FORGEONE_AUDIT_KEY_FILE = secrets.auditKeyFile;
  }
  // Every service checks the scrape token of its own metrics endpoint.
  if (env.FORGEONE_METRICS_TOKEN) own.FORGEONE_METRICS_TOKEN = env.FORGEONE_METRICS_TOKEN;
  // The collector's token goes to the one service that sends to it.
  if (name === 'siem-forwarder' && env.FORGEONE_SIEM_HEC_TOKEN) own.FORGEONE_SIEM_HEC_TOKEN = env.FORGEONE_SIEM_HEC_TOKEN;
  return { ...shared, ...own };
}

/**
 * For an external NATS: each service's own credential from `FORGEONE_NATS_CREDENTIAL_<SERVICE>`
 * (`-` as `_`). All or none: a partial set would leave some services on NATS_URL's credential.
 */
export function externalServiceCredentials(env: NodeJS.ProcessEnv, services: readonly ServiceName[] = SERVICES): Partial<Record<ServiceName, string>> {
  const variable = (service: ServiceName) => `FORGEONE_NATS_CREDENTIAL_${service.replace(/-/g, '_').toUpperCase()}`;
  const given = services.filter((service) => env[variable(service)]?.trim());
  if (given.length === 0) return {};
  const missing = services.filter((service) => !given.includes(service));
  if (missing.length > 0) {
    throw new Error(`${missing.map(variable).join(', ')} not set: with an external NATS give every service its own credential, or none (all then use NATS_URL's)`);
  }
  return Object.fromEntries(given.map((service) => [service, env[variable(service)]!.trim()]));
}

function forgetPlatformVariables(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(env)) if (SECRET_VARIABLE.test(key) || /^(FORGEONE_.*|NATS_URL|DATABASE_URL)$/.test(key)) delete env[key];
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
      return `service ${exit.service} exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})${exit.failures > 1 ? `, ${exit.failures} times in a row soon after starting` : ''}`;
    case 'stopped':
      return 'stopped on request';
  }
}
