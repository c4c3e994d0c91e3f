import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { startGatewayPeer, type GatewayPeer } from '../../test/gateway-peer.js';
import { UsageError } from '../cli.errors.js';
import { parseExpires } from './token.command.js';

const ADMIN = 'fo_00000000000000aa_adminsecretadminsecretadminsecretadminsec';
const ISSUED = 'fo_0123456789abcdef_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw';
const NOW = new Date('2026-11-27T12:00:00.000Z');

const listed = [
  { tokenId: '0123456789abcdef', principal: 'dev-1', principalType: 'user', role: 'developer', tenant: 'acme', issuedAt: '2026-11-27T10:00:00.123Z' },
  { tokenId: 'fedcba9876543210', principal: 'ci-release', principalType: 'service', role: 'release-manager', tenant: 'acme', issuedAt: '2026-11-27T10:05:00.000Z', expiresAt: '2026-11-28T00:00:00.000Z', revokedAt: '2026-11-27T11:00:00.000Z', revokedReason: 'rotated' },
  { tokenId: '1111111111111111', principal: 'old-1', principalType: 'user', role: 'auditor', tenant: 'acme', issuedAt: '2020-01-01T00:00:00.000Z', expiresAt: '2020-02-01T00:00:00.000Z' },
];

let peer: GatewayPeer;

beforeAll(async () => {
  peer = await startGatewayPeer((request) => {
    const path = request.url.split('?')[0];
    const body = request.body as Record<string, string> | undefined;
    if (!request.headers.authorization) {
      return { status: 401, body: { error: { code: 'AUTH.UNAUTHENTICATED', message: 'no API token was sent: send an API token as "Authorization: Bearer <token>"' } } };
    }
    if (request.method === 'POST' && path === '/v1/tokens') {
      if (body?.role === 'wizard') {
        return { status: 400, body: { error: { code: 'IDENTITY.UNKNOWN_ROLE', message: 'role "wizard" is unknown: use one of admin, release-manager, developer, operator, auditor' } } };
      }
      return {
        status: 201,
        body: { tokenId: '0123456789abcdef', token: ISSUED, principal: body?.principal, role: body?.role, tenant: body?.tenant ?? 'acme', ...(body?.expiresAt ? { expiresAt: body.expiresAt } : {}) },
      };
    }
    if (request.method === 'GET' && path === '/v1/tokens') return { status: 200, body: { tokens: request.url.includes('tenant=empty') ? [] : listed } };
    if (request.method === 'DELETE' && path === '/v1/tokens/0123456789abcdef') {
      return { status: 200, body: { ...listed[0], revokedAt: '2026-11-27T12:00:00.000Z', revokedReason: body?.reason, alreadyRevoked: false } };
    }
    if (request.method === 'DELETE' && path === '/v1/tokens/fedcba9876543210') return { status: 200, body: { ...listed[1], alreadyRevoked: true } };
    if (request.method === 'DELETE') return { status: 404, body: { error: { code: 'IDENTITY.TOKEN_NOT_FOUND', message: 'there is no token 9999999999999999; list tokens with token list' } } };
    return { status: 404, body: { error: { code: 'HTTP.NOT_FOUND', message: `no route ${request.method} ${path}` } } };
  });
});

afterAll(() => peer.close());
afterEach(() => {
  peer.received.length = 0;
});

const env = () => ({ FORGEONE_API: peer.url, FORGEONE_TOKEN: ADMIN });

