import { describe, expect, it } from 'vitest';
import { runCli } from '../test/cli-runner.js';

// Nothing listens here: a usage error must be reported before any request is attempted.
const env = { FORGEONE_API: 'http://127.0.0.1:9' };

describe('forgeone usage errors', () => {
  it('exits 2 for a malformed reference and says how to write one', async () => {
    const result = await runCli(['plugin', 'install', 'acme/hello', '--env', 'staging'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: "acme/hello" has no version: write <publisher>/<plugin>@<version>, e.g. acme/pii-redactor@1.4.2 (COMMAND.INVALID)\n');
  });

  it('exits 2 when --env is missing', async () => {
    const result = await runCli(['plugin', 'upgrade', 'acme/hello@1.1.0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: required option '--env <env>' not specified");
  });

  it('exits 2 for a rollback without a reason, or with a blank or overlong one', async () => {
    const missing = await runCli(['plugin', 'rollback', 'acme/hello@1.0.0', '--env', 'production'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: required option '--reason <text>' not specified");
    const blank = await runCli(['plugin', 'rollback', 'acme/hello@1.0.0', '--env', 'production', '--reason', '  '], env);
    expect(blank).toEqual({ code: 2, stdout: '', stderr: 'error: --reason must say why the plugin is rolled back; it is kept in the audit log (COMMAND.INVALID)\n' });
    const long = await runCli(['plugin', 'rollback', 'acme/hello@1.0.0', '--env', 'production', '--reason', 'x'.repeat(501)], env);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('--reason is 501 characters; say why in at most 500');
  });

  it('exits 2 for an unknown verb, an unknown option, a missing argument and an extra argument', async () => {
    for (const argv of [
      ['plugin', 'frobnicate'],
      ['plugin', 'list', '--colour'],
      ['plugin', 'show'],
      ['plugin', 'show', 'acme/a', 'acme/b'],
      ['nothing'],
    ]) {
      const result = await runCli(argv, env);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toMatch(/^error: /);
    }
  });

  it('exits 2 and prints help on stderr for a verb group without a verb', async () => {
    const result = await runCli(['plugin'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: forgeone plugin');
  });

  it('exits 2 for bad option values', async () => {
    expect((await runCli(['audit', 'log', '--limit', '0'], env)).stderr).toContain('--limit "0" must be a whole number');
    expect((await runCli(['audit', 'log', '--since', 'last tuesday'], env)).code).toBe(2);
    expect((await runCli(['plugin', 'list', '--env', 'Production'], env)).code).toBe(2);
    expect((await runCli(['plugin', 'remove', 'acme/hello@1.0.0', '--env', 'staging'], env)).code).toBe(2);
    expect((await runCli(['plugin', 'list'], { FORGEONE_API: 'ftp://example.com' })).stderr).toContain('FORGEONE_API must be an http:// or https:// URL');
  });

  it('with --json, writes a usage error as one JSON object on stderr and nothing else', async () => {
    const result = await runCli(['plugin', 'install', 'acme/hello@one', '--env', 'staging', '--json'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const reply = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    expect(reply.error.code).toBe('COMMAND.INVALID');
    expect(reply.error.message).toContain('"one" must be a semantic version');

    const missing = await runCli(['--json', 'plugin', 'install', 'acme/hello@1.0.0'], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stderr)).toEqual({ error: { code: 'COMMAND.INVALID', message: "required option '--env <env>' not specified" } });
  });

  it('prints help and the version on stdout with exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: forgeone');
    expect(help.stdout).toContain('plugin');
    expect(help.stdout).toMatch(/^\s+token\b/m);
    expect(help.stdout).toMatch(/^\s+policy\b/m);
    const version = await runCli(['--version']);
    expect(version).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });
});
