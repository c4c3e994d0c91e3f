import { createApiClient, type ApiClient } from './api-client.js';
import { readCliConfig } from './cli.config.js';

/** Where a run of the CLI reads and writes; tests pass their own to run it in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths such as `plugin publish ./hello`; defaults to process.cwd(). */
  readonly cwd?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  /** Built on first use, so verbs that never call the API never read its configuration. */
  api(): ApiClient;
  /** True when --json was given anywhere before "--". */
  readonly json: boolean;
  /** Prints the API reply as one JSON document with --json, else the readable rendering. */
  print(reply: unknown, render: () => string): void;
  /** Exit code for a verb that succeeds as a command but reports another outcome (`up` passes on the platform's). */
  setExitCode(code: number): void;
  readonly exitCode: number | undefined;
}

export function createCommandContext(io: CliIo, json: boolean): CommandContext {
  let client: ApiClient | undefined;
  let exitCode: number | undefined;
  return {
    io,
    json,
    api() {
      if (!client) {
        const config = readCliConfig(io.env);
        client = createApiClient({ baseUrl: config.apiUrl, ...(config.token ? { token: config.token } : {}) });
      }
      return client;
    },
    print(reply, render) {
      io.stdout(json ? `${JSON.stringify(reply, null, 2)}\n` : render());
    },
    setExitCode(code) {
      exitCode = code;
    },
    get exitCode() {
      return exitCode;
    },
  };
}
