import { resolve } from 'node:path';
import { assertValidNamespace } from '@forgeone/contracts';
import { z } from 'zod';
import { readNatsCaFile } from './nats-url.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The platform's configuration, read from the environment (README, variables). */
export interface PlatformConfig {
  /** External NATS server; when absent the platform starts `nats-server` itself. */
  readonly natsUrl?: string;
  /** Absolute path of the CA file for TLS to the external NATS (FORGEONE_NATS_CA_FILE); set, TLS is required. */
  readonly natsCaFile?: string;
  /** External Postgres; when absent the platform starts an embedded Postgres. */
  readonly databaseUrl?: string;
  /** Port of the gateway's HTTP API. */
  readonly httpPort: number;
  /** Absolute path of the folder holding embedded NATS and Postgres data. */
  readonly dataDir: string;
  /** First admin token. Secret: log {@link redactConfig} output, never the config itself. */
  readonly bootstrapToken?: string;
  /** Prefix for stream, subjects, buckets and consumers ('' = none). */
  readonly namespace: string;
  readonly logLevel: LogLevel;
  /** Where the service serves Prometheus metrics; no port means none. The token is secret. */
  readonly metrics: MetricsConfig;
  /** How many sandbox-runner processes `npm start` runs (FORGEONE_SANDBOX_RUNNERS, 1..16, default 1). */
  readonly sandboxRunners: number;
}

/** FORGEONE_METRICS_PORT, _HOST, _TOKEN and FORGEONE_PLUGIN_METRIC_NAMES_MAX. */
export interface MetricsConfig {
  /** Absent: none for a single service, consecutive ports from 9464 under `npm start`. */
  readonly port?: number;
  /** FORGEONE_METRICS_PORT=off: no endpoint anywhere, not even under `npm start`. */
  readonly off?: boolean;
  readonly host: string;
  readonly token?: string;
  readonly pluginMetricNames: number;
  /** FORGEONE_METRICS_TOGGLE_SIGNAL: each such signal pauses or resumes recording (to measure what it costs). */
  readonly toggleSignal?: 'SIGUSR2';
}

/** One problem with one environment variable. */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/** Thrown by {@link loadConfig}; the message lists every bad variable and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG.INVALID';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
  }
}

// Compose files and shells often set a variable to '' to mean "not set".
const unsetIfEmpty = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const NATS_SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);
const POSTGRES_SCHEMES = new Set(['postgres:', 'postgresql:']);

// NATS accepts a comma-separated server list, each with or without a scheme.
const natsUrl = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .refine(
      (value) =>
        value.split(',').every((server) => {
          const withScheme = server.includes('://') ? server.trim() : `nats://${server.trim()}`;
          try {
            const url = new URL(withScheme);
            return NATS_SCHEMES.has(url.protocol) && url.hostname !== '';
          } catch {
            return false;
          }
        }),
      { message: 'must be a NATS URL such as nats://127.0.0.1:4222 (several may be separated by commas)' },
    )
    .optional(),
);

const databaseUrl = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return POSTGRES_SCHEMES.has(url.protocol) && url.hostname !== '';
        } catch {
          return false;
        }
      },
      { message: 'must be a Postgres URL such as postgres://user:password@127.0.0.1:5432/forgeone' },
    )
    .optional(),
);

const httpPort = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .default('8080')
    .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535, {
      error: (issue) => `must be a port number between 1 and 65535 (got "${String(issue.input)}")`,
    })
    .transform(Number),
);

// Read and parsed at start, so a wrong path or a file that is not a certificate stops the start, naming it.
const natsCaFile = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .superRefine((value, ctx) => {
      try {
        readNatsCaFile(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
);

const metricsPort = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .refine((value) => value === 'off' || (/^\d+$/.test(value) && Number(value) <= 65535), {
      error: (issue) => `must be a port number between 0 and 65535, 0 for any free port, or off (got "${String(issue.input)}")`,
    })
    .transform((value) => (value === 'off' ? ('off' as const) : Number(value)))
    .optional(),
);

/** The most sandbox-runners `npm start` runs on one machine; more would only share the same cores. */
export const MAX_SANDBOX_RUNNERS = 16;

const sandboxRunners = z.preprocess(
  unsetIfEmpty,
  z
    .string()
    .default('1')
    .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_SANDBOX_RUNNERS, {
      error: (issue) => `must be a whole number from 1 to ${MAX_SANDBOX_RUNNERS}, the sandbox-runner processes to run (got "${String(issue.input)}")`,
    })
    .transform(Number),
);

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

