import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, type CliRun } from './test-platform.js';

/** The JSON error a refused `--json` command prints on stderr. */
export interface CliErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** The parsed stdout of a `--json` command that must have succeeded (undefined when it printed nothing). */
export function cliSucceeded<T = Record<string, unknown>>(result: CliRun): T {
  if (result.code !== 0) throw new Error(`expected exit 0, got ${result.code}: ${result.stderr}`);
  return (result.stdout.trim() ? JSON.parse(result.stdout) : undefined) as T;
}

/** The error of a `--json` command that must have been refused (exit 1, nothing on stdout). */
export function cliRefusal(result: CliRun): CliErrorBody {
  if (result.code !== 1) throw new Error(`expected a refusal (exit 1), got exit ${result.code}: ${result.stdout}${result.stderr}`);
  if (result.stdout !== '') throw new Error(`a refused command printed on stdout: ${result.stdout}`);
  return (JSON.parse(result.stderr) as { error: CliErrorBody }).error;
}

/** A copy of examples/plugins/hello in `workDir`, renamed (and re-versioned) in its manifest; returns the folder. */
export function helloPluginCopy(workDir: string, name: string, version?: string): string {
  const dir = join(workDir, `${name.replace('/', '-')}-${version ?? 'as-published'}`);
  cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name, ...(version !== undefined ? { version } : {}) }, null, 2));
  return dir;
}

/**
 * Every entry of an audit log the CLI reads, page by page (`--after` the last sequence seen), so a log
 * longer than one page (1000 entries) is read whole. `read` runs `forgeone audit log ... --json` with the
 * arguments it is given added.
 */
export async function wholeAuditLog<T extends { readonly sequence: number }>(read: (...args: string[]) => Promise<CliRun>, ...filters: string[]): Promise<T[]> {
  const entries: T[] = [];
  for (;;) {
    const after = entries.length === 0 ? [] : ['--after', String(entries[entries.length - 1]!.sequence)];
    const page = cliSucceeded<{ entries: T[] }>(await read('audit', 'log', ...filters, '--limit', '1000', ...after)).entries;
    entries.push(...page);
    if (page.length < 1000) return entries;
  }
}
