import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TEST_NATS_ENV, TEST_NATS_URL } from './test-environment.js';

export interface TestPlatform {
  readonly apiUrl: string;
  readonly repoRoot: string;
  /** The platform administrator's token (FORGEONE_BOOTSTRAP_TOKEN): principal bootstrap-admin, role admin, tenant default. */
  readonly bootstrapToken: string;
  /** Process ids of the services by name, as `forgeone up --json` printed them. */
  readonly pids: Readonly<Record<string, number>>;
  /** Each service's Prometheus endpoint by name, as `forgeone up --json` printed them. */
  readonly metricsUrls: Readonly<Record<string, string>>;
  /** FORGEONE_DATA_DIR of this platform (its event writers' keys live there). */
  readonly dataDir: string;
  /** Everything the platform printed so far (for failure messages). */
  output(): string;
  /** Everything the platform and its services printed so far, untruncated (to search the logs). */
  logs(): string;
  stop(): Promise<void>;
}

export function repoRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
  }
  throw new Error(`no nx.json above ${start}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestPlatformOptions {
  readonly namespace: string;
  /** PostgreSQL to use; null: the platform starts its embedded PostgreSQL in `dataDir`. */
  readonly databaseUrl: string | null;
  /**
   * NATS to use (default the tests' shared server), one URL or a comma-separated list of a cluster's;
   * null: the platform starts its own nats-server in `dataDir`.
   */
  readonly natsUrl?: string | null;
  /** FORGEONE_NATS_CA_FILE: the CA of the NATS servers' TLS certificates (TLS then required). */
  readonly natsCaFile?: string;
  /** FORGEONE_DATA_DIR (default: the platform's default). */
  readonly dataDir?: string;
  readonly timeoutMs?: number;
  /** FORGEONE_BOOTSTRAP_TOKEN; a random one when not given (read it back from the platform). */
  readonly bootstrapToken?: string;
  /** More environment for every service, e.g. FORGEONE_AUTHZ_CACHE_TTL_MS. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A random token of 48 characters, fit for FORGEONE_BOOTSTRAP_TOKEN. */
export function randomBootstrapToken(): string {
  return `bootstrap-${randomBytes(27).toString('base64url')}`;
}

/**
 * Starts the built platform (`forgeone up --json`) as a user would, on the given NATS namespace
 * and database, with a bootstrap administrator token, a service key and a data folder of its own
 * (removed on stop), and resolves when every service is ready.
 */
export async function startTestPlatform(options: TestPlatformOptions): Promise<TestPlatform> {
  const root = repoRoot();
  const bootstrapToken = options.bootstrapToken ?? randomBootstrapToken();
  const entry = join(root, 'apps', 'cli', 'bin', 'forgeone.mjs');
  const bundle = join(root, 'apps', 'cli', 'dist', 'bundle', 'main.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build first (npm run build)`);
  const port = await freePort();
  // A folder of its own unless one is given: `npm start` makes the event writers' keys there, per platform.
  const given = options.dataDir ?? options.env?.FORGEONE_DATA_DIR;
  const ownDataDir = given === undefined ? await mkdtemp(join(tmpdir(), 'forgeone-test-platform-')) : undefined;
  const dataDir = given ?? ownDataDir!;
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  delete inherited.NATS_URL;
  delete inherited.DATABASE_URL;
  const child = spawn(process.execPath, [entry, 'up', '--json'], {
    cwd: root,
    env: {
      ...inherited,
      ...(options.natsUrl === null ? {} : { NATS_URL: options.natsUrl ?? TEST_NATS_URL }),
      ...(options.natsCaFile ? { FORGEONE_NATS_CA_FILE: options.natsCaFile } : {}),
      ...(options.databaseUrl === null ? {} : { DATABASE_URL: options.databaseUrl }),
      FORGEONE_NAMESPACE: options.namespace,
      FORGEONE_HTTP_PORT: String(port),
      FORGEONE_LOG_LEVEL: process.env.FORGEONE_LOG_LEVEL ?? 'warn',
      FORGEONE_BOOTSTRAP_TOKEN: bootstrapToken,
      // The services prove themselves to each other with credentials derived from this key.
      FORGEONE_SERVICE_KEY: randomBytes(48).toString('base64'),
      FORGEONE_DATA_DIR: dataDir,
      // The platform provisions its storage itself; the shared NATS is open to anyone (insecure mode).
      ...TEST_NATS_ENV,
      // Not the checkout's ./plugins: a test that wants the plugins directory watches a folder of its own.
      FORGEONE_WATCH: 'off',
      // No test run after each install into staging (the platform's default): scenarios count the events
      // and storage their own steps make; a test of the automatic run turns it on.
      FORGEONE_TEST_ON_INSTALL: '',
      // Each service's metrics on a free port: platforms started side by side must not collide.
      FORGEONE_METRICS_PORT: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = () => `--- stdout\n${stdout}\n--- stderr\n${stderr.slice(-20_000)}`;

  const up = await new Promise<{ apiUrl: string; pids: Record<string, number>; metrics: Record<string, string> }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform not ready in time\n${output()}`)), options.timeoutMs ?? 90_000);
    const onData = () => {
      const text = stdout.trim();
      if (!text.startsWith('{') || !text.endsWith('}')) return;
      try {
        const doc = JSON.parse(text) as { apiUrl: string; pids?: Record<string, number>; metrics?: Record<string, string> };
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve({ apiUrl: doc.apiUrl, pids: doc.pids ?? {}, metrics: doc.metrics ?? {} });
      } catch {
        // a partial line: wait for more
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code} before it was ready\n${output()}`));
    });
  }).catch(async (error: unknown) => {
    if (ownDataDir) await rm(ownDataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    apiUrl: up.apiUrl,
    repoRoot: root,
    bootstrapToken,
    pids: up.pids,
    metricsUrls: up.metrics,
    dataDir,
    output,
    logs: () => `${stdout}\n${stderr}`,
    stop: async () => {
      await stopChild(child);
      if (ownDataDir) await rm(ownDataDir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  /** FORGEONE_TOKEN; without it the CLI runs with no token at all (whatever the test process has). */
  readonly token?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Runs the `forgeone` CLI as a separate process, like a user at a shell, with `token` as FORGEONE_TOKEN. */
export function runCli(apiUrl: string, args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const root = repoRoot();
  const env: NodeJS.ProcessEnv = { ...process.env, FORGEONE_API: apiUrl, ...options.env };
  delete env.FORGEONE_TOKEN;
  if (options.token !== undefined) env.FORGEONE_TOKEN = options.token;
  return new Promise<CliRun>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'apps', 'cli', 'bin', 'forgeone.mjs'), ...args], {
      cwd: options.cwd ?? root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export interface CreatedTestToken {
  readonly tokenId: string;
  /** The token, to pass as `runCli(..., { token })`. */
  readonly token: string;
  readonly principal: string;
  readonly role: string;
  readonly tenant: string;
  readonly expiresAt?: string;
}

/**
 * Issues an API token through the CLI (`forgeone token create --json`) with the token of an
 * administrator (e.g. the platform's bootstrap token); throws with the CLI's error when refused.
 */
export async function createTokenWithCli(
  apiUrl: string,
  adminToken: string,
  request: { principal: string; role: string; tenant?: string; expires?: string },
): Promise<CreatedTestToken> {
  const args = ['token', 'create', '--principal', request.principal, '--role', request.role, '--json'];
  if (request.tenant !== undefined) args.push('--tenant', request.tenant);
  if (request.expires !== undefined) args.push('--expires', request.expires);
  const result = await runCli(apiUrl, args, { token: adminToken });
  if (result.code !== 0) throw new Error(`forgeone token create for ${request.principal} (${request.role}) failed with exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as CreatedTestToken;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM (graceful) or SIGKILL (a crash); resolves once the process has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/**
 * Starts one built service (`apps/<name>/dist/main.js`) as its own process, with the test byte
 * limits and insecure mode of TEST_NATS_ENV unless `env` says otherwise. Services do not create
 * storage: provision the namespace first (provisionTestStorage).
 */
export function spawnService(name: string, env: Record<string, string>): ServiceProcess {
  // Like `npm start`, with the tracing hook (libs/telemetry's register) loaded first.
  const hook = pathToFileURL(join(repoRoot(), 'libs', 'telemetry', 'dist', 'register.js')).href;
  const child = spawn(process.execPath, ['--import', hook, join(repoRoot(), 'apps', name, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', FORGEONE_LOG_LEVEL: 'warn', ...TEST_NATS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return {
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
