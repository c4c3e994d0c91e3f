import { loadConfig } from '@forgeone/runtime';
import { createLogger, platformMetrics, type MetricsEndpoint } from '@forgeone/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsFor } from './bus-service.host.js';

let endpoint: MetricsEndpoint | undefined;
let before: NodeJS.SignalsListener[] = [];

afterEach(async () => {
  // Only the handlers this test added.
  for (const listener of process.listeners('SIGUSR2')) if (!before.includes(listener)) process.off('SIGUSR2', listener);
  await endpoint?.close();
  endpoint = undefined;
});

describe('metrics toggle signal', () => {
  it('FORGEONE_METRICS_TOGGLE_SIGNAL=SIGUSR2: each SIGUSR2 pauses, then resumes, the recording', async () => {
    before = process.listeners('SIGUSR2');
    const config = loadConfig({ FORGEONE_METRICS_PORT: '0', FORGEONE_METRICS_TOGGLE_SIGNAL: 'SIGUSR2', FORGEONE_LOG_LEVEL: 'error' });
    endpoint = await startMetricsFor('sandbox-runner', config, createLogger('sandbox-runner'));
    expect(platformMetrics().recording).toBe(true);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(endpoint?.recording).toBe(false);
    expect(platformMetrics().recording).toBe(false);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(platformMetrics().recording).toBe(true);
  });

  it('without the setting no handler is added', async () => {
    before = process.listeners('SIGUSR2');
    endpoint = await startMetricsFor('sandbox-runner', loadConfig({ FORGEONE_METRICS_PORT: '0', FORGEONE_LOG_LEVEL: 'error' }), createLogger('sandbox-runner'));
    expect(process.listeners('SIGUSR2')).toEqual(before);
  });
});
