import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvelope, pluginManifestDigest, sha256Digest, trustStoreOf, verifyPluginEnvelope } from '@forgeone/signing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { startGatewayPeer, type GatewayPeer } from '../../test/gateway-peer.js';

const TOKEN = 'fo_00000000000000aa_devsecretdevsecretdevsecretdevsecretdevs';
const HELLO = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello');

let peer: GatewayPeer;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'forgeone-keys-'));
  peer = await startGatewayPeer((request) => {
    const key = { keyId: 'a'.repeat(64), publicKeyPem: '', publisher: 'forgeone', scope: 'forgeone/*', validFrom: '2026-01-01T00:00:00.000Z', validUntil: null, trustedBy: 'ann', trustedAt: '2026-01-01T00:00:00.000Z', revokedAt: null, revokedReason: null, revokedBy: null };
    if (request.method === 'POST' && request.url === '/v1/keys') return { status: 201, body: { ...key, ...(request.body as object), eventId: 'e1', sequence: 7 } };
    if (request.method === 'GET' && request.url === '/v1/keys') return { status: 200, body: { keys: [key] } };
    if (request.method === 'DELETE' && request.url.startsWith('/v1/keys/')) return { status: 200, body: { ...key, revokedAt: '2026-02-01T00:00:00.000Z', revokedReason: 'lost', revokedBy: 'ann', eventId: 'e2', sequence: 8 } };
    if (request.method === 'POST' && request.url === '/v1/plugins') {
      return { status: 201, body: { name: 'forgeone/hello', version: '1.0.0', digest: `sha256:${'b'.repeat(64)}`, sizeBytes: 1, eventId: 'e3', sequence: 9, projected: true } };
    }
    return { status: 404, body: { error: { code: 'HTTP.NOT_FOUND', message: `no route ${request.url}` } } };
  });
});

afterAll(async () => {
  await peer.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  peer.received.length = 0;
});

const env = (extra: Record<string, string> = {}) => ({ FORGEONE_API: peer.url, FORGEONE_TOKEN: TOKEN, ...extra });
const folder = (name: string) => {
  const dir = join(work, name);
  cpSync(HELLO, dir, { recursive: true });
  return dir;
};

