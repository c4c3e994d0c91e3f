import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForgeOneError } from '@forgeone/contracts';
import { runCli } from '../test/cli-runner.js';
import { startGatewayPeer } from '../test/gateway-peer.js';
import { createApiClient } from './api-client.js';

const TOKEN = 'tok-5ecret-value';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const MANIFEST = {
  name: 'forgeone/hello',
  version: '1.0.0',
  abi: 1,
  description: 'Says hello',
  handlers: ['greet'],
  capabilities: { log: true },
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 },
};
const WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xfe, 0xff]);
const ENTRY = {
  eventId: 'e-2',
  subject: 'forgeone/hello',
  actor: 'p-admin',
  tenant: 'default',
  recordedAt: '2026-11-27T10:00:01.000Z',
  hash: 'h2',
  prevHash: 'h1',
  traceparent: null,
};
const installationReply = (version: string) => ({ name: 'forgeone/hello', version, environment: 'staging', digest: DIGEST, eventId: 'e-9', sequence: 9, projected: true });

type Peer = Awaited<ReturnType<typeof startGatewayPeer>>;
let peer: Peer;
let pluginDir: string;
const peers: Peer[] = [];

beforeAll(async () => {
  pluginDir = await mkdtemp(join(tmpdir(), 'forgeone-cli-publish-'));
  await mkdir(join(pluginDir, 'hello'));
  await writeFile(join(pluginDir, 'hello', 'forgeone.plugin.json'), JSON.stringify(MANIFEST, null, 2));
  await writeFile(join(pluginDir, 'hello', 'plugin.wasm'), WASM);
  peer = await startGatewayPeer((request) => {
    const path = request.url.split('?')[0];
    // plugin show lists the latest test run per environment; one plugin has runs.
    if (request.method === 'GET' && path === '/v1/plugins/acme/unmetered/test-runs') {
      const run = (environment: string, version: string, sequence: number, passed: boolean, flagged: boolean) => ({
        runId: `00000000-0000-4000-8000-00000000000${sequence}`,
        name: 'acme/unmetered',
        version,
        digest: DIGEST,
        environment,
        trigger: 'command',
        runner: 'runner-1',
        actor: 'dev-1',
        startedAt: '2026-11-27T09:00:00.000Z',
        completedAt: '2026-11-27T09:00:01.000Z',
        passed,
        vectors: [{ index: 0, handler: 'greet', passed, outputSha256: null, error: null, durationMs: 0.1, fuel: 10, memoryPeakBytes: 65536, outputBytes: 0 }],
        totals: { durationMs: 0.1, fuel: 10, memoryPeakBytes: 65536, outputBytes: 0 },
        comparedWith: null,
        limitFactor: 1.5,
        regressions: [],
        flagged,
        sequence,
      });
      return { status: 200, body: { runs: [run('staging', '1.0.0', 3, true, true), run('staging', '0.9.0', 2, false, false), run('qa', '1.0.0', 1, false, false)] } };
    }
    if (request.method === 'GET' && path.endsWith('/test-runs')) return { status: 200, body: { runs: [] } };
    if (request.method === 'POST' && path === '/v1/plugins') {
      const manifest = (request.body as { manifest: { version: string } }).manifest;
      if (manifest.version === '1.0.0') {
        return { status: 201, body: { name: 'forgeone/hello', version: '1.0.0', digest: DIGEST, sizeBytes: 10, eventId: 'e-3', sequence: 3, projected: true } };
      }
    }
    if (request.method === 'POST' && path === '/v1/environments/staging/installations') {
      return {
        status: 409,
        body: {
          error: {
            code: 'REGISTRY.ALREADY_INSTALLED',
            message: 'forgeone/hello is already installed in staging at 1.0.0; use plugin upgrade to change its version',
            details: { problems: ['installed: 1.0.0', 'requested: 1.0.0'] },
          },
        },
      };
    }
    if (request.method === 'PUT' && path === '/v1/environments/staging/installations/forgeone/hello') {
      return { status: 200, body: { ...installationReply((request.body as { version: string }).version), projected: false } };
    }
    if (request.method === 'POST' && path === '/v1/environments/staging/installations/forgeone/hello/rollback') {
      return { status: 200, body: installationReply((request.body as { version: string }).version) };
    }
    if (request.method === 'DELETE' && path === '/v1/environments/staging/installations/forgeone/hello') {
      return { status: 200, body: installationReply('1.1.0') };
    }
    if (request.method === 'GET' && path === '/v1/plugins') {
      return {
        status: 200,
        body: {
          plugins: [
            {
              name: 'forgeone/hello',
              latestVersion: '1.1.0',
              versions: ['1.0.0', '1.1.0'],
              installations: [{ environment: 'staging', version: '1.1.0', digest: DIGEST, status: 'active', updatedAt: '2026-11-27T10:00:00.000Z' }],
            },
            { name: 'acme/pii-redactor', latestVersion: '2.0.0-rc.1', versions: ['2.0.0-rc.1'], installations: [] },
          ],
        },
      };
    }
    if (request.method === 'GET' && path === '/v1/plugins/forgeone/hello/history') {
      return {
        status: 200,
        body: {
          events: [
            { ...ENTRY, sequence: 3, type: 'io.forgeone.plugin.version_published.v1', occurredAt: '2026-11-27T09:00:00.000Z', data: { name: 'forgeone/hello', version: '1.0.0' } },
            {
              ...ENTRY,
              sequence: '4',
              type: 'io.forgeone.plugin.upgraded.v1',
              occurredAt: '2026-11-27T10:00:00.000Z',
              data: { name: 'forgeone/hello', fromVersion: '1.0.0', version: '1.1.0', environment: 'staging' },
            },
            {
              ...ENTRY,
              sequence: 5,
              type: 'io.forgeone.plugin.rolled_back.v1',
              occurredAt: '2026-11-27T11:00:00.000Z',
              data: { name: 'forgeone/hello', fromVersion: '1.1.0', version: '1.0.0', environment: 'staging', reason: 'drops\nrequests' },
            },
          ],
        },
      };
    }
    if (request.method === 'GET' && path === '/v1/plugins/forgeone/hello') {
      return {
        status: 200,
        body: {
          name: 'forgeone/hello',
          latestVersion: '1.0.0',
          versions: [
            { version: '1.0.0', digest: DIGEST, sizeBytes: 2048, publisher: 'forgeone', publishedAt: '2026-11-27T09:00:00.000Z', signature: null, manifest: MANIFEST },
            {
              version: '1.0.1',
              digest: DIGEST,
              sizeBytes: 2048,
              publisher: 'forgeone',
              publishedAt: '2026-11-27T10:00:00.000Z',
              signature: { envelopeDigest: DIGEST, signedAt: '2026-11-27T10:00:00.000Z' },
              privateEgress: ['127.0.0.1:8080', 'localhost'],
              manifest: MANIFEST,
            },
          ],
          installations: [],
        },
      };
    }
    if (request.method === 'GET' && path === '/v1/plugins/acme/notes') {
      const usage = (usedBytes: number, usedKeys: number) => ({ usedBytes, usedKeys, maxBytes: 8 * 1024 * 1024, maxKeys: 10_000 });
      return {
        status: 200,
        body: {
          name: 'acme/notes',
          latestVersion: '1.0.0',
          versions: [{ version: '1.0.0', digest: DIGEST, sizeBytes: 2048, publisher: 'acme', publishedAt: '2026-11-27T09:00:00.000Z', signature: null, manifest: { ...MANIFEST, description: 'Keeps notes' } }],
          installations: [],
          storage: {
            tenant: { usedBytes: 3 * 1024 * 1024, usedKeys: 120, maxBytes: 64 * 1024 * 1024, maxKeys: 100_000 },
            environments: [
              { environment: 'production', version: null, ...usage(20, 2) },
              { environment: 'staging', version: '1.0.0', ...usage(1536, 7) },
            ],
          },
        },
      };
    }
    if (request.method === 'GET' && path === '/v1/plugins/acme/unmetered') {
      return { status: 200, body: { name: 'acme/unmetered', latestVersion: '1.0.0', versions: [], installations: [], storage: null } };
    }
    if (request.method === 'GET' && path === '/v1/audit-log') return { status: 200, body: { entries: [] } };
    if (request.method === 'GET' && path === '/v1/plugins/acme/missing') {
      return { status: 404, body: { error: { code: 'QUERY.NOT_FOUND', message: 'no plugin named acme/missing; run forgeone plugin list' } } };
    }
    if (path === '/v1/plugins/acme/html') return { status: 502, raw: '<html>Bad Gateway</html>' };
    if (path === '/v1/plugins/acme/hang') return undefined;
    return { status: 404, body: { error: { code: 'COMMAND.UNKNOWN', message: `no route ${request.method} ${path}` } } };
  });
  peers.push(peer);
});

afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await rm(pluginDir, { recursive: true, force: true });
});

afterEach(() => {
  peer.received.length = 0;
});

const env = () => ({ FORGEONE_API: peer.url, FORGEONE_TOKEN: TOKEN });

describe('forgeone against a gateway over HTTP', () => {
  it('publishes a folder: manifest as written, base64 wasm, bearer token; prints the reply as JSON', async () => {
    const result = await runCli(['plugin', 'publish', 'hello', '--json'], env(), pluginDir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ name: 'forgeone/hello', version: '1.0.0', digest: DIGEST, sizeBytes: 10, eventId: 'e-3', sequence: 3, projected: true });

    const [request] = peer.received;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/plugins');
    expect(request.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    const body = request.body as { manifest: unknown; wasm: string };
    expect(body.manifest).toEqual(MANIFEST);
    expect([...Buffer.from(body.wasm, 'base64')]).toEqual([...WASM]);
  });

  it('prints a one-line summary without --json and never prints the token', async () => {
    const result = await runCli(['plugin', 'publish', join(pluginDir, 'hello')], { ...env(), FORGEONE_API: `${peer.url}/` });
    expect(result).toEqual({ code: 0, stdout: 'published forgeone/hello@1.0.0 sha256:0123456789ab… (seq 3)\n', stderr: '' });
  });

  it('sends upgrade and remove to the installation path and says when projections lag', async () => {
    const upgraded = await runCli(['plugin', 'upgrade', 'forgeone/hello@1.1.0', '--env', 'staging'], env());
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout).toBe('upgraded forgeone/hello to 1.1.0 in staging sha256:0123456789ab… (seq 9; not yet visible in list and show, which are still catching up)\n');
    expect(peer.received[0]).toMatchObject({ method: 'PUT', url: '/v1/environments/staging/installations/forgeone/hello', body: { version: '1.1.0' } });

    const removed = await runCli(['plugin', 'remove', 'forgeone/hello', '--env', 'staging', '--json'], env());
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual(installationReply('1.1.0'));
    expect(peer.received[1]).toMatchObject({ method: 'DELETE', url: '/v1/environments/staging/installations/forgeone/hello', body: undefined });
  });

  it('sends rollback with its trimmed reason to the installation rollback path', async () => {
    const rolled = await runCli(['plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'staging', '--reason', '  1.1.0 drops requests '], env());
    expect(rolled).toEqual({ code: 0, stdout: 'rolled back forgeone/hello to 1.0.0 in staging sha256:0123456789ab… (seq 9)\n', stderr: '' });
    expect(peer.received[0]).toMatchObject({
      method: 'POST',
      url: '/v1/environments/staging/installations/forgeone/hello/rollback',
      body: { version: '1.0.0', reason: '1.1.0 drops requests' },
    });
    const json = await runCli(['plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'staging', '--reason', 'again', '--json'], env());
    expect(JSON.parse(json.stdout)).toEqual(installationReply('1.0.0'));
  });

  it('lists plugins as an aligned table and passes --env as a query', async () => {
    const result = await runCli(['plugin', 'list', '--env', 'staging'], env());
    expect(result.code).toBe(0);
    expect(peer.received[0].url).toBe('/v1/plugins?environment=staging');
    expect(result.stdout).toBe(
      [
        'NAME               VERSION     ENVIRONMENT  STATUS     DIGEST',
        'forgeone/hello     1.1.0       staging      active     sha256:0123456789ab…',
        'acme/pii-redactor  2.0.0-rc.1  -            published  -',
        '',
      ].join('\n'),
    );
  });

  it('shows history as a table and sends audit filters as query parameters', async () => {
    const history = await runCli(['plugin', 'history', 'forgeone/hello'], env());
    expect(history.code).toBe(0);
    expect(history.stdout).toBe(
      [
        'SEQ  TIME                  EVENT                     VERSION        ENVIRONMENT  ACTOR    REASON',
        '3    2026-11-27T09:00:00Z  plugin.version_published  1.0.0          -            p-admin  -',
        '4    2026-11-27T10:00:00Z  plugin.upgraded           1.0.0 → 1.1.0  staging      p-admin  -',
        '5    2026-11-27T11:00:00Z  plugin.rolled_back        1.1.0 → 1.0.0  staging      p-admin  drops requests',
        '',
      ].join('\n'),
    );

    const audit = await runCli(['audit', 'log', '--plugin', 'forgeone/hello', '--since', '2026-11-01', '--limit', '5'], env());
    expect(audit).toEqual({ code: 0, stdout: 'no audit entries match\n', stderr: '' });
    const query = new URL(peer.received[1].url, peer.url).searchParams;
    expect(Object.fromEntries(query)).toEqual({ plugin: 'forgeone/hello', since: '2026-11-01T00:00:00.000Z', limit: '5' });
  });

  it('shows a plugin with its versions and installations, and which versions may reach private addresses', async () => {
    const result = await runCli(['plugin', 'show', 'forgeone/hello'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'forgeone/hello  latest 1.0.0',
        'Says hello',
        '',
        'VERSION  DIGEST                SIZE     PUBLISHER  PUBLISHED             SIGNED',
        '1.0.0    sha256:0123456789ab…  2.0 KiB  forgeone   2026-11-27T09:00:00Z  no',
        '1.0.1    sha256:0123456789ab…  2.0 KiB  forgeone   2026-11-27T10:00:00Z  yes',
        '1.0.1 may reach private addresses: 127.0.0.1:8080, localhost',
        '',
        'not installed in any environment',
        '',
      ].join('\n'),
    );
  });

  it('shows storage quota and usage per environment and the tenant total, or says none is known', async () => {
    const result = await runCli(['plugin', 'show', 'acme/notes'], env());
    expect(result.code).toBe(0);
    expect(result.stdout.split('not installed in any environment\n')[1]).toBe(
      [
        '',
        'storage (tenant total: 3.0 MiB of 64 MiB, 120 of 100000 keys)',
        'ENVIRONMENT  VERSION  STORED   QUOTA    KEYS  KEY QUOTA',
        'production   -        20 B     8.0 MiB  2     10000',
        'staging      1.0.0    1.5 KiB  8.0 MiB  7     10000',
        '',
      ].join('\n'),
    );
    const unknown = await runCli(['plugin', 'show', 'acme/unmetered'], env());
    expect(unknown.stdout).toContain('\nstorage usage unknown: no sandbox-runner answered\n');
    expect(unknown.stdout).toContain(
      [
        '',
        'latest test runs',
        'ENVIRONMENT  VERSION  RESULT           VECTORS  TRIGGER  COMPLETED',
        'qa           1.0.0    FAILED           0/1      command  2026-11-27T09:00:01Z',
        'staging      1.0.0    passed, FLAGGED  1/1      command  2026-11-27T09:00:01Z',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 on an error reply and prints its message, code and problems on stderr', async () => {
    const result = await runCli(['plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging'], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        'error: forgeone/hello is already installed in staging at 1.0.0; use plugin upgrade to change its version (REGISTRY.ALREADY_INSTALLED)',
        '  - installed: 1.0.0',
        '  - requested: 1.0.0',
        '',
      ].join('\n'),
    );
    expect(peer.received[0].body).toEqual({ name: 'forgeone/hello', version: '1.0.0' });
  });

  it('with --json, writes the error object on stderr and nothing on stdout', async () => {
    const result = await runCli(['--json', 'plugin', 'show', 'acme/missing'], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'QUERY.NOT_FOUND', message: 'no plugin named acme/missing; run forgeone plugin list' } });
  });

  it('exits 1 with a clear message when the answer is not JSON', async () => {
    const result = await runCli(['plugin', 'show', 'acme/html'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('with HTTP 502 and a body that is not JSON');
    expect(result.stderr).toContain('(SERVICE.INTERNAL)');
  });

  it('exits 1 and says to start the platform when the port is closed', async () => {
    const closed = await startGatewayPeer(() => ({ status: 200, body: {} }));
    await closed.close();
    const result = await runCli(['plugin', 'list'], { FORGEONE_API: closed.url, FORGEONE_TOKEN: TOKEN });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error: cannot reach the ForgeOne API at ${closed.url}: is the platform running? start it with \`npm start\` (SERVICE.UNAVAILABLE)\n`);

    const json = await runCli(['plugin', 'list', '--json'], { FORGEONE_API: closed.url });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'SERVICE.UNAVAILABLE', details: { api: closed.url, cause: 'ECONNREFUSED' } } });
  });

  it('gives up on a server that never answers', async () => {
    const client = createApiClient({ baseUrl: peer.url, timeoutMs: 200 });
    const error = await client.showPlugin('acme/hang').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeOneError);
    expect((error as ForgeOneError).code).toBe('SERVICE.TIMEOUT');
  });

  it('sends no Authorization header without a token', async () => {
    await createApiClient({ baseUrl: peer.url }).listPlugins();
    expect(peer.received[0].headers['authorization']).toBeUndefined();
  });

  it('sends a W3C traceparent: one new trace for all requests of a client, a parent span id per request', async () => {
    const client = createApiClient({ baseUrl: peer.url, traceparent: '' });
    await client.listPlugins();
    await client.listPlugins();
    const [first, second] = peer.received.map((r) => String(r.headers['traceparent']));
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(second.slice(0, 35)).toBe(first.slice(0, 35));
    expect(second.slice(36, 52)).not.toBe(first.slice(36, 52));
    await createApiClient({ baseUrl: peer.url, traceparent: '' }).listPlugins();
    expect(String(peer.received[2].headers['traceparent']).slice(3, 35)).not.toBe(first.slice(3, 35));
  });

  it('continues the caller\'s trace from TRACEPARENT, and ignores one that is not W3C', async () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { code } = await runCli(['plugin', 'list', '--json'], { FORGEONE_API: peer.url, FORGEONE_TOKEN: TOKEN, TRACEPARENT: given });
    expect(code).toBe(0);
    expect(peer.received[0].headers['traceparent']).toBe(given);
    await createApiClient({ baseUrl: peer.url, traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }).listPlugins();
    expect(String(peer.received[1].headers['traceparent'])).toMatch(/^00-(?!0{32})[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
