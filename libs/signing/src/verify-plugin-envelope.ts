import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  DsseEnvelopeSchema,
  describeIssues,
  IN_TOTO_PAYLOAD_TYPE,
  PluginStatementSchema,
  SIGNATURE_LIMITS,
  type DsseEnvelope,
  type PluginStatement,
  type SignatureReason,
} from '@forgeone/contracts';
import { base64DecodedLength, decodeStrictBase64, hexOfDigest, pae, sha256Hex } from './dsse.js';
import { scopeMatches, type TrustedKey, type TrustStore } from './trust-store.js';

export interface VerifyPluginEnvelopeInput {
  /** plugin.sig.json as bytes; undefined, null or empty means the plugin is unsigned. */
  readonly envelope: Uint8Array | null | undefined;
  /** Digest of the module bytes (`sha256:<hex>` or hex), computed by the caller from the bytes it will run. */
  readonly wasmDigest: string;
  /** The manifest digest as the registry records it (see `pluginManifestDigest`). */
  readonly manifestDigest: string;
  readonly manifest: { readonly name: string; readonly version: string };
  /** The tenant's trust store (see `loadTrustStore`). */
  readonly trustStore: TrustStore;
  /** When the platform recorded the signature (publish time): judged against key validity and revocation. */
  readonly signedAt: Date | string;
  /** Distinct trusted keys required (default 1). */
  readonly threshold?: number;
  /** The current time, for the statement's own expiry. */
  readonly now: Date;
}

/** Outcome of {@link verifyPluginEnvelope}. */
export type VerificationResult = VerificationAccepted | VerificationRefused;

interface VerificationFacts {
  /** Distinct keys whose signature verified and that passed every key check (on failure: whose signature verified). */
  readonly keyIds: readonly string[];
  /** Key ids the envelope's signatures name, distinct, in order. */
  readonly presentedKeyIds: readonly string[];
  /** `sha256:<hex>` of the envelope bytes; null when there were none or too many. */
  readonly envelopeDigest: string | null;
  readonly message: string;
}

export interface VerificationAccepted extends VerificationFacts {
  readonly ok: true;
  readonly reason: null;
  readonly statement: PluginStatement;
}

