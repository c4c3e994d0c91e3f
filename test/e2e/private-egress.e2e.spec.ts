import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  type CreatedTestToken,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-egress-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// examples/plugins/fetcher under another name, with its http allow-list replaced.
function fetcherCopy(name: string, version: string, allow: string[]): string {
  const dir = join(work, `${name.replace('/', '-')}-${version}`);
  cpSync(join(repoRoot(), 'examples', 'plugins', 'fetcher'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name, version, capabilities: { http: { allow } } }, null, 2));
  return dir;
}

describe('private egress - plugins reach the platform only when an administrator allowed it', () => {
  const namespace = testNamespace('e2e-egress');
  let db: TestDatabase;
  let platform: TestPlatform;
  let developer: CreatedTestToken;
  let gatewayHost: string;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const admin = (...args: string[]) => as(platform.bootstrapToken, ...args);
  const fetch = (plugin: string, url: string) => as(developer.token, 'plugin', 'call', plugin, 'fetch', '--env', 'staging', '--input', url);

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    developer = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer' });
    // The gateway's own address: what a plugin must not be able to reach.
    gatewayHost = new URL(platform.apiUrl).host;
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it("publish - a developer's allow-list naming the gateway, the metadata address or localhost is refused, naming each entry and its range", async () => {
    const refused = cliRefusal(await as(developer.token, 'plugin', 'publish', fetcherCopy('forgeone/peek', '1.0.0', ['example.com', gatewayHost, '169.254.169.254', 'localhost'])));
    expect(refused.code).toBe('REGISTRY.PRIVATE_EGRESS_REFUSED');
    expect(refused.message).toContain(`"${gatewayHost}" is in 127.0.0.0/8 (loopback (this machine))`);
    expect(refused.message).toContain('"169.254.169.254" is in 169.254.0.0/16 (link-local (cloud metadata at 169.254.169.254))');
    expect(refused.message).toContain('"localhost" is in 127.0.0.0/8, ::1/128');
    expect(refused.message).toContain('by default the platform administrator');
    expect(refused.details?.entries).toHaveLength(3);
    expect(cliRefusal(await as(developer.token, 'plugin', 'show', 'forgeone/peek')).code).toBe('QUERY.NOT_FOUND');
  });

  it('publish - a tenant admin may not either; the platform administrator may', async () => {
    const tenantAdmin = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin' });
    expect(cliRefusal(await as(tenantAdmin.token, 'plugin', 'publish', fetcherCopy('forgeone/metadata', '1.0.0', ['169.254.169.254']))).code).toBe('REGISTRY.PRIVATE_EGRESS_REFUSED');
    cliSucceeded(await admin('plugin', 'publish', fetcherCopy('forgeone/metadata', '1.0.0', ['169.254.169.254'])));
    const shown = cliSucceeded<{ versions: Array<{ version: string; privateEgress: string[] }> }>(await admin('plugin', 'show', 'forgeone/metadata'));
    expect(shown.versions).toEqual([expect.objectContaining({ version: '1.0.0', privateEgress: ['169.254.169.254'] })]);
  });

  it('publish - after the administrator grants publish-private-egress to developers, the publish is accepted and records the entry', async () => {
    const current = cliSucceeded<{ version: number; policies: Record<string, string> }>(await admin('policy', 'show'));
    const file = join(work, 'private-egress.cedar');
    const grant = `@id("developer-private-egress")
permit (principal in ForgeOne::Role::"developer", action == ForgeOne::Action::"publish-private-egress", resource is ForgeOne::Plugin)
when { resource.tenant == principal.tenant };`;
    writeFileSync(file, `${Object.values(current.policies).join('\n\n')}\n\n${grant}\n`);
    cliSucceeded(await admin('policy', 'apply', file, '--expected-version', String(current.version)));

    const published = await as(developer.token, 'plugin', 'publish', fetcherCopy('forgeone/peek', '1.0.0', ['example.com', gatewayHost]));
    expect(published.stderr).toBe('');
    const shown = cliSucceeded<{ versions: Array<{ privateEgress: string[] }> }>(await as(developer.token, 'plugin', 'show', 'forgeone/peek'));
    expect(shown.versions[0].privateEgress).toEqual([gatewayHost]);
    const history = cliSucceeded<{ events: Array<{ type: string; data: { privateEgress?: string[] } }> }>(await as(developer.token, 'plugin', 'history', 'forgeone/peek'));
    expect(history.events.find((e) => e.type === 'io.forgeone.plugin.version_published.v1')?.data.privateEgress).toEqual([gatewayHost]);
  });

  it('call - the allowed version reaches the gateway; a plugin whose allow-list has no private entry still cannot', async () => {
    cliSucceeded(await as(developer.token, 'plugin', 'install', 'forgeone/peek@1.0.0', '--env', 'staging'));
    const reached = cliSucceeded<{ output: string }>(await fetch('forgeone/peek', `http://${gatewayHost}/healthz`));
    expect(JSON.parse(reached.output)).toMatchObject({ status: 200 });

    // A plugin allowed example.com only: the gateway is not on its list, and a name is no way round the address check.
    cliSucceeded(await as(developer.token, 'plugin', 'publish', fetcherCopy('forgeone/public', '1.0.0', ['example.com', '*.example.com'])));
    cliSucceeded(await as(developer.token, 'plugin', 'install', 'forgeone/public@1.0.0', '--env', 'staging'));
    const refused = cliRefusal(await fetch('forgeone/public', `http://${gatewayHost}/healthz`));
    expect(refused).toMatchObject({ code: 'SANDBOX.GUEST_ERROR', message: expect.stringContaining("its host is not in the plugin's http allow-list") });
  });
});
