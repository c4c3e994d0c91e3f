import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { buildProgram } from '../program.js';
import { createCommandContext } from '../command.context.js';
import { HELP_EXAMPLES, leafCommands } from './help-examples.js';

describe('completion and help', () => {
  let work: string;
  let script: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-completion-'));
    const result = await runCli(['completion', 'bash']);
    expect(result.code).toBe(0);
    script = join(work, 'forgeone.bash');
    writeFileSync(script, result.stdout);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Loads the script in a real bash (failing on any error) and completes the last word of `words`. */
  function complete(...words: string[]): string[] {
    const array = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `set -eu; source "$1"; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _forgeone_completion; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', script], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  }

  it('completion bash - loads in bash without error and completes verbs and options from the program', () => {
    expect(complete('forgeone', 'plu')).toEqual(['plugin']);
    expect(complete('forgeone', 'plugin', 'te').sort()).toEqual(['test', 'test-runs']);
    expect(complete('forgeone', '--json', 'plugin', 'publish', '--d')).toEqual(['--dry-run']);
    expect(complete('forgeone', 'profile', '')).toEqual(['list', 'use', '--json', '--profile', '--help']);
    expect(complete('forgeone', 'plugin', 'test', '--http-fixtures', '')).toEqual([]);
    expect(execFileSync('bash', ['--norc', '--noprofile', '-c', 'source "$1" && complete -p forgeone', 'bash', script], { encoding: 'utf8' })).toContain('-F _forgeone_completion forgeone');
  });

  it('completion - zsh and fish scripts name every verb; an unknown shell is a usage error', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef forgeone\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await runCli(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c forgeone -n '__fish_seen_subcommand_from plugin; and not __fish_seen_subcommand_from");
    expect(fish.stdout).toContain("-a 'verify'");
    expect(await runCli(['completion', 'tcsh'])).toMatchObject({ code: 2, stderr: expect.stringContaining('"tcsh" is not a supported shell: use bash, zsh, fish') });
  });

  it('help - every verb has an example in its --help', async () => {
    const program = buildProgram(createCommandContext({ stdout: () => undefined, stderr: () => undefined, env: {} }, false));
    const leaves = leafCommands(program).map((l) => l.path);
    expect(leaves.filter((path) => !HELP_EXAMPLES[path])).toEqual([]);
    expect(Object.keys(HELP_EXAMPLES).filter((path) => !leaves.includes(path))).toEqual([]);
    for (const path of leaves) {
      const help = await runCli([...path.split(' '), '--help']);
      expect(help.code, path).toBe(0);
      expect(help.stdout, path).toMatch(new RegExp(`\\nExamples?:\\n  \\$ (\\S+=\\S+ )?forgeone ${path}|\\$ source <\\(forgeone completion`));
    }
  });
});
