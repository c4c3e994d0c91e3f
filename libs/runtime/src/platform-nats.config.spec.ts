import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { loadPlatformNatsConfig } from './platform-nats.config.js';

const MiB = 1024 * 1024;

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadPlatformNatsConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.variable}: ${i.message}`);
  }
  throw new Error('expected loadPlatformNatsConfig to throw');
}

describe('loadPlatformNatsConfig', () => {
  it('platform nats config - defaults: one replica, 4GB of events and artifacts, 512MB of plugin storage, a look every 30 s, secure', () => {
    expect(loadPlatformNatsConfig({})).toEqual({
      storage: { replicas: 1, eventsMaxBytes: 4096 * MiB, artifactsMaxBytes: 4096 * MiB, pluginKvMaxBytes: 512 * MiB },
      insecure: false,
      storageCheckIntervalMs: 30_000,
    });
  });

  it('platform nats config - reads sizes in bytes or with binary units, replicas, the interval and insecure mode', () => {
    expect(
      loadPlatformNatsConfig({
        FORGEONE_NATS_REPLICAS: '3',
        FORGEONE_EVENTS_MAX_BYTES: '10GB',
        FORGEONE_ARTIFACTS_MAX_BYTES: '1048576',
        FORGEONE_PLUGIN_KV_MAX_BYTES: '64 mb',
        FORGEONE_STORAGE_CHECK_INTERVAL_MS: '500',
        FORGEONE_NATS_INSECURE: '1',
      }),
    ).toEqual({
      storage: { replicas: 3, eventsMaxBytes: 10 * 1024 * MiB, artifactsMaxBytes: MiB, pluginKvMaxBytes: 64 * MiB },
      insecure: true,
      storageCheckIntervalMs: 500,
    });
    expect(loadPlatformNatsConfig({ FORGEONE_NATS_INSECURE: 'true' }).insecure).toBe(true);
    expect(loadPlatformNatsConfig({ FORGEONE_NATS_INSECURE: '0' }).insecure).toBe(false);
    expect(loadPlatformNatsConfig({ FORGEONE_NATS_INSECURE: '' }).insecure).toBe(false);
  });

  it('platform nats config - names every bad variable', () => {
    expect(
      problems({
        FORGEONE_NATS_REPLICAS: '0',
        FORGEONE_EVENTS_MAX_BYTES: '10',
        FORGEONE_ARTIFACTS_MAX_BYTES: 'lots',
        FORGEONE_PLUGIN_KV_MAX_BYTES: '4GiB',
        FORGEONE_STORAGE_CHECK_INTERVAL_MS: '10',
        FORGEONE_NATS_INSECURE: 'yes',
        FORGEONE_KV_REPLICAS: '3',
      }),
    ).toEqual([
      'FORGEONE_NATS_REPLICAS: must be a number of replicas from 1 to 5 (got "0")',
      'FORGEONE_EVENTS_MAX_BYTES: must be a size of at least 1MB, in bytes or with a unit such as 512MB or 4GB (got "10")',
      'FORGEONE_ARTIFACTS_MAX_BYTES: must be a size of at least 1MB, in bytes or with a unit such as 512MB or 4GB (got "lots")',
      'FORGEONE_PLUGIN_KV_MAX_BYTES: must be a size of at least 1MB, in bytes or with a unit such as 512MB or 4GB (got "4GiB")',
      'FORGEONE_STORAGE_CHECK_INTERVAL_MS: must be a number of milliseconds of at least 100 (got "10")',
      'FORGEONE_NATS_INSECURE: must be 1 (accept a NATS that anonymous clients may write to) or 0',
      'FORGEONE_KV_REPLICAS: is no longer read: FORGEONE_NATS_REPLICAS sets the replicas of the stream and of every bucket',
    ]);
  });
});
