import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  type CreatedTestToken,
  type TestDatabase,
  type TestPlatform,
  cliSucceeded,
  cliRefusal,
  wholeAuditLog,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-keys-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Key {
  readonly keyId: string;
  readonly publisher: string;
  readonly scope: string;
  readonly revokedAt: string | null;
  readonly revokedReason: string | null;
}

describe('keys and signing - through the CLI on a running platform', () => {
  const namespace = testNamespace('e2e-keys');
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin: CreatedTestToken;
  let developer: CreatedTestToken;
  let auditor: CreatedTestToken;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    const issue = (principal: string, role: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant: 'acme' });
    [admin, developer, auditor] = await Promise.all([issue('adm-1', 'admin'), issue('dev-1', 'developer'), issue('aud-1', 'auditor')]);
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('keys - generate, trust (admins only), sign, publish with the signature, revoke; every key event reaches the audit log', async () => {
    const keys = join(work, 'keys');
    const generated = cliSucceeded<{ keyId: string }>(await runCli(platform.apiUrl, ['keys', 'generate', '--out', keys, '--json']));

    expect(cliRefusal(await as(developer.token, 'keys', 'trust', join(keys, 'public.pem'), '--publisher', 'forgeone')).code).toBe('AUTHZ.DENIED');
    const trusted = cliSucceeded<Key>(await as(admin.token, 'keys', 'trust', join(keys, 'public.pem'), '--publisher', 'forgeone'));
    expect(trusted).toMatchObject({ keyId: generated.keyId, publisher: 'forgeone', scope: 'forgeone/*', revokedAt: null });
    expect(cliRefusal(await as(admin.token, 'keys', 'trust', join(keys, 'public.pem'), '--publisher', 'forgeone')).code).toBe('KEY.ALREADY_TRUSTED');
    expect(cliSucceeded<{ keys: Key[] }>(await as(developer.token, 'keys', 'list')).keys.map((k) => k.keyId)).toEqual([generated.keyId]);

    const plugin = join(work, 'hello');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), plugin, { recursive: true });
    cliSucceeded(await runCli(platform.apiUrl, ['plugin', 'sign', plugin, '--key', join(keys, 'private.pem'), '--json']));
    expect(readFileSync(join(plugin, 'plugin.sig.json'), 'utf8')).toContain(generated.keyId);
    // The registry verified the signature at publish against the tenant's trust store.
    expect(cliSucceeded(await as(developer.token, 'plugin', 'publish', plugin))).toMatchObject({
      name: 'forgeone/hello',
      version: '1.0.0',
      signature: { verified: true, reason: null },
    });

    const revoked = cliSucceeded<Key>(await as(admin.token, 'keys', 'revoke', generated.keyId, '--reason', 'laptop lost'));
    expect(revoked).toMatchObject({ keyId: generated.keyId, revokedReason: 'laptop lost' });
    expect(cliRefusal(await as(admin.token, 'keys', 'revoke', generated.keyId, '--reason', 'again')).code).toBe('KEY.ALREADY_REVOKED');
    expect(cliSucceeded<{ keys: Key[] }>(await as(developer.token, 'keys', 'list')).keys[0].revokedAt).not.toBeNull();

    // The projector accepts the new event types (an audit-log row each) and stays ready.
    const types = await eventually(async () => {
      const entries = await wholeAuditLog<{ sequence: number; type: string; data: { keyId?: string } }>((...args) => as(auditor.token, ...args));
      const keyEvents = entries.filter((e) => e.type.startsWith('io.forgeone.key.') && e.data.keyId === generated.keyId).map((e) => e.type);
      return keyEvents.length === 2 ? keyEvents : undefined;
    }, 'the key events in the audit log');
    expect(types).toEqual(['io.forgeone.key.trusted.v1', 'io.forgeone.key.revoked.v1']);
    const ready = (await (await fetch(`${platform.apiUrl}/readyz`)).json()) as { ready: boolean };
    expect(ready.ready).toBe(true);
  });
});
