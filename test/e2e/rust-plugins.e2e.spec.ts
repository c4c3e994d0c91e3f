// Rust plugins on the platform: the Rust examples and the SDK's test plugin are built from source
// (sdk/rust, Debian's toolchain), published, installed and called through the CLI like the
// AssemblyScript ones, and a Rust panic reaches the caller as a guest error with its message.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, removeNamespace, repoRoot, runCli, startTestPlatform, testNamespace, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildExample } from '../../examples/plugins/plugin-builder.mjs';

const build = buildExample as (dir: string) => Promise<Uint8Array>;

describe('platform - Rust plugins built with sdk/rust', () => {
  const namespace = testNamespace('e2e-rust');
  let db: TestDatabase;
  let platform: TestPlatform;
  let work: string;
  let hooks: Server;
  let hooksHost: string;
  const delivered: string[] = [];
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });
  const call = (plugin: string, handler: string, input: string) => cli('plugin', 'call', plugin, handler, '--env', 'staging', '--input', input, '--json');

  /** Builds a plugin folder from source into a copy under `work`, with `edit` applied to its manifest. */
  async function fromSource(source: string, edit: (manifest: Record<string, unknown>) => void = () => undefined): Promise<string> {
    const dir = join(work, source.split('/').at(-1)!);
    cpSync(join(repoRoot(), source), dir, { recursive: true, filter: (path) => !path.endsWith('plugin.wasm') });
    writeFileSync(join(dir, 'plugin.wasm'), await build(join(repoRoot(), source)));
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    edit(manifest);
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify(manifest));
    return dir;
  }

  async function publishAndInstall(dir: string, plugin: string): Promise<void> {
    const publish = await cli('plugin', 'publish', dir);
    expect(publish.stderr).toBe('');
    expect(publish.code).toBe(0);
    const install = await cli('plugin', 'install', `${plugin}@1.0.0`, '--env', 'staging');
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-rust-e2e-'));
    hooks = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        delivered.push(body);
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    hooksHost = `127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    await new Promise<void>((resolve) => hooks?.close(() => resolve()));
    rmSync(work, { recursive: true, force: true });
  });

  it('pii-redactor-rs answers every test vector of its manifest through the bus, the runner and a worker', async () => {
    const dir = await fromSource('examples/plugins/pii-redactor-rs');
    await publishAndInstall(dir, 'forgeone/pii-redactor-rs');
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as { tests: Array<{ input: string; expect: string }> };
    for (const vector of manifest.tests.filter((t) => t.input !== '')) {
      const redacted = await call('forgeone/pii-redactor-rs', 'redact', vector.input);
      expect(redacted.code, redacted.stderr).toBe(0);
      expect(JSON.parse(redacted.stdout)).toMatchObject({ output: vector.expect, version: '1.0.0' });
    }
  });

  it('webhook-relay-rs delivers through the runner\'s http client, counts in platform storage and refuses the sixth delivery in a minute', async () => {
    // Its manifest names the test server (an address the runner reaches only when named literally).
    const dir = await fromSource('examples/plugins/webhook-relay-rs', (m) => {
      (m.capabilities as Record<string, unknown>).http = { allow: [hooksHost] };
    });
    await publishAndInstall(dir, 'forgeone/webhook-relay-rs');
    // Six calls must fall in one minute of the runner's clock (this machine's): start early in a minute.
    const seconds = new Date().getUTCSeconds();
    if (seconds > 40) await new Promise((resolve) => setTimeout(resolve, (61 - seconds) * 1000));
    const input = (n: number) => JSON.stringify({ to: `http://${hooksHost}/in`, event: { n } });
    const remaining: unknown[] = [];
    for (let n = 0; n < 5; n++) {
      const relayed = await call('forgeone/webhook-relay-rs', 'relay', input(n));
      expect(relayed.code, relayed.stderr).toBe(0);
      remaining.push((JSON.parse((JSON.parse(relayed.stdout) as { output: string }).output) as { remaining: number }).remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    expect(delivered).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    const refused = await call('forgeone/webhook-relay-rs', 'relay', input(5));
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'SANDBOX.GUEST_ERROR', message: expect.stringMatching(new RegExp(`^rate limit reached for ${hooksHost.replace(/\./g, '\\.')}: 5 deliveries per minute`)) } });
    expect(delivered).toHaveLength(5);
  });

  it('a Rust panic is exit 1 with SANDBOX.GUEST_ERROR carrying the panic message and where it happened', async () => {
    const dir = await fromSource('test/examples/sdk-tour-rs');
    await publishAndInstall(dir, 'forgeone/sdk-tour-rs');
    const panicked = await cli('plugin', 'call', 'forgeone/sdk-tour-rs', 'explode', '--env', 'staging', '--input', 'one two three');
    expect(panicked.code).toBe(1);
    expect(panicked.stdout).toBe('');
    expect(panicked.stderr).toMatch(/explode panicked at src\/lib\.rs:\d+:\d+: the tour panics on purpose: 3 words \(SANDBOX\.GUEST_ERROR\)\n$/);
    const json = await call('forgeone/sdk-tour-rs', 'explode', 'one two');
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'SANDBOX.GUEST_ERROR', message: expect.stringMatching(/^explode panicked at src\/lib\.rs:\d+:\d+: index out of bounds: the len is 2 but the index is 5$/) },
    });
    // The panicked instance is gone; the plugin answers the next call.
    const after = await call('forgeone/sdk-tour-rs', 'bytes', 'abc');
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ output: 'cba' });
  });
});
