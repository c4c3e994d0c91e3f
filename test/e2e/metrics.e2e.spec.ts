import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { SERVICES } from '@forgeone/contracts';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  metricValue,
  removeNamespace,
  repoRoot,
  runCli,
  samplesOf,
  scrapeMetrics,
  startTestPlatform,
  testNamespace,
  type MetricSample,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HELLO = { tenant: 'default', plugin: 'forgeone/hello', version: '1.0.0', environment: 'staging' };

describe('platform - every service serves its metrics after real traffic', () => {
  const namespace = testNamespace('e2e-metrics');
  let db: TestDatabase;
  let platform: TestPlatform;
  const admin = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });
  const scrape = (service: string) => scrapeMetrics(platform.metricsUrls[service]!);

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('metrics - `up --json` names one loopback endpoint per service, each answering the Prometheus text format', async () => {
    expect(Object.keys(platform.metricsUrls).sort()).toEqual([...SERVICES].sort());
    const ports = new Set<string>();
    for (const service of SERVICES) {
      const url = platform.metricsUrls[service]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      ports.add(new URL(url).port);
      const response = await fetch(url);
      expect(response.status, `${service} ${url}`).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      expect(await response.text()).toContain(`service_name="forgeone-${service}"`);
    }
    expect(ports.size).toBe(SERVICES.length);
  });

  it('metrics - a call is counted once, a denial is counted, and the projector lag returns to zero', async () => {
    cliSucceeded(await admin('plugin', 'publish', join(repoRoot(), 'examples', 'plugins', 'hello'), '--json'));
    cliSucceeded(await admin('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging', '--json'));
    const auditor = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'aud-metrics', role: 'auditor', tenant: 'default' });

    const greet = await admin('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world');
    expect(greet).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });
    const denied = await runCli(platform.apiUrl, ['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world', '--json'], { token: auditor.token });
    expect(cliRefusal(denied).code).toBe('AUTHZ.DENIED');
    // A query the gateway answers itself.
    cliSucceeded(await admin('plugin', 'list', '--json'));

    // sandbox-runner: the call once under its installed version, with its duration, fuel and memory;
    // the denial under the tenant and its code only (no plugin name the caller chose).
    const runner = await scrape('sandbox-runner');
    expect(metricValue(runner, 'forgeone_plugin_calls_total', { ...HELLO, outcome: 'ok' })).toBe(1);
    expect(samplesOf(runner, 'forgeone_plugin_calls_total', { plugin: 'forgeone/hello' })).toHaveLength(1);
    expect(metricValue(runner, 'forgeone_plugin_call_duration_seconds_count', HELLO)).toBe(1);
    expect(metricValue(runner, 'forgeone_plugin_fuel_used_count', HELLO)).toBe(1);
    expect(metricValue(runner, 'forgeone_plugin_fuel_used_sum', HELLO)).toBeGreaterThan(0);
    expect(metricValue(runner, 'forgeone_plugin_memory_high_water_bytes_count', HELLO)).toBe(1);
    expect(metricValue(runner, 'forgeone_plugin_memory_high_water_bytes_sum', HELLO)).toBeGreaterThanOrEqual(65_536);
    expect(metricValue(runner, 'forgeone_plugin_calls_total', { tenant: 'default', plugin: '-', version: '-', environment: '-', outcome: 'AUTHZ.DENIED' })).toBe(1);
    expect(metricValue(runner, 'forgeone_commands_total', { verb: 'invoke.*.*', outcome: 'ok' })).toBe(1);
    expect(metricValue(runner, 'forgeone_commands_total', { verb: 'invoke.*.*', outcome: 'AUTHZ.DENIED' })).toBe(1);
    expect(metricValue(runner, 'forgeone_signature_verifications_total', { stage: 'runner' })).toBeGreaterThanOrEqual(1);
    expect(samplesOf(runner, 'forgeone_worker_pool_size')[0]?.value).toBeGreaterThanOrEqual(1);
    expect(samplesOf(runner, 'forgeone_worker_queue_depth')[0]?.value).toBe(0);
    expect(metricValue(runner, 'forgeone_authz_cache_lookups_total')).toBeGreaterThanOrEqual(2);
    // No label carries a token or its id, nor the call's input.
    const labels = runner.flatMap((s) => Object.values(s.labels)).join(' ');
    expect(labels).not.toContain(auditor.token.slice(0, 20));
    expect(labels).not.toContain(platform.bootstrapToken);
    expect(labels).not.toContain('world');

    // policy: the auditor's invoke denied, the administrator's allowed; each check timed.
    const policy = await scrape('policy');
    expect(metricValue(policy, 'forgeone_authz_decisions_total', { effect: 'deny' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(policy, 'forgeone_authz_decisions_total', { effect: 'allow' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(policy, 'forgeone_authz_check_duration_seconds_count')).toBe(metricValue(policy, 'forgeone_authz_decisions_total'));

    // registry: one publish and one install answered, and their events appended.
    const registry = await scrape('registry');
    expect(metricValue(registry, 'forgeone_commands_total', { verb: 'registry.publish', outcome: 'ok' })).toBe(1);
    expect(metricValue(registry, 'forgeone_commands_total', { verb: 'registry.install', outcome: 'ok' })).toBe(1);
    expect(metricValue(registry, 'forgeone_event_appends_total', { outcome: 'appended' })).toBeGreaterThanOrEqual(2);

    // gateway: the list query, by its operation id.
    const gateway = await scrape('gateway');
    expect(samplesOf(gateway, 'forgeone_queries_total', { outcome: 'ok' }).length).toBeGreaterThanOrEqual(1);

    // audit-projector: it catches up, so its lag comes back to zero events and zero seconds.
    const lag = async (): Promise<MetricSample[]> => samplesOf(await scrape('audit-projector'), 'forgeone_consumer_lag_events');
    const deadline = Date.now() + 30_000;
    let events = await lag();
    while ((events.length === 0 || events.some((s) => s.value !== 0)) && Date.now() < deadline) {
      await sleep(250);
      events = await lag();
    }
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.map((s) => s.value)).toEqual(events.map(() => 0));
    const projector = await scrape('audit-projector');
    for (const s of samplesOf(projector, 'forgeone_consumer_lag_seconds')) expect(s.value).toBe(0);
    expect(metricValue(projector, 'forgeone_consumer_in_flight')).toBe(0);
  });
});
