import { run } from '../src/program.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output and only the given environment. */
export async function runCli(argv: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliResult> {
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
  });
  return { code, stdout, stderr };
}
