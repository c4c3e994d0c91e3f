import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES } from '@forgeone/contracts';
import { platformMetrics, pluginMetrics, startMetrics } from '@forgeone/telemetry';
import { parsePrometheusText, repoRoot } from '@forgeone/test-harness';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = repoRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');

// Every series family the platform exports, from a real endpoint after one recording of each kind.
async function exportedFamilies(): Promise<Set<string>> {
  const endpoint = (await startMetrics('forgeone-test', { port: 0, host: '127.0.0.1' }))!;
  try {
    const m = platformMetrics();
    m.command('v', 'ok', 0.001);
    m.query('q', 'ok', 0.001);
    m.pluginCall({ tenant: 't', plugin: 'p', version: '1.0.0', environment: 'dev', outcome: 'ok', seconds: 0.001, fuelUsed: 10, memoryBytes: 65_536 });
    m.violation('fuel');
    m.workerRejection();
    m.observeWorkerPools(() => ({ workers: 1, busy: 0, queued: 0 }));
    m.authzDecision('allow', 0.001);
    m.authzCacheLookup(true);
    m.consumerDelivered('c', 2);
    m.consumerSettled('c');
    m.consumerProgress('c', 0, 0, 0);
    m.signature('runner', true, 'ok');
    m.eventAppend('plugin', 'conflict');
    pluginMetrics().record({ tenant: 't', plugin: 'p', version: '1.0.0', environment: 'dev' }, [{ name: 'n', value: 1 }, { name: 'bad name', value: 1 }]);
    const text = await (await fetch(endpoint.url)).text();
    return new Set(parsePrometheusText(text).map((s) => s.name));
  } finally {
    await endpoint.close();
  }
}

describe('observability configuration', () => {
  it('compose - every service serves metrics behind the token, and Prometheus scrapes each of them', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { command?: string[]; environment?: Record<string, string>; ports?: string[] }> };
    // Every container that runs a service (several run the sandbox-runner).
    const containers = Object.keys(compose.services).filter((name) => SERVICES.some((service) => compose.services[name]!.command?.includes(`apps/${service}/dist/main.js`)));
    expect(containers).toEqual(expect.arrayContaining([...SERVICES]));
    for (const service of containers) {
      const env = compose.services[service]?.environment ?? {};
      expect(env.FORGEONE_METRICS_PORT, service).toBe('9464');
      expect(env.FORGEONE_METRICS_TOKEN, service).toMatch(/^\$\{FORGEONE_METRICS_TOKEN:\?/);
      // No published metrics port: only Prometheus, on the compose network, reaches it.
      expect((compose.services[service]?.ports ?? []).join(' ')).not.toContain('9464');
    }
    expect(compose.services.prometheus?.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(compose.services.grafana?.ports).toEqual(['127.0.0.1:3000:3000']);

    const prometheus = parse(read('infra/prometheus/prometheus.yml')) as { scrape_configs: Array<{ authorization: { credentials_file: string }; static_configs: Array<{ targets: string[] }> }> };
    const [job] = prometheus.scrape_configs;
    expect(job.authorization.credentials_file).toBe('/tmp/forgeone-metrics-token');
    expect(job.static_configs.flatMap((c) => c.targets).sort()).toEqual(containers.map((s) => `${s}:9464`).sort());
    expect(read('infra/generate-env.sh')).toContain('echo "FORGEONE_METRICS_TOKEN=$(secret)"');
  });

  it('dashboard - every series its queries name is one the platform exports', async () => {
    const dashboard = JSON.parse(read('infra/grafana/dashboards/platform-overview.json')) as { uid: string; panels: Array<{ title: string; targets?: Array<{ expr: string; datasource: { uid: string } }> }> };
    const exported = await exportedFamilies();
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
    expect(queries.length).toBeGreaterThanOrEqual(20);
    for (const { panel, expr, datasource } of queries) {
      expect(datasource.uid).toBe('forgeone-prometheus');
      const used = expr.match(/forgeone_[a-z_]+/g) ?? [];
      expect(used.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of used) expect(exported.has(name), `${panel} uses ${name}, which no service exports`).toBe(true);
    }
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of ['calls', 'errors', 'latency', 'lag', 'violations']) expect(titles).toContain(topic);
  });
});