export interface VerificationRefused extends VerificationFacts {
  readonly ok: false;
  /** The most specific reason; also the error code to answer with. */
  readonly reason: SignatureReason;
  /** Present once the payload was authenticated and parsed. */
  readonly statement?: PluginStatement;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies a plugin's signature envelope against the module and manifest digests and a trust store.
 * It never throws on bad input and never does I/O: every failure is a result naming its reason.
 *
 * Order: size limits, envelope JSON and schema (strict base64), Ed25519 signatures over PAE by keys
 * the store holds (counting distinct public keys), payload type, statement, subjects against both
 * digests, predicate against the manifest, statement expiry, key checks (scope, publisher, validity
 * window and revocation at `signedAt`), threshold. Nothing in the payload is parsed before a
 * signature by a trusted key has verified.
 */
export function verifyPluginEnvelope(input: VerifyPluginEnvelopeInput): VerificationResult {
  try {
    return verifyUnchecked(input);
  } catch (error) {
    // Defensive: a failure nobody foresaw still fails closed.
    return refused('SIGNATURE.MALFORMED', `verification failed: ${(error as Error).message}`, { envelopeDigest: null });
  }
}

/** An envelope that passed the structural checks: sizes, UTF-8 JSON, DSSE schema, strict base64. */
interface ReadEnvelope {
  readonly ok: true;
  readonly envelope: DsseEnvelope;
  readonly payload: Uint8Array;
  readonly sigs: readonly Uint8Array[];
  readonly envelopeDigest: string;
  readonly presentedKeyIds: readonly string[];
}

/**
 * The structural checks of {@link verifyPluginEnvelope}, in its order and with its reasons, without a
 * trust store: size limits (SIGNATURE.TOO_LARGE), UTF-8 JSON, DSSE schema and strict base64
 * (SIGNATURE.MALFORMED); an empty or absent envelope is SIGNATURE.MISSING. Nothing is verified
 * and the payload is not parsed. The registry refuses a publish whose envelope fails these.
 */
export function checkEnvelopeStructure(bytes: Uint8Array | null | undefined): { readonly ok: true; readonly envelopeDigest: string } | VerificationRefused {
  try {
    const read = readEnvelopeBytes(bytes);
    return read.ok ? { ok: true, envelopeDigest: read.envelopeDigest } : read;
  } catch (error) {
    return refused('SIGNATURE.MALFORMED', `the signature envelope could not be read: ${(error as Error).message}`, { envelopeDigest: null });
  }
}

function readEnvelopeBytes(bytes: Uint8Array | null | undefined): ReadEnvelope | VerificationRefused {
  if (!bytes || bytes.byteLength === 0) return refused('SIGNATURE.MISSING', 'the plugin is not signed (no plugin.sig.json); sign it with forgeone plugin sign', { envelopeDigest: null });
  if (bytes.byteLength > SIGNATURE_LIMITS.envelopeBytes) {
    return refused('SIGNATURE.TOO_LARGE', `the signature envelope is ${bytes.byteLength} bytes; at most ${SIGNATURE_LIMITS.envelopeBytes} are accepted`, { envelopeDigest: null });
  }
  const envelopeDigest = `sha256:${sha256Hex(bytes)}`;
  const facts = { envelopeDigest };

  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    return refused('SIGNATURE.MALFORMED', `the signature envelope is not UTF-8 JSON: ${(error as Error).message}`, facts);
  }
  const shape = raw as { signatures?: unknown; payload?: unknown };
  if (typeof raw === 'object' && raw !== null && Array.isArray(shape.signatures) && shape.signatures.length > SIGNATURE_LIMITS.signatures) {
    return refused('SIGNATURE.TOO_LARGE', `the envelope holds ${shape.signatures.length} signatures; at most ${SIGNATURE_LIMITS.signatures} are accepted`, facts);
  }
  if (typeof raw === 'object' && raw !== null && typeof shape.payload === 'string' && base64DecodedLength(shape.payload) > SIGNATURE_LIMITS.payloadBytes) {
    return refused('SIGNATURE.TOO_LARGE', `the envelope payload is larger than ${SIGNATURE_LIMITS.payloadBytes} bytes`, facts);
  }
  const parsed = DsseEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    return refused('SIGNATURE.MALFORMED', `the signature envelope is invalid: ${describeIssues(parsed.error.issues).join('; ')}`, facts);
  }
  const envelope = parsed.data;
  const presentedKeyIds = [...new Set(envelope.signatures.map((s) => s.keyid))];
  const payload = decodeStrictBase64(envelope.payload);
  const sigs = envelope.signatures.map((s) => decodeStrictBase64(s.sig));
  if (!payload || sigs.some((s) => s === undefined)) {
    return refused('SIGNATURE.MALFORMED', 'the envelope payload or a signature is not standard base64', { ...facts, presentedKeyIds });
  }
  return { ok: true, envelope, payload, sigs: sigs as Uint8Array[], envelopeDigest, presentedKeyIds };
}

