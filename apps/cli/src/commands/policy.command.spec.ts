import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { startGatewayPeer, type GatewayPeer } from '../../test/gateway-peer.js';
import { UsageError } from '../cli.errors.js';
import { parseResource, renderPolicySet } from './policy.command.js';

const ADMIN = 'admin-token-0123456789abcdef';
const CEDAR = '@id("developer-publish")\npermit (principal in ForgeOne::Role::"developer", action == ForgeOne::Action::"publish", resource);\n';
const SET = {
  version: 2,
  sha256: 'ab'.repeat(32),
  policies: { 'developer-publish': CEDAR.trim(), policy1: 'forbid (principal, action, resource) when { false };' },
  appliedAt: '2026-11-27T10:00:00.000Z',
  appliedBy: 'bootstrap-admin',
};

let peer: GatewayPeer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forgeone-cli-policy-'));
  await writeFile(join(dir, 'policies.cedar'), `\uFEFF${CEDAR}`);
  await writeFile(join(dir, 'broken.cedar'), 'permit (principal, action');
  await writeFile(join(dir, 'empty.cedar'), '  \n');
  peer = await startGatewayPeer((request) => {
    const path = request.url.split('?')[0];
    const body = request.body as { policies?: string; expectedVersion?: number; principal?: string } | undefined;
    if (request.method === 'POST' && path === '/v1/policies') {
      if (body?.policies?.startsWith('permit (principal, action')) {
        return {
          status: 400,
          body: { error: { code: 'POLICY.INVALID', message: 'the policy set is not valid Cedar: unexpected end of input', details: { problems: ['line 1, column 26: unexpected end of input'] } } },
        };
      }
      if (body?.expectedVersion === 1) return { status: 409, body: { error: { code: 'POLICY.CONFLICT', message: 'the policy set is at version 2, not 1' } } };
      return { status: 200, body: { ...SET, version: 3, policies: { 'developer-publish': CEDAR.trim() }, warnings: ['policy developer-publish: impossible condition'] } };
    }
    if (request.method === 'GET' && path === '/v1/policies') return { status: 200, body: SET };
    if (request.method === 'POST' && path === '/v1/policies/check') {
      return body?.principal === 'dev-1'
        ? { status: 200, body: { decision: 'allow', policyIds: ['developer-install-non-production'], policyVersion: 2, errors: [] } }
        : { status: 200, body: { decision: 'deny', policyIds: [], policyVersion: 2, errors: ['while evaluating policy x: attribute missing'] } };
    }
    return { status: 404, body: { error: { code: 'HTTP.NOT_FOUND', message: `no route ${request.method} ${path}` } } };
  });
});

afterAll(async () => {
  await peer.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  peer.received.length = 0;
});

const env = () => ({ FORGEONE_API: peer.url, FORGEONE_TOKEN: ADMIN });

