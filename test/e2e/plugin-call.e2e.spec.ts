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