function verifyUnchecked(input: VerifyPluginEnvelopeInput): VerificationResult {
  const read = readEnvelopeBytes(input.envelope);
  if (!read.ok) return read;
  const { envelope, payload, sigs, envelopeDigest, presentedKeyIds } = read;
  const withKeys = { envelopeDigest, presentedKeyIds };

  // Verify before parsing: only bytes a trusted key signed are ever interpreted.
  const message = pae(envelope.payloadType, payload);
  const verified = new Map<string, TrustedKey>();
  let trustedSignatures = 0;
  envelope.signatures.forEach((signature, i) => {
    const trusted = input.trustStore.keys.get(signature.keyid);
    if (!trusted) return;
    const key = publicKeyFor(trusted);
    // The stored id must be the key's real id, or the store could be made to vouch under a false name.
    if (!key || key.keyId !== trusted.keyId) return;
    trustedSignatures++;
    if (verified.has(key.keyId)) return;
    if (verify(null, message, key.key, sigs[i]!)) verified.set(key.keyId, trusted);
  });
  const verifiedIds = [...verified.keys()];
  const afterVerify = { ...withKeys, keyIds: verifiedIds };
  if (verified.size === 0) {
    return trustedSignatures === 0
      ? refused('SIGNATURE.UNTRUSTED_KEY', `no signature is by a key this tenant trusts (key ids ${presentedKeyIds.join(', ')}); trust the publisher's key with forgeone keys trust`, afterVerify)
      : refused('SIGNATURE.INVALID', 'no signature verifies: the envelope was altered or signed over other bytes', afterVerify);
  }

  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return refused('SIGNATURE.UNKNOWN_PAYLOAD_TYPE', `payload type "${envelope.payloadType.slice(0, 256)}" is not ${IN_TOTO_PAYLOAD_TYPE}`, afterVerify);
  }
  let statementRaw: unknown;
  try {
    statementRaw = JSON.parse(decoder.decode(payload));
  } catch (error) {
    return refused('SIGNATURE.MALFORMED', `the signed payload is not UTF-8 JSON: ${(error as Error).message}`, afterVerify);
  }
  const statementParsed = PluginStatementSchema.safeParse(statementRaw);
  if (!statementParsed.success) {
    return refused('SIGNATURE.MALFORMED', `the signed statement is invalid: ${describeIssues(statementParsed.error.issues).join('; ')}`, afterVerify);
  }
  const statement = statementParsed.data;
  const withStatement = { ...afterVerify, statement };

  const [wasmSubject, manifestSubject] = statement.subject;
  const wasmHex = hexOfDigest(input.wasmDigest);
  if (!wasmHex || wasmSubject.digest.sha256 !== wasmHex) {
    return refused('SIGNATURE.WASM_DIGEST_MISMATCH', `the signature is for module sha256:${wasmSubject.digest.sha256}, not for ${input.wasmDigest}: the module changed after signing`, withStatement);
  }
  const manifestHex = hexOfDigest(input.manifestDigest);
  if (!manifestHex || manifestSubject.digest.sha256 !== manifestHex) {
    return refused('SIGNATURE.MANIFEST_DIGEST_MISMATCH', `the signature is for manifest sha256:${manifestSubject.digest.sha256}, not for ${input.manifestDigest}: the manifest changed after signing`, withStatement);
  }
  const { predicate } = statement;
  if (predicate.name !== input.manifest.name || predicate.version !== input.manifest.version) {
    return refused('SIGNATURE.PREDICATE_MISMATCH', `the statement is about ${predicate.name}@${predicate.version}, not ${input.manifest.name}@${input.manifest.version}`, withStatement);
  }
  if (predicate.expiresAt !== undefined && !(Date.parse(predicate.expiresAt) > input.now.getTime())) {
    return refused('SIGNATURE.STATEMENT_EXPIRED', `the statement expired at ${predicate.expiresAt}; sign the plugin again`, withStatement);
  }

  const threshold = input.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > SIGNATURE_LIMITS.signatures) {
    return refused('SIGNATURE.THRESHOLD_NOT_MET', `threshold ${String(threshold)} is not a whole number from 1 to ${SIGNATURE_LIMITS.signatures}`, withStatement);
  }
  const signedAt = typeof input.signedAt === 'string' ? Date.parse(input.signedAt) : input.signedAt.getTime();
  const accepted: string[] = [];
  const failures: { reason: SignatureReason; message: string }[] = [];
  for (const key of verified.values()) {
    const failure = keyFailure(key, predicate.name, predicate.publisher, signedAt);
    if (failure) failures.push(failure);
    else accepted.push(key.keyId);
  }
  if (accepted.length >= threshold) {
    return { ok: true, reason: null, keyIds: accepted, presentedKeyIds, envelopeDigest, statement, message: `signed by ${accepted.length} trusted key(s): ${accepted.join(', ')}` };
  }
  // A key that failed its checks is the more useful answer than the count it left short.
  const worst = failures.sort((a, b) => KEY_FAILURE_ORDER.indexOf(a.reason) - KEY_FAILURE_ORDER.indexOf(b.reason))[0];
  if (worst) return refused(worst.reason, `${worst.message}${threshold > 1 ? ` (${accepted.length} of ${threshold} required keys remain)` : ''}`, { ...withStatement, keyIds: verifiedIds });
  return refused('SIGNATURE.THRESHOLD_NOT_MET', `${accepted.length} distinct trusted key(s) signed; ${threshold} are required`, { ...withStatement, keyIds: accepted });
}

