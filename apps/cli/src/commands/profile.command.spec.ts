import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';

const TOKEN = 'fo_abcdefghijkl_secret-value-that-must-never-print';

describe('login and profiles', () => {
  let config: string;
  let env: Record<string, string>;
  const cli = (argv: string[], extra: Record<string, string> = {}, stdin?: string) => runCli(argv, { ...env, ...extra }, undefined, stdin);
  const apiOf = async (argv: string[] = [], extra: Record<string, string> = {}) => {
    // publish --dry-run names the API and whether a token is set without sending anything.
    const result = await cli(['plugin', 'publish', join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello'), '--dry-run', '--json', ...argv], extra);
    if (result.code !== 0) throw new Error(result.stderr);
    return (JSON.parse(result.stdout) as { request: { api: string; token: string } }).request;
  };

  beforeEach(() => {
    config = mkdtempSync(join(tmpdir(), 'forgeone-profiles-'));
    env = { XDG_CONFIG_HOME: config };
  });
  afterEach(() => rmSync(config, { recursive: true, force: true }));

  it('login - reads the token from stdin, stores it with mode 0600 and never prints it', async () => {
    const login = await cli(['login', '--api', 'https://forgeone.example.com/'], {}, `${TOKEN}\n`);
    expect(login).toEqual({ code: 0, stdout: `logged in: profile default uses https://forgeone.example.com (current); token stored in ${join(config, 'forgeone', 'profiles.json')}\n`, stderr: '' });
    const path = join(config, 'forgeone', 'profiles.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'forgeone')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ current: 'default', profiles: { default: { api: 'https://forgeone.example.com', token: TOKEN } } });

    const list = await cli(['profile', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/\*\s+default\s+https:\/\/forgeone\.example\.com\s+stored/);
    const listJson = await cli(['profile', 'list', '--json']);
    for (const output of [login.stdout, list.stdout, listJson.stdout, listJson.stderr]) expect(output).not.toContain('secret-value');
    expect(await apiOf()).toEqual({ api: 'POST https://forgeone.example.com/v1/plugins', plugin: 'forgeone/hello@1.0.0', digest: expect.any(String), sizeBytes: expect.any(Number), signed: false, token: 'set (profile default)' } as never);
  });

  it('profiles - --profile and FORGEONE_PROFILE select one, profile use changes the current one, environment variables win', async () => {
    expect((await cli(['login', '--api', 'http://127.0.0.1:8080'], {}, 'tok-dev')).code).toBe(0);
    expect((await cli(['login', '--api', 'https://prod.example.com', '--profile', 'prod'], {}, 'tok-prod')).code).toBe(0);
    expect((await apiOf()).api).toBe('POST http://127.0.0.1:8080/v1/plugins');
    expect((await apiOf(['--profile', 'prod'])).api).toBe('POST https://prod.example.com/v1/plugins');
    expect((await apiOf([], { FORGEONE_PROFILE: 'prod' })).api).toBe('POST https://prod.example.com/v1/plugins');
    expect(await cli(['profile', 'use', 'prod'])).toMatchObject({ code: 0, stdout: 'profile prod is now current (https://prod.example.com)\n' });
    expect((await apiOf()).token).toBe('set (profile prod)');
    // FORGEONE_API and FORGEONE_TOKEN each win over the profile on their own.
    expect(await apiOf([], { FORGEONE_API: 'http://10.0.0.1:8080' })).toMatchObject({ api: 'POST http://10.0.0.1:8080/v1/plugins', token: 'set (profile prod)' });
    expect(JSON.parse(readFileSync(join(config, 'forgeone', 'profiles.json'), 'utf8')).current).toBe('prod');
  });

  it('profiles - an unknown profile, a missing token and a bad URL are usage errors that say what to do', async () => {
    const unknown = await cli(['profile', 'use', 'staging']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('profile "staging" does not exist; there are none yet (create it with forgeone login --api <url> --profile staging)');
    const option = await cli(['plugin', 'list', '--profile', 'staging']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('--profile names profile "staging", which does not exist');
    expect((await cli(['plugin', 'list'], { FORGEONE_PROFILE: 'nope' })).stderr).toContain('FORGEONE_PROFILE names profile "nope"');
    expect(await cli(['login', '--api', 'http://127.0.0.1:8080'], {}, '\n')).toMatchObject({ code: 2, stderr: expect.stringContaining('no token was given') });
    expect(await cli(['login', '--api', 'ftp://x'], {}, 'tok')).toMatchObject({ code: 2, stderr: expect.stringContaining('--api must be an http:// or https:// URL') });
    expect((await cli(['login'], {}, 'tok')).code).toBe(2);
    expect((await cli(['login', '--api', 'http://127.0.0.1:8080', '--profile', 'a b'], {}, 'tok')).code).toBe(2);
  });
});
