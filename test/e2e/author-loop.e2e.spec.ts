// README.md's five commands for a new author, extracted from the document and run as written
// against a real test platform, then the same plugin through a stored profile and the platform's
// install/upgrade/rollback dry runs, which change nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTokenWithCli,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  type CliRun,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docExamples, npxForgeoneCommands } from '../doc-examples.js';

/** The command lines of README.md's author-loop block, each split at `&&` into argument lists after `npx forgeone`. */
function readmeCommands(): string[][][] {
  const [block] = docExamples('README.md', 'author-loop', 'sh');
  return npxForgeoneCommands(block);
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
          // Before the install, the platform's dry run of it passes every check and changes nothing.
          const dry = await cli([...args, '--dry-run', '--json']);
          expect(dry.code, dry.stderr).toBe(0);
          expect(JSON.parse(dry.stdout)).toMatchObject({
            dryRun: true,
            wouldSucceed: true,
            checks: [
              { check: 'authorisation', ok: true },
              { check: 'decision', ok: true },
              { check: 'signature', ok: true },
            ],
            events: [{ type: 'io.forgeone.plugin.installed.v1', data: { name: 'acme/greeter', version: '0.1.0', environment: 'staging' } }],
            signature: { stage: 'install', mode: 'audit', ok: false, reason: 'SIGNATURE.MISSING', flagged: true },
          });
          const plain = await cli([...args, '--dry-run']);
          expect(plain.stdout).toContain('dry run of plugin install acme/greeter@0.1.0 in staging (nothing was changed): it would succeed');
          expect(plain.stdout).toMatch(/FLAG\s+signature: SIGNATURE\.MISSING, accepted and flagged in audit mode/);
          expect(JSON.parse((await cli(['plugin', 'list', '--json'])).stdout)).toMatchObject({ plugins: [{ name: 'acme/greeter', installations: [] }] });
        }
        last = await cli(args);
        expect(last.code, `forgeone ${args.join(' ')}\n${last.stdout}${last.stderr}`).toBe(0);
      }
    }
    expect(last?.stdout).toBe('hello, ada\n');
  }, 120_000);

  it('dry run - the platform judges policy, the decider and the signature policy, answers the command\'s own code and changes nothing', async () => {
    const history = async () => JSON.parse((await cli(['plugin', 'history', 'acme/greeter', '--json'])).stdout) as { events: unknown[] };
    const before = await history();
    expect(before.events.length).toBeGreaterThan(0);

    const install = await cli(['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'staging', '--dry-run']);
    expect(install.code).toBe(1);
    expect(install.stdout).toContain('dry run of plugin install acme/greeter@0.1.0 in staging (nothing was changed): the platform would refuse it');
    expect(install.stdout).toMatch(/ok\s+authorisation: passed/);
    expect(install.stdout).toMatch(/FAIL\s+decision: .*already installed in staging.*\(REGISTRY\.ALREADY_INSTALLED\)/);
    expect(install.stdout).toMatch(/not reached\s+signature/);

    const upgrade = await cli(['plugin', 'upgrade', 'acme/greeter@0.1.0', '--env', 'staging', '--dry-run', '--json']);
    expect(upgrade.code).toBe(1);
    expect(JSON.parse(upgrade.stdout)).toMatchObject({
      dryRun: true,
      wouldSucceed: false,
      checks: [
        { check: 'authorisation', verdict: 'ok' },
        { check: 'decision', verdict: 'FAIL', message: expect.stringContaining('(REGISTRY.NOT_AN_UPGRADE)') },
        { check: 'signature', verdict: 'not reached' },
      ],
      error: { code: 'REGISTRY.NOT_AN_UPGRADE', details: { dryRun: true, failedCheck: 'decision' } },
    });

    // qa is strict (and not gated): the unsigned version is refused with the signature's reason, as the install would be.
    const strict = await cli(['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'qa', '--dry-run', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({
      checks: [{ verdict: 'ok' }, { verdict: 'ok' }, { check: 'signature', verdict: 'FAIL' }],
      error: { code: 'SIGNATURE.MISSING', details: { failedCheck: 'signature', mode: 'strict', environment: 'qa' } },
    });

    // A developer may not install into production: policy refuses the dry run as it refuses the install.
    const developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-dry', role: 'developer' })).token;
    const denied = await runCli(platform.apiUrl, ['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'production', '--dry-run'], { token: developer, cwd: work });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/FAIL\s+authorisation: .*\(AUTHZ\.DENIED\)/);

    const rollback = await cli(['plugin', 'rollback', 'acme/greeter@0.0.1', '--env', 'staging', '--reason', 'checking', '--dry-run', '--json']);
    expect(rollback.code).toBe(1);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ error: { code: 'REGISTRY.VERSION_NOT_FOUND', details: { failedCheck: 'decision' } } });

    const missing = await cli(['plugin', 'install', 'acme/greeter@9.9.9', '--env', 'production', '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('(REGISTRY.VERSION_NOT_FOUND)');
    const list = await cli(['plugin', 'list', '--env', 'production', '--json']);
    expect(JSON.parse(list.stdout)).toEqual({ plugins: [] });
    // Nothing was recorded: no plugin event and no signature result.
    expect(await history()).toEqual(before);
    // The install itself is refused with the code its dry run answered.
    const real = await cli(['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'qa', '--json']);
    expect(JSON.parse(real.stderr)).toMatchObject({ error: { code: 'SIGNATURE.MISSING' } });
    // Production is gated: a plain install is refused before its signature is looked at, and its dry run says so.
    const gated = await cli(['plugin', 'install', 'acme/greeter@0.1.0', '--env', 'production', '--dry-run', '--json']);
    expect(JSON.parse(gated.stdout)).toMatchObject({ error: { code: 'REGISTRY.GATED_ENVIRONMENT', details: { failedCheck: 'decision' } } });
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