const fields = z.object({
  NATS_URL: natsUrl,
  FORGEONE_NATS_CA_FILE: natsCaFile,
  DATABASE_URL: databaseUrl,
  FORGEONE_HTTP_PORT: httpPort,
  FORGEONE_DATA_DIR: z.preprocess(unsetIfEmpty, z.string().default('./.forgeone')),
  FORGEONE_BOOTSTRAP_TOKEN: z.preprocess(
    unsetIfEmpty,
    // The value is never echoed: an error message may end up in a log.
    z.string().min(16, { message: 'must be at least 16 characters long (generate one with `openssl rand -hex 32`)' }).optional(),
  ),
  FORGEONE_NAMESPACE: z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      try {
        assertValidNamespace(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  FORGEONE_LOG_LEVEL: z.preprocess(
    (value) => (typeof value === 'string' ? unsetIfEmpty(value.toLowerCase()) : value),
    z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
  FORGEONE_METRICS_PORT: metricsPort,
  FORGEONE_METRICS_HOST: z.preprocess(unsetIfEmpty, z.string().default('127.0.0.1')),
  // The value is never echoed: an error message may end up in a log.
  FORGEONE_METRICS_TOKEN: z.preprocess(unsetIfEmpty, z.string().min(16, { message: 'must be at least 16 characters long (generate one with `openssl rand -hex 32`)' }).optional()),
  FORGEONE_SANDBOX_RUNNERS: sandboxRunners,
  FORGEONE_METRICS_TOGGLE_SIGNAL: z.preprocess(unsetIfEmpty, z.enum(['SIGUSR2'], { message: 'must be SIGUSR2 (or unset: recording cannot be paused)' }).optional()),
  FORGEONE_PLUGIN_METRIC_NAMES_MAX: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .default('100')
      .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 10_000, { message: 'must be a whole number from 1 to 10000' })
      .transform(Number),
  ),
});

const schema = fields.superRefine((value, ctx) => {
  // Series name tenants' plugins: off loopback they are served only behind a token.
  if (typeof value.FORGEONE_METRICS_PORT === 'number' && !LOOPBACK.test(value.FORGEONE_METRICS_HOST) && !value.FORGEONE_METRICS_TOKEN) {
    ctx.addIssue({
      code: 'custom',
      path: ['FORGEONE_METRICS_TOKEN'],
      message: `must be set when FORGEONE_METRICS_HOST (${value.FORGEONE_METRICS_HOST}) is not a loopback address: metrics name tenants' plugins (generate one with \`openssl rand -hex 32\`)`,
    });
  }
  if (value.FORGEONE_METRICS_TOGGLE_SIGNAL && value.FORGEONE_METRICS_PORT === 'off') {
    ctx.addIssue({ code: 'custom', path: ['FORGEONE_METRICS_TOGGLE_SIGNAL'], message: 'is set but FORGEONE_METRICS_PORT is off: there is no recording to pause; unset one of them' });
  }
  // The private nats-server of `npm start` listens on loopback without TLS: a CA there would only fail later.
  if (value.FORGEONE_NATS_CA_FILE && !value.NATS_URL) {
    ctx.addIssue({ code: 'custom', path: ['FORGEONE_NATS_CA_FILE'], message: 'is set but NATS_URL is not: the CA is for TLS to a NATS you run; set NATS_URL to it, or unset FORGEONE_NATS_CA_FILE' });
  }
});

/**
 * Reads the platform configuration from environment variables (12-factor).
 * Throws a {@link ConfigError} naming every variable that is wrong.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? 'environment'), message: issue.message })),
    );
  }
  const value = parsed.data;
  return {
    ...(value.NATS_URL ? { natsUrl: value.NATS_URL } : {}),
    ...(value.FORGEONE_NATS_CA_FILE ? { natsCaFile: resolve(value.FORGEONE_NATS_CA_FILE) } : {}),
    ...(value.DATABASE_URL ? { databaseUrl: value.DATABASE_URL } : {}),
    httpPort: value.FORGEONE_HTTP_PORT,
    dataDir: resolve(value.FORGEONE_DATA_DIR),
    ...(value.FORGEONE_BOOTSTRAP_TOKEN ? { bootstrapToken: value.FORGEONE_BOOTSTRAP_TOKEN } : {}),
    namespace: value.FORGEONE_NAMESPACE,
    logLevel: value.FORGEONE_LOG_LEVEL,
    metrics: {
      ...(typeof value.FORGEONE_METRICS_PORT === 'number' ? { port: value.FORGEONE_METRICS_PORT } : {}),
      ...(value.FORGEONE_METRICS_PORT === 'off' ? { off: true } : {}),
      host: value.FORGEONE_METRICS_HOST,
      ...(value.FORGEONE_METRICS_TOKEN ? { token: value.FORGEONE_METRICS_TOKEN } : {}),
      pluginMetricNames: value.FORGEONE_PLUGIN_METRIC_NAMES_MAX,
      ...(value.FORGEONE_METRICS_TOGGLE_SIGNAL ? { toggleSignal: value.FORGEONE_METRICS_TOGGLE_SIGNAL } : {}),
    },
    sandboxRunners: value.FORGEONE_SANDBOX_RUNNERS,
  };
}

/**
 * Removes credentials from a connection URL (or a comma-separated list of them) so it can be printed:
 * `postgres://user:secret@host/db` becomes `postgres://***:***@host/db`.
 */
export function redactUrl(url: string): string {
  // Split a server list only before a scheme, so a ',' inside a password cannot expose its tail.
  return url
    .split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i)
    // Greedy up to the last '@': an unencoded '/', '?' or '@' in a password must not leak (over-redacting is fine).
    .map((part) => part.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/)?.*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}***:***@`))
    .join(',');
}

/** A copy of the configuration that is safe to log: no token, no URL credentials. */
export function redactConfig(config: PlatformConfig): Record<string, unknown> {
  const { bootstrapToken, natsUrl: nats, databaseUrl: database, metrics, ...rest } = config;
  const { token: metricsToken, ...metricsRest } = metrics;
  return {
    ...rest,
    metrics: { ...metricsRest, token: metricsToken ? '[set]' : '[not set]' },
    ...(nats ? { natsUrl: redactUrl(nats) } : {}),
    ...(database ? { databaseUrl: redactUrl(database) } : {}),
    bootstrapToken: bootstrapToken ? '[set]' : '[not set]',
  };
}
