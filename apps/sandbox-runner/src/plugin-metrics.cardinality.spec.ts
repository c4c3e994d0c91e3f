// The cardinality cap against a real plugin: a wasm module that reports 10,000 distinct metric
// names through the `metric` hook, run in the sandbox, its samples exported as the invoker does.
import { readFileSync } from 'node:fs';
import { SandboxHost } from '@forgeone/sandbox';
import { pluginMetrics, startMetrics, type MetricsEndpoint } from '@forgeone/telemetry';
import { metricValue, samplesOf, scrapeMetrics } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wabtInit from 'wabt';

const CAP = 100;
const NAMES = 10_000;
// The guest runtime keeps at most 256 samples per call, so the names come in calls of 250.
const PER_CALL = 250;
const KEY = 'acme/metric-spray@1.0.0';
const LABELS = { tenant: 'acme', plugin: 'metric-spray', version: '1.0.0', environment: 'dev' };

async function sprayWasm(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('metric-spray.wat', readFileSync(new URL('../test/plugins/metric-spray.wat', import.meta.url), 'utf8'));
  try {
    parsed.resolveNames();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

function range(start: number, count: number): Uint8Array {
  const input = Buffer.alloc(8);
  input.writeInt32LE(start, 0);
  input.writeInt32LE(count, 4);
  return input;
}

describe('plugin metrics - cardinality cap', () => {
  const host = new SandboxHost();
  let endpoint: MetricsEndpoint | undefined;

  beforeAll(async () => {
    endpoint = await startMetrics('forgeone-sandbox-runner', { port: 0, host: '127.0.0.1', pluginMetricNames: CAP });
    await host.load({
      key: KEY,
      wasm: await sprayWasm(),
      handlers: ['spray'],
      capabilities: { metrics: true },
      limits: { memoryMiB: 1, fuel: 50_000_000, timeoutMs: 10_000, maxOutputBytes: 1024, maxConcurrency: 1 },
    });
  }, 60_000);

  afterAll(async () => {
    await host.close();
    await endpoint?.close();
  });

  it('cap - a plugin reporting 10,000 distinct names exports 100 of them and counts the other 9,900 as dropped', async () => {
    let reported = 0;
    for (let start = 0; start < NAMES; start += PER_CALL) {
      const result = await host.call(KEY, 'spray', range(start, PER_CALL));
      if (!result.ok) throw new Error(`spray failed: ${result.error.code} ${result.error.message}`);
      reported += result.metrics.length;
      pluginMetrics().record(LABELS, result.metrics);
    }
    expect(reported).toBe(NAMES);

    const samples = await scrapeMetrics(endpoint!.url);
    const exported = samplesOf(samples, 'forgeone_plugin_metric_samples_total', { tenant: 'acme', plugin: 'metric-spray' });
    expect(exported).toHaveLength(CAP);
    // The first names reported are the ones kept, each counted once.
    expect(exported.map((s) => s.labels.metric).sort()).toEqual(Array.from({ length: CAP }, (_, i) => `m${String(i).padStart(5, '0')}`));
    expect(exported.every((s) => s.value === 1)).toBe(true);
    expect(metricValue(samples, 'forgeone_plugin_metric_dropped_total', { tenant: 'acme', plugin: 'metric-spray', reason: 'name_cap' })).toBe(NAMES - CAP);
    // The whole exposition stays small: no series per dropped name.
    expect(samples.filter((s) => s.name.startsWith('forgeone_plugin_metric')).length).toBeLessThanOrEqual(2 * CAP + 1);
  }, 120_000);

  it('cap - names already held keep counting after the cap is reached', async () => {
    const result = await host.call(KEY, 'spray', range(0, 3));
    if (!result.ok) throw new Error(`spray failed: ${result.error.code}`);
    pluginMetrics().record(LABELS, result.metrics);
    const samples = await scrapeMetrics(endpoint!.url);
    expect(metricValue(samples, 'forgeone_plugin_metric_sum', { plugin: 'metric-spray', metric: 'm00000' })).toBe(2);
    expect(metricValue(samples, 'forgeone_plugin_metric_sum', { plugin: 'metric-spray', metric: 'm00003' })).toBe(1);
    expect(metricValue(samples, 'forgeone_plugin_metric_dropped_total', { plugin: 'metric-spray', reason: 'name_cap' })).toBe(NAMES - CAP);
  }, 60_000);
});
