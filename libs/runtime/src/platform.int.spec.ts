import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SERVICES, names } from '@forgeone/contracts';
import { removeNamespace, TEST_NATS_ENV } from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareAuditKey } from './audit-key.store.js';
import { loadOrCreateNatsCredentials } from './nats-credentials.js';
import { natsCredentialOptions } from './nats-url.js';
import { envForService, externalServiceCredentials, findRepoRoot, runPlatform, serviceEnv } from './platform.js';
import { waitForReadiness } from './readiness.js';
import { isTcpPortOpen } from './tcp-port.util.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'health-service.mjs');

// A stand-in repository whose apps/<name>/dist/main.js run the health fixture.
async function fakeRepo(root: string, mode = 'ready'): Promise<void> {
  await writeFile(join(root, 'nx.json'), '{}');
  for (const service of SERVICES) {
    const dist = join(root, 'apps', service, 'dist');
    await mkdir(dist, { recursive: true });
    await writeFile(join(dist, 'main.js'), `process.env.FIXTURE_MODE ??= ${JSON.stringify(mode)};\nawait import(${JSON.stringify(FIXTURE)});\n`);
  }
  // Every service starts with the telemetry registration hook (--import); the stand-in's registers nothing.
  const telemetry = join(root, 'libs', 'telemetry', 'dist');
  await mkdir(telemetry, { recursive: true });
  await writeFile(join(telemetry, 'register.js'), '');
  await writeFile(join(root, 'package.json'), '{"type":"module"}');
}

