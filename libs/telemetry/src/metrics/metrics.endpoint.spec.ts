import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost, MetricsSettingsError, pluginMetrics, startMetrics, type MetricsEndpoint } from './metrics.endpoint.js';
import { platformMetrics } from './platform.metrics.js';

const TOKEN = 'scrape-token-0123456789abcdef';
let endpoint: MetricsEndpoint | undefined;

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

// The value of the one sample line that starts with `series` (name and labels as printed).
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).split(' ')[0]);
}

describe('metrics endpoint', () => {
  it('metrics - no port, no endpoint: the instruments are no-ops', async () => {
    expect(await startMetrics('forgeone-test', { host: '127.0.0.1' })).toBeUndefined();
    expect(() => platformMetrics().command('registry.publish', 'ok', 0.01)).not.toThrow();
  });

  it('metrics - serves what was recorded in the Prometheus text format, once per event', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1' });
    expect(endpoint?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const metrics = platformMetrics();
    metrics.command('registry.publish', 'ok', 0.002);
    metrics.command('registry.publish', 'REGISTRY.VERSION_EXISTS', 0.001);
    metrics.command('registry.publish', 'ok', 0.003);
    metrics.authzCacheLookup(true);
    metrics.authzCacheLookup(true);
    metrics.authzCacheLookup(true);
    metrics.authzCacheLookup(false);
    metrics.eventAppend('plugin', 'conflict');
    metrics.consumerProgress('audit-projector', 0, Date.now() - 5000, Date.now());

    const response = await fetch(endpoint!.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, 'forgeone_commands_total{verb="registry.publish",outcome="ok"}')).toBe(2);
    expect(sample(text, 'forgeone_commands_total{verb="registry.publish",outcome="REGISTRY.VERSION_EXISTS"}')).toBe(1);
    expect(sample(text, 'forgeone_command_duration_seconds_count{verb="registry.publish"}')).toBe(3);
    expect(sample(text, 'forgeone_command_duration_seconds_bucket{verb="registry.publish",le="0.0025"}')).toBe(2);
    expect(sample(text, 'forgeone_authz_cache_hit_ratio')).toBe(0.75);
    expect(sample(text, 'forgeone_event_append_conflicts_total{aggregate="plugin"}')).toBe(1);
    expect(sample(text, 'forgeone_consumer_lag_seconds{consumer="audit-projector"}')).toBe(0);
  });

  it('metrics - with a token, a scrape without it or with another is refused with 401', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1', token: TOKEN });
    const url = endpoint!.url;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).not.toContain(TOKEN);
  });

  it('metrics - other paths and methods are answered with what to do', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1' });
    const base = endpoint!.url.replace(/\/metrics$/, '');
    const notFound = await fetch(`${base}/`);
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toContain('/metrics');
    expect((await fetch(endpoint!.url, { method: 'POST' })).status).toBe(405);
  });

  it('metrics - a non-loopback address without a token is refused before listening', async () => {
    await expect(startMetrics('forgeone-test', { port: 0, host: '0.0.0.0' })).rejects.toThrow(MetricsSettingsError);
    await expect(startMetrics('forgeone-test', { port: 0, host: '0.0.0.0' })).rejects.toThrow(/FORGEONE_METRICS_TOKEN is not set/);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
  });

  it('plugin metrics - names past the per-plugin cap are dropped and counted; each plugin has its own allowance', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1', pluginMetricNames: 3 });
    const acme = { tenant: 'acme', plugin: 'scorer', version: '1.0.0', environment: 'dev' };
    const other = { tenant: 'acme', plugin: 'other', version: '1.0.0', environment: 'dev' };
    const recorder = pluginMetrics();
    recorder.record(acme, [1, 2, 3, 4, 5].map((i) => ({ name: `n${i}`, value: i })));
    recorder.record(acme, [{ name: 'n1', value: 10 }, { name: 'bad name"}', value: 1 }, { name: 'n2', value: Number.NaN }]);
    recorder.record(other, [{ name: 'n9', value: 1 }]);

    const text = await (await fetch(endpoint!.url)).text();
    expect(sample(text, 'forgeone_plugin_metric_sum{tenant="acme",plugin="scorer",version="1.0.0",environment="dev",metric="n1"}')).toBe(11);
    expect(sample(text, 'forgeone_plugin_metric_samples_total{tenant="acme",plugin="scorer",version="1.0.0",environment="dev",metric="n1"}')).toBe(2);
    expect(text).not.toContain('metric="n4"');
    expect(sample(text, 'forgeone_plugin_metric_dropped_total{tenant="acme",plugin="scorer",reason="name_cap"}')).toBe(2);
    expect(sample(text, 'forgeone_plugin_metric_dropped_total{tenant="acme",plugin="scorer",reason="name_invalid"}')).toBe(1);
    expect(sample(text, 'forgeone_plugin_metric_dropped_total{tenant="acme",plugin="scorer",reason="value_not_finite"}')).toBe(1);
    expect(sample(text, 'forgeone_plugin_metric_samples_total{tenant="acme",plugin="other",version="1.0.0",environment="dev",metric="n9"}')).toBe(1);
    expect(recorder.namesOf('acme', 'scorer')).toBe(3);
  });

  it('metrics - paused, nothing is recorded and /metrics serves the series as they stood; resumed, recording goes on', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1' });
    const call = { tenant: 'acme', plugin: 'scorer', version: '1.0.0', environment: 'dev', outcome: 'ok', seconds: 0.001, fuelUsed: 500 };
    const calls = 'forgeone_plugin_calls_total{tenant="acme",plugin="scorer",version="1.0.0",environment="dev",outcome="ok"}';
    const labels = { tenant: 'acme', plugin: 'scorer', version: '1.0.0', environment: 'dev' };
    platformMetrics().pluginCall(call);
    pluginMetrics().record(labels, [{ name: 'n1', value: 1 }]);

    endpoint!.setRecording(false);
    expect(endpoint!.recording).toBe(false);
    expect(platformMetrics().recording).toBe(false);
    platformMetrics().pluginCall(call);
    platformMetrics().command('invoke.dev.scorer', 'ok', 0.002);
    pluginMetrics().record(labels, [{ name: 'n2', value: 1 }]);
    const paused = await (await fetch(endpoint!.url)).text();
    expect(sample(paused, calls)).toBe(1);
    expect(paused).not.toContain('forgeone_commands_total');
    expect(paused).not.toContain('metric="n2"');

    endpoint!.setRecording(true);
    expect(platformMetrics().recording).toBe(true);
    platformMetrics().pluginCall(call);
    pluginMetrics().record(labels, [{ name: 'n1', value: 2 }]);
    const resumed = await (await fetch(endpoint!.url)).text();
    expect(sample(resumed, calls)).toBe(2);
    expect(sample(resumed, 'forgeone_plugin_fuel_used_count{tenant="acme",plugin="scorer",version="1.0.0",environment="dev"}')).toBe(2);
    expect(sample(resumed, 'forgeone_plugin_metric_sum{tenant="acme",plugin="scorer",version="1.0.0",environment="dev",metric="n1"}')).toBe(3);
  });

  it('metrics - close stops serving and the instruments go back to no-ops', async () => {
    endpoint = await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1' });
    const url = endpoint!.url;
    await endpoint!.close();
    endpoint = undefined;
    await expect(fetch(url)).rejects.toThrow();
    expect(pluginMetrics().namesOf('acme', 'scorer')).toBe(0);
    expect(platformMetrics().recording).toBe(false);
  });
});
