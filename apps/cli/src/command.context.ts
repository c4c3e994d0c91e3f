import { createApiClient, type ApiClient, type RequestTrace } from './api-client.js';
import { resolveCliConfig, type CliConfig } from './cli.config.js';
import { createProgress, type Progress } from './progress.reporter.js';

/** Where a run of the CLI reads and writes; tests pass their own to run it in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths such as `plugin publish ./hello`; defaults to process.cwd(). */
  readonly cwd?: string;
  /** Where `login` reads a token; a terminal gets a prompt that does not echo. */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** The terminal progress is drawn on; progress shows only when it is a TTY. */
  readonly stderrStream?: NodeJS.WriteStream;
}

export interface CommandContext {
  readonly io: CliIo;
  /** Built on first use, so verbs that never call the API never read its configuration. */
  api(): ApiClient;
  /** The API and token in effect (environment, then profile). */
  config(): Promise<CliConfig>;
  /** True when --json was given anywhere before "--". */
  readonly json: boolean;
  /** The --profile given anywhere before "--". */
  readonly profile: string | undefined;
  /** Prints the API reply as one JSON document with --json, else the readable rendering. */
  print(reply: unknown, render: () => string): void;
  /** A spinner on stderr when it is a terminal and --json is not given; otherwise nothing. */
  progress(text: string): Progress;
  /** Exit code for a verb that succeeds as a command but reports another outcome (`up` passes on the platform's). */
  setExitCode(code: number): void;
  readonly exitCode: number | undefined;
}

/** `requestTrace` answers the command's span, if it has one, once the verb is known (before its action runs). */
export function createCommandContext(io: CliIo, json: boolean, profile?: string, requestTrace?: () => RequestTrace | undefined): CommandContext {
  let configuration: Promise<CliConfig> | undefined;
  let client: Promise<ApiClient> | undefined;
  let exitCode: number | undefined;
  const config = () => (configuration ??= resolveCliConfig(io.env, profile));
  const real = () =>
    (client ??= config().then((c) => {
      const trace = requestTrace?.();
      return createApiClient({ baseUrl: c.apiUrl, ...(c.token ? { token: c.token } : {}), ...(trace ? { trace } : { traceparent: io.env.TRACEPARENT ?? '' }) });
    }));
  // The configuration is read asynchronously (profiles file), so every API method waits for it first.
  const lazy = new Proxy({} as ApiClient, {
    get: (_target, property) => {
      // Not a thenable: `await context.api()` must not call into it.
      if (typeof property !== 'string' || property === 'then') return undefined;
      return async (...args: unknown[]) => {
        const api = (await real()) as unknown as Record<string, (...a: unknown[]) => unknown>;
        return api[property](...args);
      };
    },
  });
  return {
    io,
    json,
    profile,
    api: () => lazy,
    config,
    print(reply, render) {
      io.stdout(json ? `${JSON.stringify(reply, null, 2)}\n` : render());
    },
    progress: (text) => createProgress(text, json ? undefined : io.stderrStream),
    setExitCode(code) {
      exitCode = code;
    },
    get exitCode() {
      return exitCode;
    },
  };
}
