import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApiToken, serviceCredential, verifyServiceCredential } from '@forgeone/authz';
import { parseWriterKeys } from '@forgeone/event-store';
import { natsPasswordVariable, renderPasswordAccounts } from '@forgeone/runtime';
import { names, SERVICES } from '@forgeone/contracts';
import { signingKeyProviderFromEnv } from '@forgeone/signing';
import { repoRoot } from '@forgeone/test-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// infra/generate-env.sh writes the secrets docker compose reads; what it derives with openssl must be what the services compute.
describe('infra/generate-env.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, '.env');
  execFileSync('sh', [join(repoRoot(), 'infra', 'generate-env.sh'), file], { stdio: 'pipe' });
  const env = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('generate-env - only its owner may read the file', () => {
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it("generate-env - each service's credential is the one the policy service verifies with the key", () => {
    for (const service of SERVICES.filter((s) => s !== 'policy')) {
      const credential = env[`FORGEONE_SERVICE_CREDENTIAL_${service.replace(/-/g, '_').toUpperCase()}`];
      expect(credential, service).toBe(serviceCredential(service, env.FORGEONE_SERVICE_KEY));
      expect(verifyServiceCredential(credential, env.FORGEONE_SERVICE_KEY)).toBe(service);
    }
  });

  it('generate-env and compose - a watcher token the policy service accepts, issued by it and used by the plugins-watcher, which watches ./plugins into staging as npm start does', () => {
    expect(parseApiToken(env.FORGEONE_WATCHER_TOKEN)).toBeDefined();
    const compose = parse(readFileSync(join(repoRoot(), 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, unknown> }>;
    };
    const required = '${FORGEONE_WATCHER_TOKEN:?run infra/generate-env.sh}';
    expect(compose.services.policy?.environment?.FORGEONE_WATCHER_TOKEN).toBe(required);
    const watcher = compose.services['plugins-watcher'];
    expect(watcher?.command).toEqual(['node', 'apps/cli/dist/main.js', 'watch', '/plugins', '--env', '${FORGEONE_WATCH_ENV:-staging}']);
    expect(watcher?.environment).toEqual({ FORGEONE_API: 'http://gateway:8080', FORGEONE_TOKEN: required });
    expect(watcher?.volumes).toEqual(['${FORGEONE_WATCH_DIR:-./plugins}:/plugins']);
    expect(Object.keys(watcher?.depends_on ?? {})).toContain('gateway');
    // No other container holds the watcher's token.
    const holders = Object.entries(compose.services).filter(([, service]) => JSON.stringify(service.environment ?? {}).includes('FORGEONE_WATCHER_TOKEN'));
    expect(holders.map(([name]) => name).sort()).toEqual(['plugins-watcher', 'policy']);
  });

  it('generate-env - a password for every NATS user of accounts.conf, and event writer keys that parse', () => {
    const accounts = renderPasswordAccounts(names(''));
    const variables = [...accounts.matchAll(/password: \$(\w+)/g)].map((m) => m[1]);
    expect(variables).toContain(natsPasswordVariable({ kind: 'operator' }));
    for (const variable of variables) expect(env[variable], variable).toMatch(/^p[0-9a-f]{48}$/);
    const writers = JSON.stringify({
      registry: env.FORGEONE_EVENT_REGISTRY_PUBLIC_KEY,
      signer: env.FORGEONE_EVENT_SIGNER_PUBLIC_KEY,
      policy: env.FORGEONE_EVENT_POLICY_PUBLIC_KEY,
      'sandbox-runner': env.FORGEONE_EVENT_SANDBOX_RUNNER_PUBLIC_KEY,
      'audit-projector': env.FORGEONE_EVENT_AUDIT_PROJECTOR_PUBLIC_KEY,
    });
    expect(() => parseWriterKeys(writers)).not.toThrow();
    // The check can fail: a key that is not an Ed25519 public key is refused.
    expect(() => parseWriterKeys(writers.replace(env.FORGEONE_EVENT_SIGNER_PUBLIC_KEY, 'AAAA'))).toThrow();
  });

  it("generate-env - the audit log's checkpoint key loads as the audit-projector reads it", async () => {
    const key = await signingKeyProviderFromEnv({ FORGEONE_AUDIT_KEY: env.FORGEONE_AUDIT_KEY }, 'FORGEONE_AUDIT_KEY');
    expect((await key!.publicKey()).asymmetricKeyType).toBe('ed25519');
    await expect(signingKeyProviderFromEnv({ FORGEONE_AUDIT_KEY: 'AAAA' }, 'FORGEONE_AUDIT_KEY')).rejects.toThrow(/FORGEONE_AUDIT_KEY/);
  });
});
