import { createNoopMeter } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { InProcessSeries } from './in-process.series.js';
import { sampleValue as sample, scrapeSeries as scrape } from './testing/series.scrape.js';
import { PlatformMetrics } from './platform.metrics.js';

const HELLO = { tenant: 'default', plugin: 'forgeone/hello', version: '1.0.0', environment: 'staging' };
const LABELS = 'tenant="default",plugin="forgeone/hello",version="1.0.0",environment="staging"';

describe('platform metrics', () => {
  it('pluginCall - every call of a version lands in its series, by outcome; what a call did not report is not recorded', async () => {
    const series = new InProcessSeries();
    const metrics = new PlatformMetrics(createNoopMeter(), series);
    metrics.pluginCall({ ...HELLO, outcome: 'ok', seconds: 0.0002, fuelUsed: 1_500, memoryBytes: 65_536 });
    metrics.pluginCall({ ...HELLO, outcome: 'ok', seconds: 0.002, fuelUsed: 50 });
    metrics.pluginCall({ ...HELLO, outcome: 'SANDBOX.FUEL_EXHAUSTED', seconds: 0.01, fuelUsed: 2_000_000 });
    metrics.pluginCall({ ...HELLO, version: '1.1.0', outcome: 'ok', seconds: 0.001 });
    metrics.pluginCall({ tenant: 'default', plugin: '-', version: '-', environment: '-', outcome: 'AUTHZ.DENIED' });
    const text = await scrape(series);
    expect(sample(text, `forgeone_plugin_calls_total{${LABELS},outcome="ok"}`)).toBe(2);
    expect(sample(text, `forgeone_plugin_calls_total{${LABELS},outcome="SANDBOX.FUEL_EXHAUSTED"}`)).toBe(1);
    expect(sample(text, `forgeone_plugin_call_duration_seconds_count{${LABELS}}`)).toBe(3);
    expect(sample(text, `forgeone_plugin_call_duration_seconds_bucket{${LABELS},le="0.00025"}`)).toBe(1);
    expect(sample(text, `forgeone_plugin_fuel_used_sum{${LABELS}}`)).toBe(2_001_550);
    expect(sample(text, `forgeone_plugin_memory_high_water_bytes_count{${LABELS}}`)).toBe(1);
    expect(sample(text, 'forgeone_plugin_calls_total{tenant="default",plugin="forgeone/hello",version="1.1.0",environment="staging",outcome="ok"}')).toBe(1);
    expect(sample(text, 'forgeone_plugin_calls_total{tenant="default",plugin="-",version="-",environment="-",outcome="AUTHZ.DENIED"}')).toBe(1);
    expect(text).not.toContain('forgeone_plugin_call_duration_seconds_count{tenant="default",plugin="-"');
  });

  it('pluginCall and command - past the bound label sets, records are still counted (by look-up, into the overflow series)', async () => {
    const series = new InProcessSeries();
    const metrics = new PlatformMetrics(createNoopMeter(), series);
    for (let i = 0; i < 100; i++) metrics.pluginCall({ ...HELLO, outcome: `E${i}` });
    for (let i = 0; i < 100; i++) metrics.command('verb.0', `E${i}`, 0.001);
    for (let i = 0; i < 2100; i++) metrics.pluginCall({ ...HELLO, version: `1.0.${i}`, outcome: 'ok', seconds: 0.001 });
    for (let i = 0; i < 2100; i++) metrics.command(`verb.${i}`, 'ok', 0.001);
    // Summed from the collected data points: every record is in some series, the overflow one included.
    const { resourceMetrics } = await series.collect();
    const metric = (name: string) => resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === name)!;
    const total = (name: string) => metric(name).dataPoints.reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
    const pointOf = (name: string, attributes: Record<string, string>) => metric(name).dataPoints.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))?.value;
    expect(total('forgeone_plugin_calls')).toBe(2200);
    expect(pointOf('forgeone_plugin_calls', { ...HELLO, outcome: 'E99' })).toBe(1);
    expect(total('forgeone_plugin_call_duration_seconds')).toBe(2100);
    expect(metric('forgeone_plugin_calls').dataPoints).toHaveLength(2000);
    expect(total('forgeone_commands')).toBe(2200);
    expect(pointOf('forgeone_commands', { verb: 'verb.0', outcome: 'E99' })).toBe(1);
    expect(total('forgeone_command_duration_seconds')).toBe(2200);
  });

  it('authzCacheLookup - counts hits and misses apart; no series before the first look-up', async () => {
    const series = new InProcessSeries();
    const metrics = new PlatformMetrics(createNoopMeter(), series);
    expect(await scrape(series)).not.toContain('forgeone_authz_cache_lookups_total');
    metrics.authzCacheLookup(true);
    metrics.authzCacheLookup(true);
    metrics.authzCacheLookup(false);
    const text = await scrape(series);
    expect(sample(text, 'forgeone_authz_cache_lookups_total{result="hit"}')).toBe(2);
    expect(sample(text, 'forgeone_authz_cache_lookups_total{result="miss"}')).toBe(1);
  });

  it('no-op set - records nothing and says so', async () => {
    const series = new InProcessSeries('forgeone', false);
    const metrics = new PlatformMetrics(createNoopMeter(), series);
    expect(metrics.recording).toBe(false);
    metrics.pluginCall({ ...HELLO, outcome: 'ok', seconds: 0.001 });
    metrics.command('verb', 'ok', 0.001);
    const { resourceMetrics } = await series.collect();
    expect(resourceMetrics.scopeMetrics[0].metrics).toEqual([]);
  });
});
