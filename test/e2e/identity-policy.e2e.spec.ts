import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type CreatedTestToken,
  type TestDatabase,
  type TestPlatform,
  cliSucceeded,
  cliRefusal,
  helloPluginCopy,
  type CliErrorBody,
  wholeAuditLog,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Short, so a policy change that has to outlive cached decisions is seen within a second or two.
const CACHE_TTL_MS = 500;

interface AuditEntry {
  readonly sequence: number;
  readonly type: string;
  readonly tenant: string;
  readonly data: {
    decision?: string;
    principal?: string;
    principalTenant?: string;
    action?: string;
    resource?: { type: string; id: string; tenant: string };
    environment?: string;
    policyIds?: string[];
    policyVersion?: number;
    reason?: string;
  };
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-identity-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('identity and policy - tokens, roles, tenants and policy sets through the CLI', () => {
  const namespace = testNamespace('e2e-idp');
  let db: TestDatabase;
  let platform: TestPlatform;
  let developer: CreatedTestToken;
  let releaseManager: CreatedTestToken;
  let auditor: CreatedTestToken;
  let globexDeveloper: CreatedTestToken;
  let acmeAdmin: CreatedTestToken;
  const as = (token: string | undefined, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], token === undefined ? {} : { token });
  const admin = (...args: string[]) => as(platform.bootstrapToken, ...args);
  const auditLog = async (): Promise<AuditEntry[]> =>
    wholeAuditLog<AuditEntry>((...args) => as(auditor.token, ...args));

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      // Every refused credential below is looked for in the audit log, so each is recorded one by one
      // (test/e2e/authentication-failures covers the default bound of a few per client and minute).
      env: { FORGEONE_AUTHZ_CACHE_TTL_MS: String(CACHE_TTL_MS), FORGEONE_AUTH_FAILURES_RECORDED: '1000' },
    });
    const issue = (principal: string, role: string, tenant: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant });
    [developer, releaseManager, auditor, globexDeveloper, acmeAdmin] = await Promise.all([
      issue('dev-1', 'developer', 'acme'),
      issue('rm-1', 'release-manager', 'acme'),
      issue('aud-1', 'auditor', 'acme'),
      issue('gdev-1', 'developer', 'globex'),
      issue('adm-1', 'admin', 'acme'),
    ]);
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('token create - prints the token once, without --json as the only line on stdout; token list never shows it', async () => {
    expect(developer.token).toMatch(/^fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(developer).toMatchObject({ principal: 'dev-1', role: 'developer', tenant: 'acme' });
    const plain = await runCli(platform.apiUrl, ['token', 'create', '--principal', 'ops-1', '--role', 'operator', '--tenant', 'acme'], { token: platform.bootstrapToken });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    expect(plain.stderr).toMatch(/shown only this once/);

    const list = await runCli(platform.apiUrl, ['token', 'list', '--tenant', 'acme'], { token: platform.bootstrapToken });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/dev-1 +user +developer +acme/);
    // The secret is everything after `fo_<id>_`; base64url may itself contain '_'.
    for (const token of [developer.token, plain.stdout.trim()]) expect(list.stdout).not.toContain(token.slice('fo_'.length + 16 + 1));
  });

  it('developer - publishes, installs into staging, and is refused production with AUTHZ.DENIED', async () => {
    // Production verifies signatures strictly: acme's administrator trusts a key and the version is signed with it.
    const hello = helloPluginCopy(work, 'forgeone/hello', '1.0.0');
    const keys = join(work, 'keys');
    cliSucceeded(await as(undefined, 'keys', 'generate', '--out', keys));
    cliSucceeded(await as(acmeAdmin.token, 'keys', 'trust', join(keys, 'public.pem'), '--publisher', 'forgeone'));
    cliSucceeded(await as(undefined, 'plugin', 'sign', hello, '--key', join(keys, 'private.pem')));
    expect(cliSucceeded(await as(developer.token, 'plugin', 'publish', hello))).toMatchObject({ name: 'forgeone/hello', version: '1.0.0' });
    const production = cliRefusal(await as(developer.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'production'));
    expect(production.code).toBe('AUTHZ.DENIED');
    expect(production.message).toMatch(/^dev-1 may not install Plugin forgeone\/hello in production/);
    expect(production.details).toMatchObject({ principal: 'dev-1', tenant: 'acme', action: 'install', policyIds: [] });
    expect(cliSucceeded(await as(developer.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging'))).toMatchObject({ environment: 'staging', projected: true });
  });

  it('release manager - production is gated: a plain install is refused, an emergency change (its own permission) installs', async () => {
    expect(cliRefusal(await as(releaseManager.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'production')).code).toBe('REGISTRY.GATED_ENVIRONMENT');
    expect(
      cliSucceeded(await as(releaseManager.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'production', '--emergency', '--reason', 'first release, promotion set up next')),
    ).toMatchObject({
      name: 'forgeone/hello',
      environment: 'production',
    });
    const list = cliSucceeded(await as(releaseManager.token, 'plugin', 'list', '--env', 'production')) as { plugins: Array<{ name: string }> };
    expect(list.plugins.map((p) => p.name)).toEqual(['forgeone/hello']);
  });

  it('auditor - reads the audit log and nothing else', async () => {
    const entries = await auditLog();
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => e.tenant))).toEqual(new Set(['acme']));
    expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining(['io.forgeone.plugin.version_published.v1', 'io.forgeone.plugin.installed.v1']));

    expect(cliRefusal(await as(auditor.token, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '1.0.1'))).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(auditor.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging')).code).toBe('AUTHZ.DENIED');
    const list = cliRefusal(await as(auditor.token, 'plugin', 'list'));
    expect(list.code).toBe('AUTHZ.DENIED');
    expect(list.message).toMatch(/^aud-1 may not read Tenant acme/);
    expect(cliRefusal(await as(auditor.token, 'plugin', 'show', 'forgeone/hello')).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(auditor.token, 'token', 'create', '--principal', 'aud-2', '--role', 'admin')).code).toBe('AUTHZ.DENIED');
  });

  it("tenants - a token of another tenant sees nothing of acme's and cannot touch its plugins", async () => {
    expect(cliSucceeded(await as(globexDeveloper.token, 'plugin', 'list'))).toEqual({ plugins: [] });
    const show = cliRefusal(await as(globexDeveloper.token, 'plugin', 'show', 'forgeone/hello'));
    expect(show.code).toBe('QUERY.NOT_FOUND');
    expect(cliSucceeded(await as(globexDeveloper.token, 'plugin', 'history', 'forgeone/hello'))).toEqual({ events: [] });
    const install = cliRefusal(await as(globexDeveloper.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging'));
    expect(install.code).toMatch(/^REGISTRY\.(PLUGIN|VERSION)_NOT_FOUND$/);
    // Naming acme in the tenant header does not help either.
    const header = await fetch(`${platform.apiUrl}/v1/plugins`, { headers: { authorization: `Bearer ${globexDeveloper.token}`, 'forgeone-tenant': 'acme' } });
    expect(header.status).toBe(403);
    expect(((await header.json()) as { error: CliErrorBody }).error.code).toBe('AUTHZ.DENIED');

    // ...and acme's list does not show what globex publishes.
    expect(cliSucceeded(await as(globexDeveloper.token, 'plugin', 'publish', helloPluginCopy(work, 'globex/secret', '1.0.0')))).toMatchObject({ name: 'globex/secret' });
    const acme = cliSucceeded(await as(developer.token, 'plugin', 'list')) as { plugins: Array<{ name: string }> };
    expect(acme.plugins.map((p) => p.name)).toEqual(['forgeone/hello']);
    expect(cliRefusal(await as(developer.token, 'plugin', 'show', 'globex/secret')).code).toBe('QUERY.NOT_FOUND');
  });

  it('credentials - no, forged and truncated tokens are refused with AUTH.UNAUTHENTICATED', async () => {
    const none = cliRefusal(await as(undefined, 'plugin', 'list'));
    expect(none.code).toBe('AUTH.UNAUTHENTICATED');
    expect(none.message).toMatch(/FORGEONE_TOKEN is not set/);
    expect(none.message).toMatch(/forgeone token create/);
    expect(cliRefusal(await as(undefined, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '1.0.2'))).code).toBe('AUTH.UNAUTHENTICATED');

    const [, id] = developer.token.split('_');
    const forged = `fo_${id}_${randomBytes(32).toString('base64url')}`;
    const truncated = developer.token.slice(0, -5);
    const madeUp = `fo_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    for (const token of [forged, truncated, madeUp, 'not-a-token']) {
      expect(cliRefusal(await as(token, 'plugin', 'list')).code, token).toBe('AUTH.UNAUTHENTICATED');
      expect(cliRefusal(await as(token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging')).code, token).toBe('AUTH.UNAUTHENTICATED');
    }
  });

  it('revocation - a revoked token is refused from then on', async () => {
    const token = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-2', role: 'developer', tenant: 'acme' });
    cliSucceeded(await as(token.token, 'plugin', 'list'));
    const revoked = cliSucceeded(await admin('token', 'revoke', token.tokenId, '--reason', 'laptop lost')) as { tokenId: string; revokedReason: string };
    expect(revoked).toMatchObject({ tokenId: token.tokenId, revokedReason: 'laptop lost', alreadyRevoked: false });
    const refused = await eventually(
      async () => {
        const result = await as(token.token, 'plugin', 'list');
        return result.code === 1 ? cliRefusal(result) : undefined;
      },
      'the revocation to apply',
      CACHE_TTL_MS + 1_000,
      50,
    );
    expect(refused.code).toBe('AUTH.TOKEN_REVOKED');
    expect(refused.message).toMatch(/laptop lost/);
    expect(cliRefusal(await as(token.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging')).code).toBe('AUTH.TOKEN_REVOKED');
  });

  it('expiry - a token is refused once it has expired', { timeout: 60_000 }, async () => {
    const token = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-3', role: 'developer', tenant: 'acme', expires: '15s' });
    expect(Date.parse(token.expiresAt!)).toBeGreaterThan(Date.now());
    cliSucceeded(await as(token.token, 'plugin', 'list'));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(token.expiresAt!) - Date.now())));
    const refused = await eventually(
      async () => {
        const result = await as(token.token, 'plugin', 'list');
        return result.code === 1 ? cliRefusal(result) : undefined;
      },
      'the token to expire',
      CACHE_TTL_MS + 1_000,
      50,
    );
    expect(refused.code).toBe('AUTH.TOKEN_EXPIRED');
    expect(cliRefusal(await as(token.token, 'plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging')).code).toBe('AUTH.TOKEN_EXPIRED');
  });

  it('token create - an unknown role is refused', async () => {
    const refused = cliRefusal(await admin('token', 'create', '--principal', 'dev-9', '--role', 'wizard', '--tenant', 'acme'));
    expect(refused.code).toBe('IDENTITY.UNKNOWN_ROLE');
    expect(refused.message).toMatch(/release-manager/);
  });

  it("policy apply - malformed Cedar and a policy the schema refuses are rejected with Cedar's message; the version stays", async () => {
    const before = cliSucceeded(await admin('policy', 'show')) as { version: number; sha256: string };
    const malformed = join(work, 'malformed.cedar');
    writeFileSync(malformed, '@id("broken")\npermit (principal, action, resource\n');
    const invalid = cliRefusal(await admin('policy', 'apply', malformed));
    expect(invalid.code).toBe('POLICY.INVALID');
    expect(invalid.message).toMatch(/Cedar/);

    const unknownAction = join(work, 'unknown-action.cedar');
    writeFileSync(unknownAction, '@id("fly")\npermit (principal, action == ForgeOne::Action::"fly", resource);\n');
    const violation = cliRefusal(await admin('policy', 'apply', unknownAction));
    expect(violation.code).toBe('POLICY.SCHEMA_VIOLATION');
    expect(violation.message).toMatch(/fly/);

    const missing = cliRefusal(await admin('policy', 'apply', join(work, 'nope.cedar')));
    expect(missing).toMatchObject({ code: 'COMMAND.INVALID', message: expect.stringContaining('does not exist') });
    expect(cliSucceeded(await admin('policy', 'show'))).toMatchObject({ version: before.version, sha256: before.sha256 });
  });

  it('policy check - what-if answers allow or deny with the deciding policies', async () => {
    // --tenant: the resource is acme's (without it, it would be the asking administrator's own tenant).
    const check = (env: string) => ['policy', 'check', '--principal', 'dev-1', '--action', 'install', '--resource', 'plugin:forgeone/hello', '--env', env, '--tenant', 'acme'];
    const allow = cliSucceeded(await admin(...check('staging'))) as {
      decision: string;
      policyIds: string[];
    };
    expect(allow).toMatchObject({ decision: 'allow', policyIds: ['developer-install-non-production'] });
    const deny = cliSucceeded(await admin(...check('production')));
    expect(deny).toMatchObject({ decision: 'deny', policyIds: [] });
    const crossTenant = cliSucceeded(await admin(...check('staging'), '--resource-tenant', 'globex'));
    expect(crossTenant).toMatchObject({ decision: 'deny', policyIds: ['forbid-cross-tenant'] });
    const text = await runCli(platform.apiUrl, check('production'), { token: platform.bootstrapToken });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^deny: dev-1 may not install Plugin forgeone\/hello in production/);
  });

  it('policy apply - a stricter set (no developer-publish) takes effect within the cache TTL', async () => {
    cliSucceeded(await as(developer.token, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '1.1.0')));
    const current = cliSucceeded(await admin('policy', 'show')) as { version: number; policies: Record<string, string> };
    expect(Object.keys(current.policies)).toContain('developer-publish');
    const { 'developer-publish': _removed, ...stricter } = current.policies;
    const file = join(work, 'stricter.cedar');
    writeFileSync(file, `${Object.values(stricter).join('\n\n')}\n`);
    const applied = cliSucceeded(await admin('policy', 'apply', file, '--expected-version', String(current.version))) as { version: number; policies: Record<string, string> };
    expect(applied.version).toBe(current.version + 1);
    expect(Object.keys(applied.policies).sort()).toEqual(Object.keys(stricter).sort());

    const denied = await eventually(
      async () => {
        const result = await as(developer.token, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '1.2.0'));
        return result.code === 1 ? cliRefusal(result) : undefined;
      },
      'the stricter policy set to apply',
      CACHE_TTL_MS + 1_000,
      50,
    );
    expect(denied.code).toBe('AUTHZ.DENIED');
    expect(denied.details).toMatchObject({ principal: 'dev-1', action: 'publish', policyVersion: applied.version });
    // The release manager still may.
    cliSucceeded(await as(releaseManager.token, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '1.2.0')));
    const stale = cliRefusal(await admin('policy', 'apply', file, '--expected-version', String(current.version)));
    expect(stale.code).toBe('POLICY.CONFLICT');
  });

  const denialsIn = async (entries: Promise<AuditEntry[]>) =>
    (await entries).filter((e) => e.type === 'io.forgeone.policy.decision_recorded.v1' && e.data.decision === 'deny');

  /** Waits until every expected denial is in the log, else fails naming the missing ones. */
  async function expectDenials(read: () => Promise<AuditEntry[]>, expected: readonly DenialQuery[]): Promise<AuditEntry[]> {
    try {
      return await eventually(
        async () => {
          const found = await denialsIn(read());
          return expected.every((want) => found.some((e) => matches(e, want))) ? found : undefined;
        },
        'the denials in the audit log',
        10_000,
        250,
      );
    } catch (error) {
      const found = await denialsIn(read());
      const missing = expected.filter((want) => !found.some((e) => matches(e, want)));
      throw new Error(`${(error as Error).message}; missing: ${JSON.stringify(missing)}; denials found: ${JSON.stringify(found.map((e) => e.data))}`);
    }
  }

  it('audit - every policy denial is a decision_recorded entry naming principal, action, resource and policies', async () => {
    const acme = { tenant: 'acme' };
    const denials = await expectDenials(auditLog, [
      { principal: 'dev-1', action: 'install', resource: { type: 'Plugin', id: 'forgeone/hello', ...acme }, environment: 'production' },
      { principal: 'aud-1', action: 'publish', resource: { type: 'Plugin', id: 'forgeone/hello', ...acme } },
      { principal: 'aud-1', action: 'install', resource: { type: 'Plugin', id: 'forgeone/hello', ...acme }, environment: 'staging' },
      { principal: 'aud-1', action: 'read', resource: { type: 'Tenant', id: 'acme', ...acme } },
      { principal: 'aud-1', action: 'manage-tokens', resource: { type: 'Tenant', id: 'acme', ...acme } },
      { principal: 'dev-1', action: 'publish', resource: { type: 'Plugin', id: 'forgeone/hello', ...acme }, policyVersionAbove: 1 },
    ]);
    for (const entry of denials) {
      expect(entry.tenant).toBe('acme');
      expect(entry.data).toMatchObject({ principal: expect.any(String), action: expect.any(String), resource: expect.objectContaining({ type: expect.any(String), id: expect.any(String) }) });
      expect(Array.isArray(entry.data.policyIds)).toBe(true);
    }
    // Another tenant's log holds none of them.
    const admin = await wholeAuditLog<AuditEntry>((...args) => as(platform.bootstrapToken, ...args));
    expect(admin.filter((e) => e.tenant !== 'default')).toEqual([]);
  });

  it('audit - refused credentials are decision_recorded entries too: revoked and expired tokens in their tenant, forged ones for the platform', async () => {
    await expectDenials(auditLog, [
      { principal: 'dev-2', reason: 'token revoked' },
      { principal: 'dev-3', reason: 'token expired' },
    ]);
    await expectDenials(
      () => wholeAuditLog<AuditEntry>((...args) => as(platform.bootstrapToken, ...args)),
      [{ principal: 'anonymous', reason: 'malformed token' }, { principal: 'anonymous', reason: 'invalid token' }],
    );
  });
});

interface DenialQuery {
  readonly principal: string;
  readonly action?: string;
  readonly resource?: { type: string; id: string; tenant: string };
  readonly environment?: string;
  readonly reason?: string;
  readonly policyVersionAbove?: number;
}

function matches(entry: AuditEntry, want: DenialQuery): boolean {
  const { data } = entry;
  return (
    data.principal === want.principal &&
    (want.action === undefined || data.action === want.action) &&
    (want.resource === undefined ||
      (data.resource?.type === want.resource.type && data.resource.id === want.resource.id && data.resource.tenant === want.resource.tenant)) &&
    (want.environment === undefined || data.environment === want.environment) &&
    (want.reason === undefined || data.reason === want.reason) &&
    (want.policyVersionAbove === undefined || (data.policyVersion ?? 0) > want.policyVersionAbove)
  );
}

// Its own platform: the policy service is paused, so nothing answers authorisation checks.
describe('identity and policy - fail closed without the policy service', () => {
  const namespace = testNamespace('e2e-idp-down');
  let db: TestDatabase;
  let platform: TestPlatform;
  let paused: number | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_AUTHZ_TIMEOUT_MS: '1000' } });
  });

  afterAll(async () => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('commands and queries fail with AUTHZ.UNAVAILABLE and exit 1, and work again once policy answers', async () => {
    const developer = await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer' });
    const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
    const policyPid = platform.pids.policy;
    expect(policyPid).toBeGreaterThan(0);
    // A stopped process keeps its NATS subscriptions but never answers: policy is unreachable, the
    // platform (whose supervisor ends everything when a service exits) keeps running.
    process.kill(policyPid, 'SIGSTOP');
    paused = policyPid;

    for (const args of [
      ['plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '3.0.0')],
      ['plugin', 'install', 'forgeone/hello@3.0.0', '--env', 'staging'],
      ['plugin', 'list'],
      ['audit', 'log'],
    ]) {
      const started = Date.now();
      const error = cliRefusal(await as(developer.token, ...args));
      expect(error.code, args.join(' ')).toBe('AUTHZ.UNAVAILABLE');
      expect(error.message).toMatch(/the (action|request) was refused/);
      expect(Date.now() - started).toBeLessThan(8_000);
    }
    // The administrator is refused too: nobody is let through while policy cannot be asked.
    expect(cliRefusal(await as(platform.bootstrapToken, 'plugin', 'list')).code).toBe('AUTHZ.UNAVAILABLE');

    process.kill(policyPid, 'SIGCONT');
    paused = undefined;
    await eventually(async () => (await as(developer.token, 'plugin', 'list')).code === 0, 'policy to answer again', 10_000, 200);
    expect(cliSucceeded(await as(developer.token, 'plugin', 'publish', helloPluginCopy(work, 'forgeone/hello', '3.0.0')))).toMatchObject({ version: '3.0.0' });
  });
});