describe('keys generate', () => {
  it('keys generate - writes a 0600 private key and a public key, prints the key id, never overwrites', async () => {
    const out = join(work, 'k1');
    const result = await runCli(['keys', 'generate', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(join(out, 'private.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'public.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const before = readFileSync(join(out, 'private.pem'), 'utf8');
    const again = await runCli(['keys', 'generate', '--out', out, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.message).toMatch(/already exists/);
    expect(readFileSync(join(out, 'private.pem'), 'utf8')).toBe(before);
  });

  it('keys generate - --passphrase-env encrypts the key; an unset variable is a usage error', async () => {
    const out = join(work, 'k2');
    expect((await runCli(['keys', 'generate', '--out', out, '--passphrase-env', 'NOPE'])).code).toBe(2);
    expect(existsSync(join(out, 'private.pem'))).toBe(false);
    const result = await runCli(['keys', 'generate', '--out', out, '--passphrase-env', 'PW', '--json'], { PW: 'correct horse' });
    expect(JSON.parse(result.stdout)).toMatchObject({ encrypted: true, keyId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readFileSync(join(out, 'private.pem'), 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
  });
});

describe('plugin sign', () => {
  it('plugin sign - writes plugin.sig.json that verifies against the folder; a second key adds a signature; the same key twice is refused', async () => {
    const dir = folder('p1');
    await runCli(['keys', 'generate', '--out', join(work, 'a')]);
    await runCli(['keys', 'generate', '--out', join(work, 'b'), '--passphrase-env', 'PW'], { PW: 'pw' });
    const first = await runCli(['plugin', 'sign', dir, '--key', join(work, 'a', 'private.pem'), '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ file: join(dir, 'plugin.sig.json'), replaced: false, statement: { predicate: { name: 'forgeone/hello', publisher: 'forgeone' } } });

    const wrongPassphrase = await runCli(['plugin', 'sign', dir, '--key', join(work, 'b', 'private.pem'), '--passphrase-env', 'PW', '--json'], { PW: 'nope' });
    expect(JSON.parse(wrongPassphrase.stderr).error.code).toBe('KEY.INVALID');
    const second = await runCli(['plugin', 'sign', dir, '--key', join(work, 'b', 'private.pem'), '--passphrase-env', 'PW'], { PW: 'pw' });
    expect(second.code, second.stderr).toBe(0);
    const twice = await runCli(['plugin', 'sign', dir, '--key', join(work, 'a', 'private.pem'), '--json']);
    expect(JSON.parse(twice.stderr).error.message).toMatch(/already signed by key/);

    const envelope = parseEnvelope(readFileSync(join(dir, 'plugin.sig.json'), 'utf8'));
    expect(envelope.signatures).toHaveLength(2);
    const trust = (name: string) => ({
      type: 'io.forgeone.key.trusted.v1',
      data: { keyId: '', publicKeyPem: readFileSync(join(work, name, 'public.pem'), 'utf8'), publisher: 'forgeone', scope: 'forgeone/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'ann' },
    });
    const events = ['a', 'b'].map((name, i) => {
      const event = trust(name);
      event.data.keyId = envelope.signatures[i].keyid;
      return event;
    });
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as { name: string; version: string };
    const result = verifyPluginEnvelope({
      envelope: readFileSync(join(dir, 'plugin.sig.json')),
      wasmDigest: sha256Digest(readFileSync(join(dir, 'plugin.wasm'))),
      manifestDigest: pluginManifestDigest(manifest),
      manifest,
      trustStore: trustStoreOf(events),
      signedAt: new Date(),
      now: new Date(),
      threshold: 2,
    });
    expect(result).toMatchObject({ ok: true });
    expect(result.keyIds).toHaveLength(2);
  });

  it('plugin sign - a changed module replaces the old signature instead of co-signing other bytes', async () => {
    const dir = folder('p2');
    await runCli(['plugin', 'sign', dir, '--key', join(work, 'a', 'private.pem')]);
    const wasm = readFileSync(join(dir, 'plugin.wasm'));
    writeFileSync(join(dir, 'plugin.wasm'), Buffer.concat([wasm, Buffer.from([0, 1, 0])]));
    const result = await runCli(['plugin', 'sign', dir, '--key', join(work, 'a', 'private.pem')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/was replaced/);
    expect(parseEnvelope(readFileSync(join(dir, 'plugin.sig.json'), 'utf8')).signatures).toHaveLength(1);
  });

  it('plugin publish - sends plugin.sig.json as written when the folder has one', async () => {
    const dir = folder('p3');
    expect((await runCli(['plugin', 'publish', dir], env())).code).toBe(0);
    expect(peer.received[0].body).not.toHaveProperty('signature');
    await runCli(['plugin', 'sign', dir, '--key', join(work, 'a', 'private.pem'), '--expires', '30d']);
    expect((await runCli(['plugin', 'publish', dir], env())).code).toBe(0);
    expect((peer.received[1].body as { signature: string }).signature).toBe(readFileSync(join(dir, 'plugin.sig.json'), 'utf8'));
  });
});

describe('keys trust, revoke, list', () => {
  it('keys trust - sends the public key with publisher, scope and times', async () => {
    const result = await runCli(['keys', 'trust', join(work, 'a', 'public.pem'), '--publisher', 'forgeone', '--scope', 'forgeone/he*', '--valid-until', '2030-01-01'], env());
    expect(result.code, result.stderr).toBe(0);
    expect(peer.received[0].body).toEqual({ publicKeyPem: readFileSync(join(work, 'a', 'public.pem'), 'utf8'), publisher: 'forgeone', scope: 'forgeone/he*', validUntil: '2030-01-01T00:00:00.000Z' });
    expect(result.stdout).toMatch(/^trusted key [0-9a-f]{64} for publisher forgeone/);
  });

  it('keys trust - refuses a private key file', async () => {
    const result = await runCli(['keys', 'trust', join(work, 'a', 'private.pem'), '--publisher', 'forgeone'], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/holds a private key/);
    expect(peer.received).toHaveLength(0);
  });

  it('keys revoke and list - send the reason and time; list prints a table', async () => {
    const revoked = await runCli(['keys', 'revoke', 'a'.repeat(64), '--reason', 'lost', '--at', '2026-02-01T00:00:00Z', '--json'], env());
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(peer.received[0]).toMatchObject({ method: 'DELETE', url: `/v1/keys/${'a'.repeat(64)}`, body: { reason: 'lost', revokedAt: '2026-02-01T00:00:00.000Z' } });
    expect((await runCli(['keys', 'revoke', 'abc', '--reason', 'x'], env())).code).toBe(2);
    const listed = await runCli(['keys', 'list'], env());
    expect(listed.stdout).toMatch(/KEY ID\s+PUBLISHER\s+SCOPE/);
    expect(listed.stdout).toMatch(/forgeone\/\*/);
  });
});
