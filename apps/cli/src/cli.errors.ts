import { ForgeOneError } from '@forgeone/contracts';

/** A mistake on the command line (bad reference, bad option value); the process exits with 2. */
export class UsageError extends ForgeOneError {
  override readonly name: string = 'UsageError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('COMMAND.INVALID', message, details);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

// JSON consumers always get a code; people are spared one that says nothing.
const UNCODED = 'CLI.FAILED';

interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

// Errors from other libraries (e.g. the runtime's ConfigError) carry a code without being ForgeOneErrors.
function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof ForgeOneError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : UNCODED, message: error.message };
  }
  return { code: UNCODED, message: String(error) };
}

/** The code an error is reported under (CLI.FAILED when it has none), as `--json` prints it. */
export function errorCodeOf(error: unknown): string {
  return toErrorBody(error).code;
}

/** Renders an error for stderr: the JSON error object with --json, else `error: <message> (<CODE>)` and its problems. */
export function formatError(error: unknown, json: boolean): string {
  const body = toErrorBody(error);
  if (json) return `${JSON.stringify({ error: body })}\n`;
  // The code goes on the first line, so a multi-line message (e.g. a configuration report) reads cleanly.
  const [first, ...rest] = body.message.split('\n');
  const lines = [body.code === UNCODED ? `error: ${first}` : `error: ${first} (${body.code})`, ...rest];
  const problems = body.details?.['problems'];
  if (Array.isArray(problems)) {
    for (const problem of problems) lines.push(`  - ${typeof problem === 'string' ? problem : JSON.stringify(problem)}`);
  }
  // A refused promotion names every unmet gate: one line each, code and reason.
  const gates = body.details?.['gates'];
  if (Array.isArray(gates)) {
    for (const gate of gates as { code?: unknown; message?: unknown }[]) lines.push(`  - ${String(gate.code)}: ${String(gate.message)}`);
  }
  return `${lines.join('\n')}\n`;
}
