import { DEFAULT_PLATFORM_STORAGE_SETTINGS, MIN_STORAGE_MAX_BYTES, type PlatformStorageSettings } from '@forgeone/event-store';
import bytes from 'bytes';
import { z } from 'zod';
import { ConfigError } from './config.js';

/** How the platform uses its NATS: storage sizes and replicas, usage alarms, and whether an insecure NATS is accepted. */
export interface PlatformNatsConfig {
  readonly storage: PlatformStorageSettings;
  /** FORGEONE_NATS_INSECURE=1: run on a NATS that anonymous clients may write to, loudly. */
  readonly insecure: boolean;
  /** Between two looks at storage usage (FORGEONE_STORAGE_CHECK_INTERVAL_MS). */
  readonly storageCheckIntervalMs: number;
}

const unsetIfEmpty = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const byteLimit = (fallback: number) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return fallback;
        // Units are binary (1KB = 1024 bytes), as `bytes` reads them.
        const parsed = /^\d+(\.\d+)?\s*(b|kb|mb|gb|tb)?$/i.test(value.trim()) ? bytes.parse(value) : null;
        if (parsed === null || !Number.isSafeInteger(Math.floor(parsed)) || parsed < MIN_STORAGE_MAX_BYTES) {
          ctx.addIssue({ code: 'custom', message: `must be a size of at least 1MB, in bytes or with a unit such as 512MB or 4GB (got "${value}")` });
          return z.NEVER;
        }
        return Math.floor(parsed);
      }),
  );

const schema = z.object({
  FORGEONE_NATS_REPLICAS: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .default('1')
      .refine((value) => /^[1-5]$/.test(value), { error: (issue) => `must be a number of replicas from 1 to 5 (got "${String(issue.input)}")` })
      .transform(Number),
  ),
  FORGEONE_EVENTS_MAX_BYTES: byteLimit(DEFAULT_PLATFORM_STORAGE_SETTINGS.eventsMaxBytes),
  FORGEONE_ARTIFACTS_MAX_BYTES: byteLimit(DEFAULT_PLATFORM_STORAGE_SETTINGS.artifactsMaxBytes),
  FORGEONE_PLUGIN_KV_MAX_BYTES: byteLimit(DEFAULT_PLATFORM_STORAGE_SETTINGS.pluginKvMaxBytes),
  FORGEONE_STORAGE_CHECK_INTERVAL_MS: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .default('30000')
      .refine((value) => /^\d+$/.test(value) && Number(value) >= 100, { error: (issue) => `must be a number of milliseconds of at least 100 (got "${String(issue.input)}")` })
      .transform(Number),
  ),
  FORGEONE_NATS_INSECURE: z.preprocess(
    (value) => (typeof value === 'string' ? unsetIfEmpty(value.trim().toLowerCase()) : value),
    z.enum(['1', 'true', '0', 'false'], { message: 'must be 1 (accept a NATS that anonymous clients may write to) or 0' }).optional(),
  ),
  FORGEONE_KV_REPLICAS: z.preprocess(
    unsetIfEmpty,
    z.unknown().refine((value) => value === undefined, { message: 'is no longer read: FORGEONE_NATS_REPLICAS sets the replicas of the stream and of every bucket' }),
  ),
});

/**
 * Reads FORGEONE_NATS_REPLICAS (default 1), FORGEONE_EVENTS_MAX_BYTES (4GB), FORGEONE_ARTIFACTS_MAX_BYTES
 * (4GB), FORGEONE_PLUGIN_KV_MAX_BYTES (512MB), FORGEONE_STORAGE_CHECK_INTERVAL_MS (30000) and
 * FORGEONE_NATS_INSECURE. Throws a {@link ConfigError} naming every variable that is wrong.
 */
export function loadPlatformNatsConfig(env: NodeJS.ProcessEnv = process.env): PlatformNatsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? 'environment'), message: issue.message })));
  }
  const value = parsed.data;
  return {
    storage: {
      replicas: value.FORGEONE_NATS_REPLICAS,
      eventsMaxBytes: value.FORGEONE_EVENTS_MAX_BYTES,
      artifactsMaxBytes: value.FORGEONE_ARTIFACTS_MAX_BYTES,
      pluginKvMaxBytes: value.FORGEONE_PLUGIN_KV_MAX_BYTES,
    },
    insecure: value.FORGEONE_NATS_INSECURE === '1' || value.FORGEONE_NATS_INSECURE === 'true',
    storageCheckIntervalMs: value.FORGEONE_STORAGE_CHECK_INTERVAL_MS,
  };
}
