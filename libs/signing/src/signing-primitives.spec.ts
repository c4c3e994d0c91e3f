import { createPublicKey } from 'node:crypto';
import { KEY_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { decodeStrictBase64, pae, sha256Hex } from './dsse.js';
import { addSignature, parseEnvelope, readEnvelopeStatement, serializeEnvelope, signEnvelope } from './envelope.js';
import { generateKeyPair, keyIdOf, loadPrivateKey, parsePublicKey } from './keys.js';
import { buildPluginStatement, pluginManifestDigest } from './plugin-statement.js';
import { decideKeyCommand, evolveTrustStore, initialTrustStore, scopeMatches, trustStoreOf } from './trust-store.js';

const manifest = {
  name: 'acme/hello',
  version: '1.0.0',
  abi: 1,
  description: 'greets',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 1024 },
};

describe('DSSE primitives', () => {
  it('pae - matches the DSSE v1 specification example', () => {
    const bytes = pae('http://example.com/HelloWorld', new TextEncoder().encode('hello world'));
    expect(new TextDecoder().decode(bytes)).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('pae - lengths count bytes, not characters', () => {
    expect(new TextDecoder().decode(pae('t/ü', new TextEncoder().encode('é')))).toBe('DSSEv1 4 t/ü 2 é');
  });

  it('base64 - strict: standard alphabet, padding, no white space, canonical trailing bits', () => {
    expect(decodeStrictBase64('aGk=')).toEqual(new Uint8Array([104, 105]));
    for (const bad of ['aGk', 'aG k=', 'aGk=\n', 'a-_=', 'aGl=', '====']) expect(decodeStrictBase64(bad), bad).toBeUndefined();
  });
});

describe('keys', () => {
  it('keys - key id is the sha256 of the SPKI DER of the public key, the same from either half', () => {
    const pair = generateKeyPair();
    const der = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
    expect(pair.keyId).toBe(sha256Hex(der));
    expect(keyIdOf(pair.publicKeyPem)).toBe(pair.keyId);
    expect(keyIdOf(loadPrivateKey(pair.privateKeyPem))).toBe(pair.keyId);
  });

  it('keys - a passphrase encrypts the private key; the wrong one is refused with KEY.INVALID', () => {
    const pair = generateKeyPair({ passphrase: 'correct horse' });
    expect(pair.privateKeyPem).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(keyIdOf(loadPrivateKey(pair.privateKeyPem, 'correct horse'))).toBe(pair.keyId);
    expect(() => loadPrivateKey(pair.privateKeyPem, 'wrong')).toThrow(expect.objectContaining({ code: 'KEY.INVALID' }));
    expect(() => loadPrivateKey(pair.privateKeyPem)).toThrow(expect.objectContaining({ code: 'KEY.INVALID' }));
  });

  it('keys - a non-Ed25519 or non-PEM public key is refused', () => {
    expect(() => parsePublicKey('not a key')).toThrow(expect.objectContaining({ code: 'KEY.INVALID' }));
  });
});

describe('statements and envelopes', () => {
  const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);

  it('statement - names both subjects by sha256 and copies name, version and capabilities', () => {
    const statement = buildPluginStatement({ wasm, manifest, publisher: 'acme' });
    expect(statement.subject).toEqual([
      { name: 'plugin.wasm', digest: { sha256: sha256Hex(wasm) } },
      { name: 'forgeone.plugin.json', digest: { sha256: pluginManifestDigest(manifest).slice(7) } },
    ]);
    expect(statement.predicate).toEqual({ name: 'acme/hello', version: '1.0.0', capabilities: {}, publisher: 'acme' });
    expect(buildPluginStatement({ wasmDigest: `sha256:${sha256Hex(wasm)}`, manifest, publisher: 'acme' })).toEqual(statement);
  });

  it('statement - the manifest digest ignores formatting and key order but not content', () => {
    const reordered = Object.fromEntries(Object.entries(manifest).reverse());
    expect(pluginManifestDigest(reordered)).toBe(pluginManifestDigest(manifest));
    expect(pluginManifestDigest({ ...manifest, tests: [] })).toBe(pluginManifestDigest(manifest));
    expect(pluginManifestDigest({ ...manifest, version: '1.0.1' })).not.toBe(pluginManifestDigest(manifest));
  });

  it('envelope - round-trips through plugin.sig.json text', () => {
    const pair = generateKeyPair();
    const statement = buildPluginStatement({ wasm, manifest, publisher: 'acme' });
    const envelope = signEnvelope(statement, pair.privateKeyPem);
    const parsed = parseEnvelope(serializeEnvelope(envelope));
    expect(parsed).toEqual(envelope);
    expect(readEnvelopeStatement(parsed)).toEqual(statement);
  });

  it('envelope - addSignature keeps the payload and refuses a second signature by the same key', () => {
    const [a, b] = [generateKeyPair(), generateKeyPair()];
    const envelope = signEnvelope(buildPluginStatement({ wasm, manifest, publisher: 'acme' }), a.privateKeyPem);
    const both = addSignature(envelope, b.privateKeyPem);
    expect(both.payload).toBe(envelope.payload);
    expect(both.signatures.map((s) => s.keyid)).toEqual([a.keyId, b.keyId]);
    expect(() => addSignature(both, a.privateKeyPem)).toThrow(expect.objectContaining({ code: 'COMMAND.INVALID' }));
  });

  it('envelope - parseEnvelope names the problem', () => {
    expect(() => parseEnvelope('{')).toThrow(expect.objectContaining({ code: 'SIGNATURE.MALFORMED' }));
    expect(() => parseEnvelope('x'.repeat(64 * 1024 + 1))).toThrow(expect.objectContaining({ code: 'SIGNATURE.TOO_LARGE' }));
  });
});

describe('trust store', () => {
  const pair = generateKeyPair();
  const trust = {
    type: 'TrustKey' as const,
    data: { keyId: pair.keyId, publicKeyPem: pair.publicKeyPem, publisher: 'acme', scope: 'acme/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'u-1' },
  };
  const revoke = { type: 'RevokeKey' as const, data: { keyId: pair.keyId, revokedAt: '2026-02-01T00:00:00Z', reason: 'rotated', revokedBy: 'u-2' } };

  it('key decider - given no key, when trusted, then key trusted', () => {
    expect(decideKeyCommand(trust, undefined)).toEqual([{ type: KEY_EVENT_TYPES.trusted, data: trust.data }]);
  });

  it('key decider - given a trusted key, when trusted again, then KEY.ALREADY_TRUSTED; when revoked, then key revoked', () => {
    const store = trustStoreOf(decideKeyCommand(trust, undefined));
    const current = store.keys.get(pair.keyId);
    expect(() => decideKeyCommand(trust, current)).toThrow(expect.objectContaining({ code: 'KEY.ALREADY_TRUSTED' }));
    expect(decideKeyCommand(revoke, current)).toEqual([{ type: KEY_EVENT_TYPES.revoked, data: revoke.data }]);
  });

  it('key decider - given a revoked key, revoke and trust are refused with KEY.ALREADY_REVOKED', () => {
    const current = trustStoreOf([...decideKeyCommand(trust, undefined), { type: KEY_EVENT_TYPES.revoked, data: revoke.data }]).keys.get(pair.keyId);
    expect(current?.revokedAt).toBe('2026-02-01T00:00:00Z');
    expect(() => decideKeyCommand(revoke, current)).toThrow(expect.objectContaining({ code: 'KEY.ALREADY_REVOKED' }));
    expect(() => decideKeyCommand(trust, current)).toThrow(expect.objectContaining({ code: 'KEY.ALREADY_REVOKED' }));
  });

  it('key decider - revoking an unknown key is KEY.NOT_FOUND; an empty validity window is refused', () => {
    expect(() => decideKeyCommand(revoke, undefined)).toThrow(expect.objectContaining({ code: 'KEY.NOT_FOUND' }));
    expect(() => decideKeyCommand({ ...trust, data: { ...trust.data, validUntil: '2025-12-31T00:00:00Z' } }, undefined)).toThrow(
      expect.objectContaining({ code: 'COMMAND.INVALID' }),
    );
  });

  it('trust store fold - ignores other types, invalid data and revocations of unknown keys; keeps the trust time', () => {
    const state = initialTrustStore();
    expect(evolveTrustStore(state, { type: 'io.forgeone.plugin.installed.v1', data: {} })).toBe(state);
    expect(evolveTrustStore(state, { type: KEY_EVENT_TYPES.revoked, data: revoke.data })).toBe(state);
    expect(evolveTrustStore(state, { type: KEY_EVENT_TYPES.trusted, data: { ...trust.data, keyId: 'nope' } })).toBe(state);
    const next = evolveTrustStore(state, { type: KEY_EVENT_TYPES.trusted, data: trust.data, time: '2026-01-02T00:00:00Z' });
    expect(next.keys.get(pair.keyId)).toMatchObject({ trustedAt: '2026-01-02T00:00:00Z', revokedAt: null });
    expect(state.keys.size).toBe(0);
  });

  it('scope - "*" matches within one segment only', () => {
    expect(scopeMatches('acme/*', 'acme/hello')).toBe(true);
    expect(scopeMatches('acme/pii-*', 'acme/pii-redactor')).toBe(true);
    expect(scopeMatches('acme/pii-*', 'acme/hello')).toBe(false);
    expect(scopeMatches('*/*', 'globex/x')).toBe(true);
    expect(scopeMatches('acme/*', 'acmex/hello')).toBe(false);
    expect(scopeMatches('acme*', 'acme/hello')).toBe(false);
    expect(scopeMatches('acme/hello', 'acme/hello')).toBe(true);
  });
});
