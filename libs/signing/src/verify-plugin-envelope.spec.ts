import { sign } from 'node:crypto';
import { canonicalJson, IN_TOTO_PAYLOAD_TYPE, KEY_EVENT_TYPES, SIGNATURE_REASONS, type DsseEnvelope, type PluginStatement } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { encodeBase64, pae, sha256Digest } from './dsse.js';
import { addSignature, serializeEnvelope, signEnvelope } from './envelope.js';
import { generateKeyPair, loadPrivateKey, type GeneratedKeyPair } from './keys.js';
import { buildPluginStatement, pluginManifestDigest } from './plugin-statement.js';
import { trustStoreOf, type KeyEventLike } from './trust-store.js';
import { checkEnvelopeStructure, verifyPluginEnvelope, type VerifyPluginEnvelopeInput } from './verify-plugin-envelope.js';

const manifest = {
  name: 'acme/hello',
  version: '1.2.0',
  abi: 1,
  description: 'greets',
  handlers: ['greet'],
  capabilities: { log: true },
  limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 1024 },
};
const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 42]);
const wasmDigest = sha256Digest(wasm);
const manifestDigest = pluginManifestDigest(manifest);
const T0 = '2026-01-01T00:00:00.000Z';
const PUBLISHED = new Date('2026-03-01T00:00:00Z');
const NOW = new Date('2026-03-02T00:00:00Z');

const alice = generateKeyPair();
const bob = generateKeyPair();
const mallory = generateKeyPair();

function trusted(pair: GeneratedKeyPair, overrides: Partial<Record<string, unknown>> = {}): KeyEventLike {
  return {
    type: KEY_EVENT_TYPES.trusted,
    data: { keyId: pair.keyId, publicKeyPem: pair.publicKeyPem, publisher: 'acme', scope: 'acme/*', validFrom: T0, validUntil: null, trustedBy: 'u-1', ...overrides },
  };
}
function revoked(pair: GeneratedKeyPair, revokedAt: string): KeyEventLike {
  return { type: KEY_EVENT_TYPES.revoked, data: { keyId: pair.keyId, revokedAt, reason: 'laptop lost', revokedBy: 'u-1' } };
}

const statement = (overrides: Partial<Parameters<typeof buildPluginStatement>[0]> = {}): PluginStatement =>
  buildPluginStatement({ wasm, manifest, publisher: 'acme', ...overrides });
const bytesOf = (envelope: unknown) => new TextEncoder().encode(typeof envelope === 'string' ? envelope : serializeEnvelope(envelope as DsseEnvelope));

function check(envelope: Uint8Array | null, overrides: Partial<VerifyPluginEnvelopeInput> = {}) {
  return verifyPluginEnvelope({
    envelope,
    wasmDigest,
    manifestDigest,
    manifest: { name: manifest.name, version: manifest.version },
    trustStore: trustStoreOf([trusted(alice), trusted(bob)]),
    signedAt: PUBLISHED,
    now: NOW,
    ...overrides,
  });
}

// An envelope signed over an arbitrary payload, to reach the checks after the signature.
function signRaw(payloadType: string, payload: Uint8Array, pair = alice): DsseEnvelope {
  const sig = sign(null, pae(payloadType, payload), loadPrivateKey(pair.privateKeyPem));
  return { payloadType, payload: encodeBase64(payload), signatures: [{ keyid: pair.keyId, sig: encodeBase64(sig) }] };
}

