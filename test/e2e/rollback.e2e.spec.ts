import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Show {
  installations: Array<{ environment: string; version: string; status: string }>;
}
interface Entry {
  type: string;
  actor: string;
  data: { fromVersion?: string; version?: string; environment?: string; reason?: string };
}

describe('platform - rollback protection and reasoned rollback through the CLI', () => {
  const namespace = testNamespace('e2e-rollback');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-rollback-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  let developerToken: string;
  // The platform administrator (FORGEONE_BOOTSTRAP_TOKEN) publishes and releases.
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });
  const installed = async (environment: string) => {
    const show = JSON.parse((await cli('plugin', 'show', 'forgeone/hello', '--json')).stdout) as Show;
    return show.installations.find((i) => i.environment === environment);
  };
  const history = async () => (JSON.parse((await cli('plugin', 'history', 'forgeone/hello', '--json')).stdout) as { events: Entry[] }).events;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_REVIEW_BLOCKS_UPGRADE: 'false' } });
    // Two versions of examples/plugins/hello; the same module under a second version number. Production
    // verifies signatures strictly, so both are signed with a key the administrator's tenant trusts.
    const hello = join(work, 'hello-1.0.0');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), hello, { recursive: true });
    const v2 = join(work, 'hello-2.0.0');
    cpSync(hello, v2, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(v2, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(v2, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, version: '2.0.0' }, null, 2));
    const keys = join(work, 'keys');
    expect((await cli('keys', 'generate', '--out', keys)).code).toBe(0);
    expect((await cli('keys', 'trust', join(keys, 'public.pem'), '--publisher', 'forgeone')).code).toBe(0);
    for (const dir of [hello, v2]) {
      expect((await cli('plugin', 'sign', dir, '--key', join(keys, 'private.pem'))).code).toBe(0);
      expect((await cli('plugin', 'publish', dir)).code).toBe(0);
    }
    expect((await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'production', '--emergency', '--reason', 'release outside promotion for this test')).code).toBe(0);
    expect((await cli('plugin', 'upgrade', 'forgeone/hello@2.0.0', '--env', 'production', '--emergency', '--reason', 'release outside promotion for this test')).code).toBe(0);
    developerToken = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-7', role: 'developer' })).token;
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses going down through upgrade with REGISTRY.DOWNGRADE_REFUSED, naming the highest version and the rollback verb; nothing changes', async () => {
    const before = (await history()).length;
    const upgrade = await cli('plugin', 'upgrade', 'forgeone/hello@1.0.0', '--env', 'production', '--json', '--emergency', '--reason', 'release outside promotion for this test');
    expect(upgrade.code).toBe(1);
    const { error } = JSON.parse(upgrade.stderr) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(error.code).toBe('REGISTRY.DOWNGRADE_REFUSED');
    expect(error.message).toContain('lower than 2.0.0, the highest version production has had');
    expect(error.message).toContain('forgeone plugin rollback forgeone/hello@1.0.0 --env production --reason <text>');
    expect(error.details).toMatchObject({ highestVersion: '2.0.0', requestedVersion: '1.0.0' });
    expect(await installed('production')).toMatchObject({ version: '2.0.0', status: 'installed' });
    expect((await history()).length).toBe(before);
  });

  it('refuses a rollback without --reason as a usage error (exit 2), before anything is sent', async () => {
    const missing = await cli('plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'production');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--reason <text>' not specified");
    const blank = await cli('plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'production', '--reason', '   ');
    expect(blank.code).toBe(2);
    expect(await installed('production')).toMatchObject({ version: '2.0.0' });
  });

  it('refuses a rollback in production by a developer (AUTHZ.DENIED), and nothing changes', async () => {
    const denied = await runCli(platform.apiUrl, ['plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'production', '--reason', 'it is broken', '--json'], {
      token: developerToken,
    });
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stderr)).toMatchObject({ error: { code: 'AUTHZ.DENIED' } });
    expect(await installed('production')).toMatchObject({ version: '2.0.0' });
    expect((await history()).some((e) => e.type === 'io.forgeone.plugin.rolled_back.v1')).toBe(false);
  });

  it('rolls back with a reason: the installation, the running version, history and the audit log all show it', async () => {
    const wrongWay = await cli('plugin', 'rollback', 'forgeone/hello@2.0.0', '--env', 'production', '--reason', 'no');
    expect(wrongWay.code).toBe(1);
    expect(wrongWay.stderr).toContain('(REGISTRY.NOT_A_ROLLBACK)');

    const reason = '2.0.0 greets customers twice';
    const rollback = await cli('plugin', 'rollback', 'forgeone/hello@1.0.0', '--env', 'production', '--reason', `  ${reason} `, '--json');
    expect(rollback.stderr).toBe('');
    expect(rollback.code).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ name: 'forgeone/hello', version: '1.0.0', environment: 'production', projected: true });
    expect(await installed('production')).toMatchObject({ version: '1.0.0', status: 'installed' });

    // The sandbox runner swaps to 1.0.0 as on an upgrade.
    await eventually(async () => {
      const call = await cli('plugin', 'call', 'forgeone/hello', 'greet', '--env', 'production', '--input', 'x', '--json');
      return call.code === 0 && (JSON.parse(call.stdout) as { version: string }).version === '1.0.0';
    }, 'calls answered by 1.0.0');

    // The runner's own verification of 1.0.0 may be recorded after the rollback: look for the rollback itself.
    const last = (await history()).filter((e) => e.type === 'io.forgeone.plugin.rolled_back.v1').at(-1);
    expect(last).toMatchObject({
      type: 'io.forgeone.plugin.rolled_back.v1',
      actor: 'bootstrap-admin',
      data: { fromVersion: '2.0.0', version: '1.0.0', environment: 'production', reason },
    });
    const table = await cli('plugin', 'history', 'forgeone/hello');
    expect(table.stdout).toMatch(/plugin\.rolled_back\s+2\.0\.0 → 1\.0\.0\s+production\s+bootstrap-admin\s+2\.0\.0 greets customers twice/);

    const audit = await cli('audit', 'log', '--plugin', 'forgeone/hello', '--json');
    const entries = (JSON.parse(audit.stdout) as { entries: Entry[] }).entries;
    expect(entries.filter((e) => e.type === 'io.forgeone.plugin.rolled_back.v1').at(-1)).toMatchObject({ data: { reason } });
    // The runner checked 1.0.0's signature again before running it in production.
    expect(entries).toContainEqual(expect.objectContaining({ type: 'io.forgeone.signature.runner_verified.v1', data: expect.objectContaining({ stage: 'runner', environment: 'production', version: '1.0.0', mode: 'strict' }) }));
    expect((await cli('audit', 'log', '--plugin', 'forgeone/hello')).stdout).toContain(reason);
  });

  it('remembers the highest version after a removal: reinstalling 1.0.0 is refused, 2.0.0 is allowed', async () => {
    expect((await cli('plugin', 'remove', 'forgeone/hello', '--env', 'production')).code).toBe(0);
    const reinstall = await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'production', '--emergency', '--reason', 'release outside promotion for this test');
    expect(reinstall.code).toBe(1);
    expect(reinstall.stderr).toContain('(REGISTRY.DOWNGRADE_REFUSED)');
    expect(await installed('production')).toMatchObject({ status: 'removed' });
    expect((await cli('plugin', 'install', 'forgeone/hello@2.0.0', '--env', 'production', '--emergency', '--reason', 'release outside promotion for this test')).code).toBe(0);
    // Staging never had 2.0.0, so it may start at 1.0.0.
    expect((await cli('plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging')).code).toBe(0);
  });
});
