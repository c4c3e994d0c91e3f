// Examples taken from the documents themselves, so tests run what a reader copies. A block is marked
// by an HTML comment on the line before its fence: <!-- example: NAME -->.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Every block of `lang` marked `name` in `file` (relative to the repository root), in document order. */
export function docExamples(file: string, name: string, lang: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const blocks = [...text.matchAll(new RegExp(`<!-- example: ${escaped} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``, 'g'))].map((m) => m[1]);
  if (blocks.length === 0) throw new Error(`${file} has no ${lang} block marked <!-- example: ${name} -->`);
  return blocks;
}

/** A shell block of `npx forgeone ...` lines as argument lists: one list per line, split at ` && `. */
export function npxForgeoneCommands(block: string): string[][][] {
  return block.split('\n').map((line) =>
    line.split(' && ').map((command) => {
      const words = command.trim().split(/\s+/);
      if (words[0] !== 'npx' || words[1] !== 'forgeone') throw new Error(`the example's command does not start with npx forgeone: ${command}`);
      return words.slice(2);
    }),
  );
}

export interface ShellRun {
  readonly code: number;
  readonly stdout: string;
  /** bash's trace of each command (`+ ...`) interleaved with the commands' own stderr. */
  readonly stderr: string;
}

/**
 * Runs a shell example as written with bash (`set -euo pipefail`: the first failing command ends it).
 * `npx forgeone` runs this checkout's built CLI; any other `npx` is refused, so nothing is fetched from
 * a registry. Placeholders such as `<tokenId>` are replaced first, by the caller's shell text.
 */
export function runShellExample(script: string, options: { cwd: string; env: NodeJS.ProcessEnv; placeholders?: Record<string, string> }): Promise<ShellRun> {
  let body = script;
  for (const [placeholder, value] of Object.entries(options.placeholders ?? {})) body = body.replaceAll(placeholder, value);
  const leftover = /<[a-zA-Z][^<>\n]*>/.exec(body);
  if (leftover) throw new Error(`the example still holds the placeholder ${leftover[0]}`);
  const cli = join(root, 'apps', 'cli', 'bin', 'forgeone.mjs');
  const prelude = [
    'set -euo pipefail',
    `npx() { if [ "$1" != forgeone ]; then echo "the example may only run npx forgeone, not npx $1" >&2; return 97; fi; shift; ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} "$@"; }`,
    'set -x',
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${prelude}\n${body}\n`], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