describe('forgeone policy', () => {
  it('apply - sends the file as Cedar text (without a byte-order mark) and prints the new version and its policies', async () => {
    const result = await runCli(['policy', 'apply', 'policies.cedar', '--expected-version', '2'], env(), dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('applied policy set version 3, sha256 abababababab…, applied 2026-11-27T10:00:00Z by bootstrap-admin: 1 policy (developer-publish)\n');
    expect(result.stderr).toBe('warning: policy developer-publish: impossible condition\n');
    expect(peer.received[0]).toMatchObject({ method: 'POST', url: '/v1/policies', body: { policies: CEDAR, expectedVersion: 2 } });
  });

  it("apply - a missing, empty or folder path is a clear error before anything is sent; Cedar's refusal is printed with its problems", async () => {
    const missing = await runCli(['policy', 'apply', 'nope.cedar'], env(), dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: ${join(dir, 'nope.cedar')} does not exist: give the path of a Cedar policy file, e.g. policies.cedar (forgeone policy show prints the active set as one) (COMMAND.INVALID)\n`);
    expect((await runCli(['policy', 'apply', 'empty.cedar'], env(), dir)).stderr).toContain('is empty');
    expect((await runCli(['policy', 'apply', '.'], env(), dir)).stderr).toContain('is a folder');
    expect(peer.received).toHaveLength(0);

    const broken = await runCli(['policy', 'apply', 'broken.cedar'], env(), dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('error: the policy set is not valid Cedar: unexpected end of input (POLICY.INVALID)\n  - line 1, column 26: unexpected end of input\n');
    expect((await runCli(['policy', 'apply', 'policies.cedar', '--expected-version', '1'], env(), dir)).stderr).toContain('(POLICY.CONFLICT)');
    expect((await runCli(['policy', 'apply', 'policies.cedar', '--expected-version', 'latest'], env(), dir)).code).toBe(2);
  });

  it('show - prints the set as a Cedar file that apply takes back with the same ids; --json the reply', async () => {
    const result = await runCli(['policy', 'show'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '// policy set version 2, sha256 abababababab…, applied 2026-11-27T10:00:00Z by bootstrap-admin',
        '',
        CEDAR.trim(),
        '',
        '@id("policy1")',
        'forbid (principal, action, resource) when { false };',
        '',
      ].join('\n'),
    );
    expect(JSON.parse((await runCli(['policy', 'show', '--json'], env())).stdout)).toEqual(SET);
  });

  it('check - prints allow with the deciding policies, or deny with evaluation errors; exit 0 either way', async () => {
    const allow = await runCli(['policy', 'check', '--principal', 'dev-1', '--action', 'install', '--resource', 'plugin:acme/hello', '--env', 'staging'], env());
    expect(allow).toEqual({
      code: 0,
      stdout: 'allow: dev-1 may install Plugin acme/hello in staging (permitted by developer-install-non-production; policy set version 2)\n',
      stderr: '',
    });
    expect(peer.received[0]).toMatchObject({
      method: 'POST',
      url: '/v1/policies/check',
      body: { principal: 'dev-1', action: 'install', resource: { type: 'Plugin', id: 'acme/hello' }, environment: 'staging' },
    });

    const deny = await runCli(
      ['policy', 'check', '--principal', 'aud-1', '--action', 'publish', '--resource', 'Tenant:globex', '--role', 'auditor', '--tenant', 'acme', '--resource-tenant', 'globex'],
      env(),
    );
    expect(deny.code).toBe(0);
    expect(deny.stdout).toBe('deny: aud-1 may not publish Tenant globex (no policy permits it; policy set version 2)\n  evaluation error: while evaluating policy x: attribute missing\n');
    expect(peer.received[1].body).toEqual({ principal: 'aud-1', action: 'publish', resource: { type: 'Tenant', id: 'globex', tenant: 'globex' }, role: 'auditor', tenant: 'acme' });

    const json = await runCli(['policy', 'check', '--principal', 'dev-1', '--action', 'install', '--resource', 'plugin:acme/hello', '--json'], env());
    expect(JSON.parse(json.stdout)).toEqual({ decision: 'allow', policyIds: ['developer-install-non-production'], policyVersion: 2, errors: [] });
  });

  it('check - a malformed resource or environment, or a missing option, is a usage error', async () => {
    expect((await runCli(['policy', 'check', '--principal', 'p', '--action', 'read', '--resource', 'acme/hello'], env())).code).toBe(2);
    expect((await runCli(['policy', 'check', '--principal', 'p', '--action', 'read', '--resource', 'plugin:x', '--env', 'Prod'], env())).code).toBe(2);
    expect((await runCli(['policy', 'check', '--principal', 'p', '--resource', 'plugin:x'], env())).code).toBe(2);
    expect(peer.received).toHaveLength(0);
  });
});

describe('policy command helpers', () => {
  it('parseResource - takes plugin, environment and tenant in any case, and the id after the first colon', () => {
    expect(parseResource('plugin:acme/hello')).toEqual({ type: 'Plugin', id: 'acme/hello' });
    expect(parseResource('ENVIRONMENT:production')).toEqual({ type: 'Environment', id: 'production' });
    expect(parseResource('tenant:a:b')).toEqual({ type: 'Tenant', id: 'a:b' });
    for (const text of ['plugin:', ':x', 'user:alice', 'acme']) expect(() => parseResource(text)).toThrow(UsageError);
  });

  it('renderPolicySet - keeps ids that are already annotated and annotates the others', () => {
    const text = renderPolicySet({ version: 1, sha256: 'c'.repeat(64), policies: { a: '@id("a") permit (principal, action, resource);', b: 'permit (principal, action, resource);' } });
    expect(text).toBe('// policy set version 1, sha256 cccccccccccc…\n\n@id("a") permit (principal, action, resource);\n\n@id("b")\npermit (principal, action, resource);\n');
  });
});
