import { Readable } from 'node:stream';
import { run } from '../src/program.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output, only the given environment and, when given, `stdin` piped in. */
export async function runCli(argv: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string, stdin?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    ...(cwd ? { cwd } : {}),
    ...(stdin !== undefined ? { stdin: Readable.from([stdin]) } : {}),
  });
  return { code, stdout, stderr };
}
