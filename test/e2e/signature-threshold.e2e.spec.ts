import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNATURE_FILE, type DsseEnvelope } from '@forgeone/contracts';
import {
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
  cliSucceeded,
  helloPluginCopy,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A platform whose live environment (strict, not gated) demands two keys (FORGEONE_SIGNATURE_POLICY, passed through `forgeone up`'s
// runtime to the registry): thresholds count distinct public keys, so one key signing twice is not two.

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-threshold-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('signature verification - a threshold of two distinct keys in live', () => {
  const namespace = testNamespace('e2e-threshold');
  let db: TestDatabase;
  let platform: TestPlatform;
  let adminToken: string;
  const keyDirs = { first: join(work, 'key-first'), second: join(work, 'key-second') };
  const cli = (...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token: adminToken });
  const signWith = async (dir: string, key: keyof typeof keyDirs) => cliSucceeded(await runCli(platform.apiUrl, ['plugin', 'sign', dir, '--key', join(keyDirs[key], 'private.pem'), '--json']));

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      env: { FORGEONE_SIGNATURE_POLICY: '{"live":{"mode":"strict","threshold":2}}' },
    });
    adminToken = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
    for (const dir of Object.values(keyDirs)) {
      cliSucceeded(await runCli(platform.apiUrl, ['keys', 'generate', '--out', dir, '--json']));
      cliSucceeded(await cli('keys', 'trust', join(dir, 'public.pem'), '--publisher', 'forgeone'));
    }
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('two signatures by the same key count once: THRESHOLD_NOT_MET, recorded, nothing installed; two keys pass', async () => {
    const twice = helloPluginCopy(work, 'forgeone/same-key-twice');
    await signWith(twice, 'first');
    // `plugin sign` refuses to add a second signature by the same key, so the envelope is doubled by hand.
    const envelope = JSON.parse(readFileSync(join(twice, SIGNATURE_FILE), 'utf8')) as DsseEnvelope;
    writeFileSync(join(twice, SIGNATURE_FILE), JSON.stringify({ ...envelope, signatures: [envelope.signatures[0], envelope.signatures[0]] }));
    cliSucceeded(await cli('plugin', 'publish', twice));
    const refused = await cli('plugin', 'install', 'forgeone/same-key-twice@1.0.0', '--env', 'live');
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stderr) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(error.code).toBe('SIGNATURE.THRESHOLD_NOT_MET');
    expect(error.message).toMatch(/1 distinct trusted key\(s\) signed; 2 are required/);
    expect(error.details).toMatchObject({ threshold: 2, mode: 'strict' });
    const rejected = await eventually(async () => {
      const { entries } = cliSucceeded<{ entries: Array<{ type: string; data: Record<string, unknown> }> }>(await cli('audit', 'log', '--plugin', 'forgeone/same-key-twice'));
      return entries.find((e) => e.type === 'io.forgeone.signature.rejected.v1' && e.data.stage === 'install');
    }, 'the rejection in the audit log');
    expect(rejected.data).toMatchObject({ environment: 'live', mode: 'strict', reason: 'SIGNATURE.THRESHOLD_NOT_MET', flagged: false });
    const show = cliSucceeded<{ installations: unknown[] }>(await cli('plugin', 'show', 'forgeone/same-key-twice'));
    expect(show.installations).toEqual([]);
    // Staging keeps the default (audit, one key): the same version installs there.
    cliSucceeded(await cli('plugin', 'install', 'forgeone/same-key-twice@1.0.0', '--env', 'staging'));

    const both = helloPluginCopy(work, 'forgeone/two-keys');
    await signWith(both, 'first');
    await signWith(both, 'second');
    cliSucceeded(await cli('plugin', 'publish', both));
    expect(cliSucceeded(await cli('plugin', 'install', 'forgeone/two-keys@1.0.0', '--env', 'live'))).toMatchObject({ environment: 'live' });
  });
});