describe('verifyPluginEnvelope', () => {
  it('verify - a plugin signed by a trusted key verifies, with its key id, envelope digest and statement', () => {
    const bytes = bytesOf(signEnvelope(statement(), alice.privateKeyPem));
    const result = check(bytes);
    expect(result).toMatchObject({ ok: true, reason: null, keyIds: [alice.keyId], presentedKeyIds: [alice.keyId], envelopeDigest: sha256Digest(bytes) });
    expect(result.statement?.predicate).toMatchObject({ name: 'acme/hello', version: '1.2.0', publisher: 'acme', capabilities: { log: true } });
  });

  it('verify - MISSING without an envelope', () => {
    expect(check(null).reason).toBe('SIGNATURE.MISSING');
    expect(check(new Uint8Array()).reason).toBe('SIGNATURE.MISSING');
  });

  it('verify - TOO_LARGE for an oversized envelope, payload or signature list', () => {
    expect(check(new Uint8Array(64 * 1024 + 1)).reason).toBe('SIGNATURE.TOO_LARGE');
    const big = signRaw(IN_TOTO_PAYLOAD_TYPE, new Uint8Array(16 * 1024 + 1).fill(32));
    expect(check(bytesOf(big)).reason).toBe('SIGNATURE.TOO_LARGE');
    const envelope = signEnvelope(statement(), alice.privateKeyPem);
    const many = { ...envelope, signatures: Array.from({ length: 17 }, () => envelope.signatures[0]) };
    expect(check(bytesOf(many)).reason).toBe('SIGNATURE.TOO_LARGE');
  });

  it('verify - MALFORMED for bad JSON, bad base64, bad UTF-8, unknown fields, and a signed payload that is not a statement', () => {
    const envelope = signEnvelope(statement(), alice.privateKeyPem);
    expect(check(bytesOf('{"payloadType": ')).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf('[]')).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf({ ...envelope, payload: `${envelope.payload.slice(0, -4)}\n${envelope.payload.slice(-4)}` })).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf({ ...envelope, payload: `${envelope.payload}=` })).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: envelope.signatures[0].sig.replace(/\+/g, '-').replace(/\//g, '_') + '!' }] })).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf(JSON.stringify({ ...envelope, extra: 1 }))).reason).toBe('SIGNATURE.MALFORMED');
    expect(check(bytesOf({ ...envelope, signatures: [] })).reason).toBe('SIGNATURE.MALFORMED');
    const notStatement = signRaw(IN_TOTO_PAYLOAD_TYPE, new TextEncoder().encode(canonicalJson({ _type: 'https://in-toto.io/Statement/v1', subject: [] })));
    expect(check(bytesOf(notStatement)).reason).toBe('SIGNATURE.MALFORMED');
  });

  it('verify - UNKNOWN_PAYLOAD_TYPE for a correctly signed envelope of another type', () => {
    const payload = new TextEncoder().encode(canonicalJson(statement()));
    const result = check(bytesOf(signRaw('application/json', payload)));
    expect(result.reason).toBe('SIGNATURE.UNKNOWN_PAYLOAD_TYPE');
    // The type is under the signature: relabelling a signed in-toto envelope breaks it instead.
    const relabelled = { ...signEnvelope(statement(), alice.privateKeyPem), payloadType: 'application/json' };
    expect(check(bytesOf(relabelled)).reason).toBe('SIGNATURE.INVALID');
  });

  it('verify - INVALID when the payload was altered after signing', () => {
    const envelope = signEnvelope(statement(), alice.privateKeyPem);
    const altered = { ...envelope, payload: encodeBase64(new TextEncoder().encode(canonicalJson(statement({ publisher: 'acme', expiresAt: '2099-01-01T00:00:00Z' })))) };
    expect(check(bytesOf(altered))).toMatchObject({ ok: false, reason: 'SIGNATURE.INVALID', keyIds: [], presentedKeyIds: [alice.keyId] });
    expect(check(bytesOf(altered)).statement).toBeUndefined();
  });

  it('verify - UNTRUSTED_KEY when no signature is by a key of the store, even if it verifies', () => {
    const result = check(bytesOf(signEnvelope(statement(), mallory.privateKeyPem)));
    expect(result).toMatchObject({ reason: 'SIGNATURE.UNTRUSTED_KEY', presentedKeyIds: [mallory.keyId] });
    // Claiming a trusted key id does not help a signature by another key.
    const claimed = signEnvelope(statement(), mallory.privateKeyPem);
    expect(check(bytesOf({ ...claimed, signatures: [{ ...claimed.signatures[0], keyid: alice.keyId }] })).reason).toBe('SIGNATURE.INVALID');
  });

  it('verify - a store entry whose key id is not its key\'s real id is not trusted', () => {
    const store = trustStoreOf([trusted(alice, { keyId: mallory.keyId, publicKeyPem: alice.publicKeyPem })]);
    const envelope = signEnvelope(statement(), alice.privateKeyPem);
    const result = check(bytesOf({ ...envelope, signatures: [{ ...envelope.signatures[0], keyid: mallory.keyId }] }), { trustStore: store });
    expect(result.reason).toBe('SIGNATURE.UNTRUSTED_KEY');
  });

  it('verify - WASM_DIGEST_MISMATCH when the module changed', () => {
    const result = check(bytesOf(signEnvelope(statement(), alice.privateKeyPem)), { wasmDigest: sha256Digest(new Uint8Array([...wasm, 0])) });
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE.WASM_DIGEST_MISMATCH', keyIds: [alice.keyId] });
    expect(check(bytesOf(signEnvelope(statement(), alice.privateKeyPem)), { wasmDigest: 'not a digest' }).reason).toBe('SIGNATURE.WASM_DIGEST_MISMATCH');
  });

  it('verify - MANIFEST_DIGEST_MISMATCH when the manifest changed', () => {
    const changed = pluginManifestDigest({ ...manifest, capabilities: { log: true, http: { allow: ['evil.example'] } } });
    expect(check(bytesOf(signEnvelope(statement(), alice.privateKeyPem)), { manifestDigest: changed }).reason).toBe('SIGNATURE.MANIFEST_DIGEST_MISMATCH');
  });

  it('verify - PREDICATE_MISMATCH when the statement names another plugin or version', () => {
    const bytes = bytesOf(signEnvelope(statement(), alice.privateKeyPem));
    expect(check(bytes, { manifest: { name: 'acme/hello', version: '1.2.1' } }).reason).toBe('SIGNATURE.PREDICATE_MISMATCH');
    expect(check(bytes, { manifest: { name: 'acme/other', version: '1.2.0' } }).reason).toBe('SIGNATURE.PREDICATE_MISMATCH');
  });

  it('verify - STATEMENT_EXPIRED once the statement expiry has passed', () => {
    const bytes = bytesOf(signEnvelope(statement({ expiresAt: '2026-03-01T12:00:00Z' }), alice.privateKeyPem));
    expect(check(bytes, { now: new Date('2026-03-01T11:59:59Z') }).ok).toBe(true);
    expect(check(bytes, { now: new Date('2026-03-01T12:00:00Z') }).reason).toBe('SIGNATURE.STATEMENT_EXPIRED');
  });

  it('verify - OUT_OF_SCOPE for a name outside the key scope or another publisher', () => {
    const bytes = bytesOf(signEnvelope(statement(), alice.privateKeyPem));
    expect(check(bytes, { trustStore: trustStoreOf([trusted(alice, { scope: 'acme/pii-*' })]) }).reason).toBe('SIGNATURE.OUT_OF_SCOPE');
    expect(check(bytes, { trustStore: trustStoreOf([trusted(alice, { scope: 'acme/hel*' })]) }).ok).toBe(true);
    expect(check(bytes, { trustStore: trustStoreOf([trusted(alice, { publisher: 'globex', scope: '*/*' })]) }).reason).toBe('SIGNATURE.OUT_OF_SCOPE');
  });

  it('verify - KEY_EXPIRED when the signing time is outside the key validity window', () => {
    const bytes = bytesOf(signEnvelope(statement(), alice.privateKeyPem));
    const windowed = trustStoreOf([trusted(alice, { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-02-28T00:00:00Z' })]);
    expect(check(bytes, { trustStore: windowed }).reason).toBe('SIGNATURE.KEY_EXPIRED');
    expect(check(bytes, { trustStore: windowed, signedAt: '2026-02-15T00:00:00Z' }).ok).toBe(true);
    expect(check(bytes, { trustStore: windowed, signedAt: '2026-01-15T00:00:00Z' }).reason).toBe('SIGNATURE.KEY_EXPIRED');
  });

  it('verify - KEY_REVOKED for a signature recorded at or after revocation; one recorded before stays valid', () => {
    const bytes = bytesOf(signEnvelope(statement(), alice.privateKeyPem));
    const store = trustStoreOf([trusted(alice), revoked(alice, '2026-03-01T00:00:00Z')]);
    expect(check(bytes, { trustStore: store, signedAt: '2026-02-28T23:59:59Z' }).ok).toBe(true);
    expect(check(bytes, { trustStore: store, signedAt: '2026-03-01T00:00:00Z' }).reason).toBe('SIGNATURE.KEY_REVOKED');
  });

  it('verify - THRESHOLD_NOT_MET counts distinct keys: the same key twice counts once', () => {
    const once = signEnvelope(statement(), alice.privateKeyPem);
    const twice = { ...once, signatures: [once.signatures[0], once.signatures[0]] };
    const result = check(bytesOf(twice), { threshold: 2 });
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE.THRESHOLD_NOT_MET', keyIds: [alice.keyId] });
    const both = addSignature(once, bob.privateKeyPem);
    expect(check(bytesOf(both), { threshold: 2 })).toMatchObject({ ok: true, keyIds: [alice.keyId, bob.keyId] });
    expect(check(bytesOf(both), { threshold: 3 }).reason).toBe('SIGNATURE.THRESHOLD_NOT_MET');
    expect(check(bytesOf(both), { threshold: 0 }).reason).toBe('SIGNATURE.THRESHOLD_NOT_MET');
  });

  it('verify - a threshold of two with one revoked key names the revocation', () => {
    const both = addSignature(signEnvelope(statement(), alice.privateKeyPem), bob.privateKeyPem);
    const store = trustStoreOf([trusted(alice), trusted(bob), revoked(bob, T0)]);
    expect(check(bytesOf(both), { trustStore: store, threshold: 2 }).reason).toBe('SIGNATURE.KEY_REVOKED');
    expect(check(bytesOf(both), { trustStore: store, threshold: 1 })).toMatchObject({ ok: true, keyIds: [alice.keyId] });
  });

  it('verify - an untrusted signature next to a trusted one is ignored', () => {
    const both = addSignature(signEnvelope(statement(), mallory.privateKeyPem), alice.privateKeyPem);
    expect(check(bytesOf(both))).toMatchObject({ ok: true, keyIds: [alice.keyId], presentedKeyIds: [mallory.keyId, alice.keyId] });
  });

  it('structure - checks sizes, JSON, schema and base64 as verify does, without a trust store or parsing the payload', () => {
    const envelope = signEnvelope(statement(), mallory.privateKeyPem);
    expect(checkEnvelopeStructure(bytesOf(envelope))).toEqual({ ok: true, envelopeDigest: sha256Digest(bytesOf(envelope)) });
    // A well-formed envelope of another type or over a non-statement is for verification to judge.
    expect(checkEnvelopeStructure(bytesOf(signRaw('text/plain', new TextEncoder().encode('hi'))))).toMatchObject({ ok: true });
    expect(checkEnvelopeStructure(null)).toMatchObject({ ok: false, reason: 'SIGNATURE.MISSING' });
    expect(checkEnvelopeStructure(new Uint8Array(64 * 1024 + 1))).toMatchObject({ ok: false, reason: 'SIGNATURE.TOO_LARGE' });
    const many = { ...envelope, signatures: Array.from({ length: 17 }, () => envelope.signatures[0]) };
    expect(checkEnvelopeStructure(bytesOf(many))).toMatchObject({ ok: false, reason: 'SIGNATURE.TOO_LARGE' });
    expect(checkEnvelopeStructure(bytesOf('{"payloadType": '))).toMatchObject({ ok: false, reason: 'SIGNATURE.MALFORMED' });
    expect(checkEnvelopeStructure(bytesOf({ ...envelope, payload: `${envelope.payload}=` }))).toMatchObject({ ok: false, reason: 'SIGNATURE.MALFORMED' });
  });

  it('verify - every reason code is reachable from these specs', () => {
    // Keeps this file honest when a reason is added to the contract.
    expect(SIGNATURE_REASONS).toHaveLength(14);
  });
});