function captured() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('runPlatform', () => {
  let root: string;
  // Namespaces the platform provisioned on the shared NATS, removed at the end.
  const namespaces: string[] = [];
  afterAll(async () => {
    for (const namespace of namespaces) await removeNamespace(namespace);
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'forgeone-platform-'));
    // As root, the embedded Postgres runs as the OS user `postgres`, which must be able to enter the folder.
    await chmod(root, 0o711);
    await fakeRepo(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('platform - starts its own NATS and Postgres, runs every service, reports up, stops everything', async () => {
    const out = captured();
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    const platform = await runPlatform({
      env: {
        PATH: process.env.PATH,
        FORGEONE_DATA_DIR: join(root, 'data'),
        FORGEONE_NAMESPACE: namespace,
        FORGEONE_HTTP_PORT: '18080',
        FORGEONE_LOG_LEVEL: 'warn',
        FORGEONE_EXTRA: 'passed',
        // Each service's metrics on a free port, so this test cannot collide with another platform's.
        FORGEONE_METRICS_PORT: '0',
        OTEL_SERVICE_NAME: 'overridden-per-service',
        UNRELATED_SECRET: 'must-not-reach-services',
      },
      repoRoot: root,
      handleSignals: false,
      stdout: out.stream,
      stderr: new PassThrough(),
    });
    const natsPort = Number(new URL(platform.natsUrl).port);
    const pgPort = Number(new URL(platform.databaseUrl).port);
    try {
      const upLine = out.text().split('\n').find((line) => line.startsWith('ForgeOne is up'));
      expect(upLine).toMatch(
        /^ForgeOne is up: API http:\/\/127\.0\.0\.1:18080 \(API reference at http:\/\/127\.0\.0\.1:18080\/docs, OpenAPI document at http:\/\/127\.0\.0\.1:18080\/openapi\.json\), NATS nats:\/\/127\.0\.0\.1:\d+, Postgres postgres:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/forgeone$/,
      );
      // Then where each service serves its metrics, each on a port of its own (the stand-in services serve none).
      const metricsLine = out.text().split('\n').find((line) => line.startsWith('Metrics (Prometheus): '));
      expect(metricsLine).toBe(`Metrics (Prometheus): ${Object.entries(platform.metricsUrls).map(([name, url]) => `${name} ${url}`).join(', ')}`);
      expect(Object.keys(platform.metricsUrls)).toEqual([...SERVICES]);
      expect(new Set(Object.values(platform.metricsUrls)).size).toBe(SERVICES.length);
      const password = decodeURIComponent(new URL(platform.databaseUrl).password);
      expect(out.text()).not.toContain(password);

      // Each service got the platform's configuration and only the variables meant for it.
      // Its own nats-server refuses anonymous clients; the operator's credential is in the data folder.
      await expect(connect({ servers: platform.natsUrl, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
      const credentials = await loadOrCreateNatsCredentials(join(root, 'data'));
      const nc = await connect({ servers: platform.natsUrl, ...natsCredentialOptions(credentials.operator) });
      try {
        const reply = await nc.request(names(namespace).health('sandbox-runner'), '', { timeout: 2_000 });
        const seen = JSON.parse(JSON.parse(reply.string()).checks.env.detail) as Record<string, string | undefined>;
        expect(seen).toEqual({
          NATS_URL: platform.natsUrl,
          DATABASE_URL: platform.databaseUrl,
          FORGEONE_HTTP_PORT: '18080',
          FORGEONE_NAMESPACE: namespace,
          FORGEONE_DATA_DIR: join(root, 'data'),
          OTEL_SERVICE_NAME: 'forgeone-sandbox-runner',
          FORGEONE_EXTRA: 'passed',
          FORGEONE_METRICS_PORT: new URL(platform.metricsUrls['sandbox-runner']!).port,
          // Its own credentials only: the key they are derived from is the policy service's alone.
          FORGEONE_SERVICE_CREDENTIAL: expect.stringMatching(/^fos_sandbox-runner_[A-Za-z0-9_-]{43}$/),
          FORGEONE_NATS_CREDENTIAL: credentials.services['sandbox-runner'],
        });
        // The platform provisioned the storage before the services started.
        expect((await (await jetstreamManager(nc)).streams.info(names(namespace).stream)).config).toMatchObject({ deny_delete: true, max_bytes: 4 * 1024 ** 3 });
      } finally {
        await nc.close();
      }
      // The event writers' keys were made once, readable by this user alone.
      expect(statSync(join(root, 'data', 'secrets', 'event-writers.json')).mode & 0o777).toBe(0o600);
      expect(await platform.stop()).toBe(0);
    } finally {
      await platform.stop();
    }
    expect(await isTcpPortOpen('127.0.0.1', natsPort)).toBe(false);
    expect(await isTcpPortOpen('127.0.0.1', pgPort)).toBe(false);
  });

  it('platform - a service killed with SIGKILL is restarted, ready again; one that keeps failing ends the platform with exit code 1', async () => {
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    namespaces.push(namespace);
    const platform = await runPlatform({
      env: {
        PATH: process.env.PATH,
        NATS_URL: 'nats://127.0.0.1:4222',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        FORGEONE_DATA_DIR: join(root, 'data'),
        FORGEONE_NAMESPACE: namespace,
        FORGEONE_LOG_LEVEL: 'silent',
        ...TEST_NATS_ENV,
      },
      repoRoot: root,
      handleSignals: false,
      // Quick and short, so the give-up is reached in the test: restarts after 0.2 s, 0.4 s, then gives up on the third.
      restart: { initialDelayMs: 200, factor: 2, maxDelayMs: 1_000, stableAfterMs: 20_000, maxRapidFailures: 3 },
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    try {
      const pid = platform.pids.get('policy')!;
      expect(pid).toBe(findPid('policy', root));
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => platform.pids.get('policy') !== pid);
      const restarted = platform.pids.get('policy')!;
      expect(findPid('policy', root)).toBe(restarted);
      // It answers its health subject again, and the others never stopped.
      await waitForReadiness('nats://127.0.0.1:4222', namespace, [...SERVICES], 20_000, { intervalMs: 100 });
      // Two more kills within the stable period: the third failure in a row is the last.
      process.kill(restarted, 'SIGKILL');
      await waitUntil(() => platform.pids.get('policy') !== restarted);
      process.kill(platform.pids.get('policy')!, 'SIGKILL');
      expect(await platform.done).toBe(1);
      for (const service of SERVICES) expect(findPid(service, root)).toBeUndefined();
    } finally {
      await platform.stop();
    }
    // The shared NATS it was given stays up.
    expect(await isTcpPortOpen('127.0.0.1', 4222)).toBe(true);
  });

  it('platform - a service that never gets ready fails the start and leaves nothing running', async () => {
    await fakeRepo(root, 'never-ready');
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    namespaces.push(namespace);
    const start = runPlatform({
      env: {
        PATH: process.env.PATH,
        NATS_URL: 'nats://127.0.0.1:4222',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        FORGEONE_DATA_DIR: join(root, 'data'),
        FORGEONE_NAMESPACE: namespace,
        FORGEONE_LOG_LEVEL: 'silent',
        ...TEST_NATS_ENV,
      },
      repoRoot: root,
      services: ['registry'],
      readinessTimeoutMs: 1_500,
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    await expect(start).rejects.toThrow(/Services not ready after 1500 ms: registry reports not ready/);
    expect(findPid('registry', root)).toBeUndefined();
  });

  it('platform - an external NATS that lets anyone write is refused before any service starts', async () => {
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    namespaces.push(namespace);
    const { FORGEONE_NATS_INSECURE: _insecure, ...limits } = TEST_NATS_ENV;
    const start = runPlatform({
      env: {
        PATH: process.env.PATH,
        NATS_URL: 'nats://127.0.0.1:4222',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        FORGEONE_DATA_DIR: join(root, 'data'),
        FORGEONE_NAMESPACE: namespace,
        FORGEONE_LOG_LEVEL: 'silent',
        ...limits,
      },
      repoRoot: root,
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    await expect(start).rejects.toThrow(
      /^NATS nats:\/\/127\.0\.0\.1:4222 is insecure: a client without credentials may publish event subjects .* or set FORGEONE_NATS_INSECURE=1 to run anyway/,
    );
    for (const service of SERVICES) expect(findPid(service, root)).toBeUndefined();
  });

  it('platform - an unbuilt repository is reported before anything starts', async () => {
    await rm(join(root, 'apps', 'gateway', 'dist'), { recursive: true });
    await expect(
      runPlatform({ env: { FORGEONE_DATA_DIR: join(root, 'data') }, repoRoot: root, handleSignals: false }),
    ).rejects.toThrow(/Not built: .*apps\/gateway\/dist\/main\.js missing\. Run `npm run build`/);
  });

  it('serviceEnv - no secret is in the shared environment; a short service key is refused', async () => {
    const config = { httpPort: 8080, dataDir: '/tmp/x', namespace: '', logLevel: 'info', metrics: { host: '127.0.0.1', pluginMetricNames: 100 }, sandboxRunners: 1 } as const;
    const shared = serviceEnv(
      {
        FORGEONE_SERVICE_KEY: 'given'.repeat(8),
        FORGEONE_BOOTSTRAP_TOKEN: 'bootstrap-token-0123456789',
        FORGEONE_METRICS_TOKEN: 'scrape-token-0123456789',
        FORGEONE_NATS_CREDENTIAL_REGISTRY: 'registry:pw',
        FORGEONE_NATS_REGISTRY_PASSWORD: 'pw',
        FORGEONE_SIGNER_KEY: 'pem',
        FORGEONE_LOG_LEVEL: 'warn',
      },
      config,
      'nats://n',
      'postgres://p',
    );
    expect(Object.keys(shared).filter((key) => /KEY|TOKEN|CREDENTIAL|PASSWORD/.test(key))).toEqual([]);
    await expect(
      runPlatform({ env: { FORGEONE_DATA_DIR: join(root, 'data'), FORGEONE_SERVICE_KEY: 'short' }, repoRoot: root, handleSignals: false }),
    ).rejects.toThrow(/FORGEONE_SERVICE_KEY must be at least 32 characters/);
  });

  it('envForService - each service gets only its own credentials; the bootstrap token and service key only policy; the signing key only the signer', () => {
    const config = { httpPort: 8080, dataDir: '/tmp/x', namespace: '', logLevel: 'info', metrics: { host: '127.0.0.1', pluginMetricNames: 100 }, sandboxRunners: 1 } as const;
    const policy = '{"production":{"mode":"strict","threshold":2}}';
    const source = { FORGEONE_SIGNATURE_POLICY: policy, FORGEONE_SIGNER_KEY: 'pem', AWS_SECRET_ACCESS_KEY: 'x', FORGEONE_CONFIG_SECRET_KEY: 'from-the-caller' };
    const shared = serviceEnv(source, config, 'nats://n', 'postgres://p');
    expect(shared.FORGEONE_CONFIG_SECRET_KEY).toBeUndefined();
    const secrets = {
      serviceKey: 'k'.repeat(43),
      configSecretKey: 'c'.repeat(44),
      bootstrapToken: 'bootstrap-token-0123456789',
      natsCredentials: { registry: 'registry:one', 'sandbox-runner': 'sandbox-runner:two', policy: 'policy:three' },
    };
    for (const name of ['registry', 'sandbox-runner'] as const) {
      const env = envForService(name, shared, secrets, source);
      expect(env).toMatchObject({ FORGEONE_SIGNATURE_POLICY: policy, OTEL_SERVICE_NAME: `forgeone-${name}`, FORGEONE_NATS_CREDENTIAL: secrets.natsCredentials[name] });
      // The configuration key: the registry seals secrets with it, the runner opens them; nobody else gets it.
      expect(env.FORGEONE_CONFIG_SECRET_KEY).toBe(secrets.configSecretKey);
      expect(env.FORGEONE_SERVICE_CREDENTIAL).toMatch(new RegExp(`^fos_${name}_[A-Za-z0-9_-]{43}$`));
      for (const absent of ['FORGEONE_SIGNER_KEY', 'AWS_SECRET_ACCESS_KEY', 'FORGEONE_SERVICE_KEY', 'FORGEONE_BOOTSTRAP_TOKEN']) expect(env[absent], absent).toBeUndefined();
    }
    const policyEnv = envForService('policy', shared, secrets, source);
    expect(policyEnv).toMatchObject({ FORGEONE_SERVICE_KEY: secrets.serviceKey, FORGEONE_BOOTSTRAP_TOKEN: secrets.bootstrapToken, FORGEONE_NATS_CREDENTIAL: 'policy:three' });
    expect(policyEnv.FORGEONE_SERVICE_CREDENTIAL).toBeUndefined();
    expect(envForService('signer', shared, secrets, source).FORGEONE_SIGNER_KEY).toBe('pem');
    expect(envForService('gateway', shared, secrets, source).FORGEONE_NATS_CREDENTIAL).toBeUndefined();
    for (const name of ['policy', 'signer', 'gateway', 'audit-projector'] as const) expect(envForService(name, shared, secrets, source).FORGEONE_CONFIG_SECRET_KEY, name).toBeUndefined();
    // The forwarder opens tenant sinks' HEC tokens with it.
    expect(envForService('siem-forwarder', shared, secrets, source).FORGEONE_CONFIG_SECRET_KEY).toBe(secrets.configSecretKey);
  });

  it('envForService - the plugins directory watcher token only reaches the policy service, which issues it', () => {
    const config = { httpPort: 8080, dataDir: '/tmp/x', namespace: '', logLevel: 'info', metrics: { host: '127.0.0.1', pluginMetricNames: 100 }, sandboxRunners: 1 } as const;
    const token = `fo_${'a'.repeat(16)}_${'B'.repeat(43)}`;
    const shared = serviceEnv({ FORGEONE_WATCHER_TOKEN: 'from-the-caller' }, config, 'nats://n', 'postgres://p');
    expect(shared.FORGEONE_WATCHER_TOKEN).toBeUndefined();
    const secrets = { serviceKey: 'k'.repeat(43), watcherToken: token };
    expect(envForService('policy', shared, secrets).FORGEONE_WATCHER_TOKEN).toBe(token);
    for (const name of ['registry', 'signer', 'gateway', 'sandbox-runner', 'audit-projector'] as const) expect(envForService(name, shared, secrets).FORGEONE_WATCHER_TOKEN, name).toBeUndefined();
  });

  it('envForService - only the audit-projector gets the audit key: the file npm start made, or the one the operator gave', () => {
    const config = { httpPort: 8080, dataDir: '/tmp/x', namespace: '', logLevel: 'info', metrics: { host: '127.0.0.1', pluginMetricNames: 100 }, sandboxRunners: 1 } as const;
    const source = { FORGEONE_AUDIT_KEY_PASSPHRASE: 'secret-pass' };
    const shared = serviceEnv(source, config, 'nats://n', 'postgres://p');
    expect(shared.FORGEONE_AUDIT_KEY_PASSPHRASE).toBeUndefined();
    const secrets = { serviceKey: 'k'.repeat(43), auditKeyFile: '/tmp/x/secrets/audit-key.pem' };
    for (const name of ['registry', 'signer', 'policy', 'sandbox-runner', 'gateway'] as const) {
      const env = envForService(name, shared, secrets, source);
      expect(Object.keys(env).filter((key) => key.startsWith('FORGEONE_AUDIT_KEY')), name).toEqual([]);
    }
    expect(envForService('audit-projector', shared, secrets, source)).toMatchObject({ FORGEONE_AUDIT_KEY_FILE: secrets.auditKeyFile, FORGEONE_AUDIT_KEY_PASSPHRASE: 'secret-pass' });
    const given = envForService('audit-projector', shared, secrets, { FORGEONE_AUDIT_KEY: 'base64-der' });
    expect(given.FORGEONE_AUDIT_KEY).toBe('base64-der');
    expect(given.FORGEONE_AUDIT_KEY_FILE).toBeUndefined();
  });

  it('audit key - made once in the data folder (0600), the same on every later start, refused when others may read it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'forgeone-audit-key-'));
    try {
      const logger = pino({ level: 'silent' });
      const file = await prepareAuditKey(dataDir, logger);
      const pem = await readFile(file, 'utf8');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await prepareAuditKey(dataDir, logger)).toBe(file);
      expect(await readFile(file, 'utf8')).toBe(pem);
      await chmod(file, 0o644);
      await expect(prepareAuditKey(dataDir, logger)).rejects.toThrow(/may be read by other users/);
      await chmod(file, 0o600);
      await writeFile(file, 'not a key');
      await expect(prepareAuditKey(dataDir, logger)).rejects.toThrow(/does not hold the audit log's checkpoint key/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('externalServiceCredentials - all services or none', () => {
    expect(externalServiceCredentials({})).toEqual({});
    expect(() => externalServiceCredentials({ FORGEONE_NATS_CREDENTIAL_REGISTRY: 'registry:x' })).toThrow(/FORGEONE_NATS_CREDENTIAL_SIGNER.*FORGEONE_NATS_CREDENTIAL_SANDBOX_RUNNER/);
    expect(externalServiceCredentials({ FORGEONE_NATS_CREDENTIAL_REGISTRY: 'registry:x' }, ['registry'])).toEqual({ registry: 'registry:x' });
  });

  it('findRepoRoot - finds the folder holding nx.json', () => {
    expect(findRepoRoot()).toBe(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'));
  });
});

// The pid of the node process running apps/<service>/dist/main.js under root, from /proc.
function findPid(service: string, root: string): number | undefined {
  const entry = join(root, 'apps', service, 'dist', 'main.js');
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(join('/proc', name, 'cmdline'), 'utf8').split('\0');
      if (cmdline.includes(entry)) return Number(name);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

async function waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
