// README.md's five commands for a new author, extracted from the document and run as written
// against a real test platform, then the same plugin through a stored profile and install/upgrade
// dry runs that change nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, removeNamespace, repoRoot, runCli, startTestPlatform, testNamespace, type CliRun, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The command lines of README.md's author-loop block, each split at `&&` into argument lists after `npx forgeone`. */
function readmeCommands(): string[][][] {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const match = /<!-- example: author-loop -->\n```sh\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('README.md has no author-loop example block');
  return match[1].split('\n').map((line) =>
    line.split(' && ').map((command) => {
      const words = command.trim().split(/\s+/);
      if (words[0] !== 'npx' || words[1] !== 'forgeone') throw new Error(`README command does not start with npx forgeone: ${command}`);
      return words.slice(2);
    }),
  );
}

describe('README - the author loop against a platform', () => {
  const namespace = testNamespace('e2e-author');
  let db: TestDatabase;
  let platform: TestPlatform;
  let work: string;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runCli(platform.apiUrl, args, { token: platform.bootstrapToken, cwd: work, env });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-author-e2e-'));
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('README - new, build, test --local, publish, install and call run as written; the plugin answers in staging', async () => {
    const lines = readmeCommands();
    expect(lines).toHaveLength(5);
    let last: CliRun | undefined;
    for (const line of lines) {
      for (const args of line) {
        if (args[1] === 'install') {
          // Before the install, a dry run of it passes and changes nothing.
          const dry = await cli([...args, '--dry-run', '--json']);
          expect(dry.code, dry.stderr).toBe(0);
          expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, wouldSucceed: true });
        }
        last = await cli(args);
        expect(last.code, `forgeone ${args.join(' ')}\n${last.stdout}${last.stderr}`).toBe(0);
      }
    }
    expect(last?.stdout).toBe('hello, ada\n');
  }, 120_000);

  it('dry run - install of an installed version and an upgrade to the same version would fail, saying what was not checked', async () => {
    const install = await cli(['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'staging', '--dry-run']);
    expect(install.code).toBe(1);
    expect(install.stdout).toContain('already installed in staging at 0.1.0');
    expect(install.stdout).toContain('the platform has no dry-run command');
    const upgrade = await cli(['plugin', 'upgrade', 'acme/greeter@0.1.0', '--env', 'staging', '--dry-run', '--json']);
    expect(upgrade.code).toBe(1);
    expect(JSON.parse(upgrade.stdout)).toMatchObject({
      wouldSucceed: false,
      checks: expect.arrayContaining([
        { check: 'version', ok: true, message: expect.any(String) },
        { check: 'installation', ok: false, message: 'staging runs 0.1.0; 0.1.0 is not higher (REGISTRY.NOT_AN_UPGRADE; plugin rollback goes back)' },
      ]),
    });
    const missing = await cli(['plugin', 'install', 'acme/greeter@9.9.9', '--env', 'production', '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('acme/greeter@9.9.9 is not published');
    const list = await cli(['plugin', 'list', '--env', 'production', '--json']);
    expect(JSON.parse(list.stdout)).toEqual({ plugins: [] });
  });

  it('profiles - a token stored by login (from stdin) reaches the platform without FORGEONE_API or FORGEONE_TOKEN', async () => {
    const config = join(work, 'config');
    execFileSync(process.execPath, [join(repoRoot(), 'apps', 'cli', 'bin', 'forgeone.mjs'), 'login', '--api', platform.apiUrl, '--profile', 'staging'], {
      input: `${platform.bootstrapToken}\n`,
      env: { ...process.env, XDG_CONFIG_HOME: config, FORGEONE_API: '', FORGEONE_TOKEN: '' },
    });
    const viaProfile = await runCli('', ['plugin', 'call', 'acme/greeter', 'greet', '--env', 'staging', '--input', 'grace', '--profile', 'staging'], { cwd: work, env: { XDG_CONFIG_HOME: config } });
    expect(viaProfile).toMatchObject({ code: 0, stdout: 'hello, grace\n' });
    const unknown = await runCli('', ['plugin', 'list', '--profile', 'prod'], { cwd: work, env: { XDG_CONFIG_HOME: config } });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--profile names profile "prod", which does not exist');
  });

  it('progress - a spinner on a terminal (a real pty through script), none with --json or when piped', () => {
    const bin = join(repoRoot(), 'apps', 'cli', 'bin', 'forgeone.mjs');
    const onTerminal = (args: string) => execFileSync('script', ['-qec', `stty cols 100; ${process.execPath} ${bin} ${args}`, '/dev/null'], { cwd: work, encoding: 'utf8', timeout: 30_000 });
    expect(onTerminal('plugin test --local greeter')).toContain('running 2 test vector(s) of acme/greeter');
    expect(onTerminal('plugin test --local greeter --json')).not.toContain('running 2 test vector(s)');
    const piped = execFileSync(process.execPath, [bin, 'plugin', 'test', '--local', 'greeter'], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(piped).not.toContain('running');
    expect(piped).toContain('all 2 test vector(s) passed');
  });
});