const KEY_FAILURE_ORDER: readonly SignatureReason[] = ['SIGNATURE.KEY_REVOKED', 'SIGNATURE.KEY_EXPIRED', 'SIGNATURE.OUT_OF_SCOPE'];

function keyFailure(key: TrustedKey, name: string, publisher: string, signedAt: number): { reason: SignatureReason; message: string } | undefined {
  if (!Number.isFinite(signedAt)) return { reason: 'SIGNATURE.KEY_EXPIRED', message: 'the signing time is not a valid time' };
  if (key.revokedAt !== null && !(signedAt < Date.parse(key.revokedAt))) {
    return { reason: 'SIGNATURE.KEY_REVOKED', message: `key ${key.keyId} was revoked at ${key.revokedAt} (${key.revokedReason ?? 'no reason'}), before this signature was recorded at ${new Date(signedAt).toISOString()}` };
  }
  if (signedAt < Date.parse(key.validFrom) || (key.validUntil !== null && signedAt > Date.parse(key.validUntil))) {
    return { reason: 'SIGNATURE.KEY_EXPIRED', message: `key ${key.keyId} is valid from ${key.validFrom} until ${key.validUntil ?? 'revoked'}; the signature was recorded at ${new Date(signedAt).toISOString()}` };
  }
  if (!scopeMatches(key.scope, name)) return { reason: 'SIGNATURE.OUT_OF_SCOPE', message: `key ${key.keyId} may sign ${key.scope}, not ${name}` };
  if (key.publisher !== publisher) return { reason: 'SIGNATURE.OUT_OF_SCOPE', message: `key ${key.keyId} belongs to publisher ${key.publisher}, but the statement names publisher ${publisher}` };
  return undefined;
}

function refused(
  reason: SignatureReason,
  message: string,
  facts: { envelopeDigest: string | null; keyIds?: readonly string[]; presentedKeyIds?: readonly string[]; statement?: PluginStatement },
): VerificationRefused {
  return { ok: false, reason, message, keyIds: facts.keyIds ?? [], presentedKeyIds: facts.presentedKeyIds ?? [], envelopeDigest: facts.envelopeDigest, ...(facts.statement ? { statement: facts.statement } : {}) };
}

// Parsing a PEM costs more than verifying a signature: keep parsed keys, by their exact PEM text.
const KEY_CACHE_LIMIT = 1024;
const keyCache = new Map<string, { key: KeyObject; keyId: string } | null>();

function publicKeyFor(trusted: TrustedKey): { key: KeyObject; keyId: string } | null {
  const cached = keyCache.get(trusted.publicKeyPem);
  if (cached !== undefined) return cached;
  let entry: { key: KeyObject; keyId: string } | null = null;
  try {
    const key = createPublicKey({ key: trusted.publicKeyPem, format: 'pem' });
    if (key.asymmetricKeyType === 'ed25519') entry = { key, keyId: sha256Hex(key.export({ type: 'spki', format: 'der' })) };
  } catch {
    entry = null;
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(trusted.publicKeyPem, entry);
  return entry;
}