describe('forgeone token', () => {
  it('create - prints only the token on stdout, the rest on stderr, and sends the request with the caller token', async () => {
    const result = await runCli(['token', 'create', '--principal', 'dev-1', '--role', 'developer', '--tenant', 'acme'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${ISSUED}\n`);
    expect(result.stderr).toBe('issued token 0123456789abcdef to dev-1 (role developer, tenant acme); it is shown only this once and stored nowhere: hand it over now\n');
    expect(peer.received[0]).toMatchObject({ method: 'POST', url: '/v1/tokens', body: { principal: 'dev-1', role: 'developer', tenant: 'acme' } });
    expect(peer.received[0].headers.authorization).toBe(`Bearer ${ADMIN}`);
  });

  it('create - with --json prints the whole reply; --expires takes a span from now; --type service', async () => {
    const before = Date.now();
    const result = await runCli(['token', 'create', '--principal', 'ci-release', '--role', 'release-manager', '--expires', '30d', '--type', 'service', '--json'], env());
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const reply = JSON.parse(result.stdout) as { token: string; expiresAt: string };
    expect(reply).toMatchObject({ tokenId: '0123456789abcdef', token: ISSUED, principal: 'ci-release', role: 'release-manager' });
    const sent = peer.received[0].body as { expiresAt: string; principalType: string };
    expect(sent.principalType).toBe('service');
    const days = (Date.parse(sent.expiresAt) - before) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(29.99);
    expect(days).toBeLessThan(30.01);
  });

  it('create - an unknown role is refused by the API with exit 1; bad options are usage errors with exit 2', async () => {
    const wizard = await runCli(['token', 'create', '--principal', 'dev-1', '--role', 'wizard'], env());
    expect(wizard.code).toBe(1);
    expect(wizard.stdout).toBe('');
    expect(wizard.stderr).toBe('error: role "wizard" is unknown: use one of admin, release-manager, developer, operator, auditor (IDENTITY.UNKNOWN_ROLE)\n');
    const before = peer.received.length;
    expect((await runCli(['token', 'create', '--principal', 'dev-1'], env())).code).toBe(2);
    expect((await runCli(['token', 'create', '--principal', 'dev-1', '--role', 'developer', '--expires', 'soon'], env())).stderr).toContain('--expires "soon" is not a time');
    expect((await runCli(['token', 'create', '--principal', 'dev-1', '--role', 'developer', '--expires', '2020-01-01'], env())).stderr).toContain('is not in the future');
    expect((await runCli(['token', 'create', '--principal', 'dev-1', '--role', 'developer', '--type', 'robot'], env())).code).toBe(2);
    expect(peer.received.length).toBe(before);
  });

  it('list - a table with each token status; never a secret', async () => {
    const result = await runCli(['token', 'list'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'TOKEN ID          PRINCIPAL   TYPE     ROLE             TENANT  ISSUED                EXPIRES               STATUS',
        '0123456789abcdef  dev-1       user     developer        acme    2026-11-27T10:00:00Z  -                     active',
        'fedcba9876543210  ci-release  service  release-manager  acme    2026-11-27T10:05:00Z  2026-11-28T00:00:00Z  revoked',
        '1111111111111111  old-1       user     auditor          acme    2020-01-01T00:00:00Z  2020-02-01T00:00:00Z  expired',
        '',
      ].join('\n'),
    );
    const empty = await runCli(['token', 'list', '--tenant', 'empty'], env());
    expect(empty.stdout).toBe('no tokens issued yet\n');
    expect(peer.received[1].url).toBe('/v1/tokens?tenant=empty');
  });

  it('revoke - sends the reason, says what happened, and takes a whole token by mistake without sending its secret', async () => {
    const result = await runCli(['token', 'revoke', '0123456789abcdef', '--reason', 'left the team'], env());
    expect(result).toEqual({ code: 0, stdout: 'revoked token 0123456789abcdef of dev-1\n', stderr: '' });
    expect(peer.received[0]).toMatchObject({ method: 'DELETE', url: '/v1/tokens/0123456789abcdef', body: { reason: 'left the team' } });

    const again = await runCli(['token', 'revoke', 'fedcba9876543210', '--reason', 'rotated'], env());
    expect(again.stdout).toBe('token fedcba9876543210 of ci-release was already revoked at 2026-11-27T11:00:00Z\n');

    const pasted = await runCli(['token', 'revoke', ISSUED, '--reason', 'leaked'], env());
    expect(pasted.code).toBe(0);
    expect(peer.received[2].url).toBe('/v1/tokens/0123456789abcdef');
    expect(JSON.stringify(peer.received[2])).not.toContain(ISSUED.slice(20));

    const missing = await runCli(['token', 'revoke', '9999999999999999', '--reason', 'x'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(IDENTITY.TOKEN_NOT_FOUND)');
    expect((await runCli(['token', 'revoke', '0123456789abcdef'], env())).code).toBe(2);
    expect((await runCli(['token', 'revoke', '0123456789abcdef', '--reason', '  '], env())).code).toBe(2);
  });

  it('without FORGEONE_TOKEN, a refusal says first that no token was configured', async () => {
    const result = await runCli(['token', 'list'], { FORGEONE_API: peer.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: FORGEONE_TOKEN is not set, so no token was sent\. no API token was sent/);
    expect(result.stderr).toContain('(AUTH.UNAUTHENTICATED)');
  });
});

describe('parseExpires', () => {
  it('turns a span into the time that far ahead, and normalises ISO times to UTC', () => {
    expect(parseExpires('12h', NOW)).toBe('2026-11-28T00:00:00.000Z');
    expect(parseExpires('2w', NOW)).toBe('2026-12-11T12:00:00.000Z');
    expect(parseExpires('2027-01-01', NOW)).toBe('2027-01-01T00:00:00.000Z');
    expect(parseExpires('2027-01-01T09:00:00+02:00', NOW)).toBe('2027-01-01T07:00:00.000Z');
  });

  it.each(['tomorrow', '0s', '2026-11-27T11:59:59Z', '-1d', ''])('refuses %j', (text) => {
    expect(() => parseExpires(text, NOW)).toThrow(UsageError);
  });
});
