import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, removeNamespace, repoRoot, runCli, startTestPlatform, testNamespace, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('platform - call an installed plugin through the CLI', () => {
  const namespace = testNamespace('e2e-call');
  let db: TestDatabase;
  let platform: TestPlatform;
  // The platform administrator (FORGEONE_BOOTSTRAP_TOKEN) publishes, installs and calls.
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('publishes and installs examples/plugins/hello, then calls greet in staging', async () => {
    const publish = await cli('plugin', 'publish', join(repoRoot(), 'examples', 'plugins', 'hello'));
    expect(publish.stderr).toBe('');
    expect(publish.code).toBe(0);
    const install = await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging');
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);

    const greet = await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world');
    expect(greet).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });

    const json = await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'json', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ plugin: 'forgeone/hello', handler: 'greet', environment: 'staging', version: '1.0.0', output: 'hello, json' });
  });

  it('publishes the AssemblyScript examples with the CLI and runs them on the platform: redaction, storage, the http allow-list', async () => {
    const examples = join(repoRoot(), 'examples', 'plugins');
    for (const name of ['pii-redactor', 'counter', 'fetcher']) {
      const publish = await cli('plugin', 'publish', join(examples, name));
      expect(publish.stderr).toBe('');
      expect((await cli('plugin', 'install', `forgeone/${name}@1.0.0`, '--env', 'staging')).code).toBe(0);
    }
    const call = (plugin: string, handler: string, input: string) => cli('plugin', 'call', plugin, handler, '--env', 'staging', '--input', input, '--json');

    // pii-redactor: every test vector of its manifest, through the bus, the runner and a worker.
    const manifest = JSON.parse(readFileSync(join(examples, 'pii-redactor', 'forgeone.plugin.json'), 'utf8')) as { tests: Array<{ input: string; expect: string }> };
    for (const vector of manifest.tests.filter((t) => t.input !== '')) {
      const redacted = await call('forgeone/pii-redactor', 'redact', vector.input);
      expect(redacted.code).toBe(0);
      expect(JSON.parse(redacted.stdout)).toMatchObject({ output: vector.expect, version: '1.0.0' });
    }

    // counter: platform storage persists across calls (each starts from a fresh instance's state) and is per name.
    const counts = [];
    for (const name of ['ada', 'ada', 'bob', 'ada']) counts.push((JSON.parse((await call('forgeone/counter', 'increment', name)).stdout) as { output: string }).output);
    expect(counts).toEqual(['1', '2', '1', '3']);

    // plugin show: the counter's storage in staging, against its default quota. Two keys, "count:ada"
    // and "count:bob" (9 bytes each), hold "3" and "1": 20 bytes.
    const show = await cli('plugin', 'show', 'forgeone/counter', '--json');
    expect(show.code).toBe(0);
    const storage = (JSON.parse(show.stdout) as { storage: { environments: unknown[]; tenant: { usedKeys: number } } }).storage;
    expect(storage.environments).toEqual([{ environment: 'staging', version: '1.0.0', usedBytes: 20, usedKeys: 2, maxBytes: 8 * 1024 * 1024, maxKeys: 10_000 }]);
    expect(storage.tenant.usedKeys).toBeGreaterThanOrEqual(2);
    const table = await cli('plugin', 'show', 'forgeone/counter');
    expect(table.stdout).toMatch(/\nstaging +1\.0\.0 +20 B +8\.0 MiB +2 +10000\n/);

    // fetcher: a host outside its allow-list is refused by the runner, and the guest says so.
    const refused = await call('forgeone/fetcher', 'fetch', 'http://127.0.0.1:9/');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'SANDBOX.GUEST_ERROR', message: expect.stringContaining("its host is not in the plugin's http allow-list") } });
  });

  it("an empty input fails with exit 1 and the guest's own error message", async () => {
    const empty = await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', '');
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('greet needs a name: the input was empty');
    expect(empty.stderr).toContain('(SANDBOX.GUEST_ERROR)');
  });

  it('a plugin that is not installed in the environment is exit 1 SANDBOX.NOT_FOUND', async () => {
    const absent = await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'production', '--input', 'world');
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/plugin forgeone\/hello is not installed in production.*\(SANDBOX\.NOT_FOUND\)\n$/);
    const unknown = await cli('plugin', 'call', 'acme/nowhere', 'greet', '--env', 'staging', '--input', 'world', '--json');
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: 'SANDBOX.NOT_FOUND' } });
  });
});
