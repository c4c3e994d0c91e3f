import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startOtlpReceiver,
  startTestPlatform,
  testNamespace,
  type OtlpReceiver,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('platform - publish, install, list and audit through the CLI', () => {
  const namespace = testNamespace('e2e');
  let db: TestDatabase;
  let platform: TestPlatform;
  let otlp: OtlpReceiver;
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-'));
  // Everything here is done by the platform administrator (FORGEONE_BOOTSTRAP_TOKEN).
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    db = await createTestDatabase();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
    try {
      platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
      delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    }
  });

  afterAll(async () => {
    await platform?.stop();
    await otlp?.close();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('publishes examples/plugins/hello, installs it into staging, and shows it in the list and the audit log', async () => {
    const publish = await cli('plugin', 'publish', join(repoRoot(), 'examples', 'plugins', 'hello'), '--json');
    expect(publish.stderr).toBe('');
    expect(publish.code).toBe(0);
    const published = JSON.parse(publish.stdout) as { name: string; version: string; digest: string; sequence: number };
    expect(published).toMatchObject({ name: 'forgeone/hello', version: '1.0.0' });
    expect(published.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const install = await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging', '--json');
    expect(install.code).toBe(0);
    expect(JSON.parse(install.stdout)).toMatchObject({ name: 'forgeone/hello', version: '1.0.0', environment: 'staging', projected: true });

    const list = await cli('plugin', 'list', '--env', 'staging', '--json');
    expect(list.code).toBe(0);
    const { plugins } = JSON.parse(list.stdout) as { plugins: Array<{ name: string; installations: Array<{ environment: string; version: string; status: string }> }> };
    expect(plugins).toHaveLength(1);
    expect(plugins[0].name).toBe('forgeone/hello');
    expect(plugins[0].installations).toEqual([expect.objectContaining({ environment: 'staging', version: '1.0.0', status: 'installed' })]);

    const audit = await cli('audit', 'log', '--json');
    expect(audit.code).toBe(0);
    const { entries: all } = JSON.parse(audit.stdout) as { entries: Array<{ sequence: number; type: string; hash: string; prevHash: string }> };
    // The log also holds the policy set and the authorisation decisions; the plugin's own events come in order.
    const entries = all.filter((e) => e.type.startsWith('io.forgeone.plugin.'));
    expect(entries.map((e) => e.type)).toEqual(['io.forgeone.plugin.version_published.v1', 'io.forgeone.plugin.installed.v1']);
    expect(entries[0].sequence).toBeLessThan(entries[1].sequence);
    // Hash-chained: every row names the hash of the row before it, with the plugin's events in the chain.
    for (let i = 1; i < all.length; i++) {
      expect(all[i].sequence).toBeGreaterThan(all[i - 1].sequence);
      if (all[i].sequence === all[i - 1].sequence + 1) expect(all[i].prevHash).toBe(all[i - 1].hash);
    }
    const installedAt = all.findIndex((e) => e.type === 'io.forgeone.plugin.installed.v1');
    expect(installedAt).toBeGreaterThan(0);
    expect(all[installedAt].prevHash).toBe(all[installedAt - 1].hash);

    const table = await cli('plugin', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/forgeone\/hello/);
  });

  it('upgrades, shows the plugin and its history, then removes it', async () => {
    const dir = join(work, 'hello-1.1.0');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, version: '1.1.0' }, null, 2));
    expect((await cli('plugin', 'publish', dir)).code).toBe(0);
    expect((await cli('plugin', 'upgrade', 'forgeone/hello@1.1.0', '--env', 'staging')).code).toBe(0);

    const show = JSON.parse((await cli('plugin', 'show', 'forgeone/hello', '--json')).stdout) as { latestVersion: string; installations: Array<{ version: string }> };
    expect(show.latestVersion).toBe('1.1.0');
    expect(show.installations.map((i) => i.version)).toEqual(['1.1.0']);

    const downgrade = await cli('plugin', 'upgrade', 'forgeone/hello@1.0.0', '--env', 'staging');
    expect(downgrade.code).toBe(1);
    expect(downgrade.stderr).toMatch(/REGISTRY\.DOWNGRADE_REFUSED/);

    expect((await cli('plugin', 'remove', 'forgeone/hello', '--env', 'staging')).code).toBe(0);
    const history = JSON.parse((await cli('plugin', 'history', 'forgeone/hello', '--json')).stdout) as {
      events: Array<{ type: string; data: { stage?: string; flagged?: boolean; reason?: string } }>;
    };
    expect(history.events.map((e) => e.type.split('.').slice(2, 4).join('.'))).toEqual([
      'plugin.version_published',
      'signature.rejected',
      'plugin.installed',
      'plugin.version_published',
      'signature.rejected',
      'plugin.upgraded',
      'plugin.removed',
    ]);
    // The plugin is unsigned: staging (audit mode) let install and upgrade through, flagged.
    expect(history.events.filter((e) => e.type.startsWith('io.forgeone.signature.')).map((e) => e.data)).toEqual([
      expect.objectContaining({ stage: 'install', flagged: true, reason: 'SIGNATURE.MISSING' }),
      expect.objectContaining({ stage: 'upgrade', flagged: true, reason: 'SIGNATURE.MISSING' }),
    ]);
  });

  it('answers bad input with a clear error and a non-zero exit', async () => {
    const missing = await cli('plugin', 'install', 'forgeone/hello@9.9.9', '--env', 'staging');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/forgeone\/hello@9\.9\.9 does not exist/);
    const usage = await cli('plugin', 'install', 'forgeone/hello', '--env', 'staging');
    expect(usage.code).toBe(2);
  });

  it('records one trace from the HTTP request through the command and the event to the projection', async () => {
    // Staging: the plugin is unsigned, which production (strict) would refuse.
    const install = await cli('plugin', 'install', 'forgeone/hello@1.1.0', '--env', 'staging', '--json');
    expect(install.code).toBe(0);
    const trace = await eventually(
      async () => {
        const httpSpan = otlp.spans.find((s) => s.service === 'forgeone-gateway' && /POST/.test(s.name) && /installations/.test(s.name));
        if (!httpSpan) return undefined;
        const services = new Set(otlp.spans.filter((s) => s.traceId === httpSpan.traceId).map((s) => s.service));
        return services.has('forgeone-registry') && services.has('forgeone-audit-projector') ? { traceId: httpSpan.traceId, services } : undefined;
      },
      'spans of gateway, registry and audit-projector in one trace',
      20_000,
    );
    expect([...trace.services]).toEqual(expect.arrayContaining(['forgeone-gateway', 'forgeone-registry', 'forgeone-audit-projector']));
  });
});
