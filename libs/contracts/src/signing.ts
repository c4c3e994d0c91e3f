import { z } from 'zod';
import { EnvironmentSchema, CapabilitiesSchema, PluginNameSchema, SemverSchema } from './manifest.js';
import { DigestSchema } from './plugin.events.js';

/**
 * Plugin signatures (docs/signing.md): a DSSE envelope whose payload is an in-toto Statement v1 about
 * the exact module bytes and the manifest. docs/signing.md describes the format byte for byte.
 */

/** DSSE payload type of an in-toto statement; the only one ForgeOne accepts. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PLUGIN_PREDICATE_TYPE = 'https://forgeone.dev/plugin/v1';
/** Subject names of a plugin statement: the module and the manifest. */
export const WASM_SUBJECT = 'plugin.wasm';
export const MANIFEST_SUBJECT = 'forgeone.plugin.json';
/** The file `forgeone plugin sign` writes next to the plugin. */
export const SIGNATURE_FILE = 'plugin.sig.json';

/** Limits checked before anything is parsed or verified. */
export const SIGNATURE_LIMITS = {
  envelopeBytes: 64 * 1024,
  payloadBytes: 16 * 1024,
  signatures: 16,
} as const;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Standard base64 with padding; no white space, no URL-safe alphabet. */
export const StrictBase64Schema = z.string().regex(STRICT_BASE64, 'must be standard base64 with padding');

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256)');
/** A key id: lowercase hex sha256 of the public key's SPKI DER encoding. */
export const KeyIdSchema = Sha256HexSchema;

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse, v1). Unknown fields are refused. */
export const DsseEnvelopeSchema = z
  .object({
    payloadType: z.string().min(1).max(256),
    payload: StrictBase64Schema,
    signatures: z
      .array(z.object({ keyid: z.string().max(128), sig: StrictBase64Schema.min(1) }).strict())
      .min(1)
      .max(SIGNATURE_LIMITS.signatures),
  })
  .strict();
export type DsseEnvelope = z.infer<typeof DsseEnvelopeSchema>;

/** The predicate of a plugin statement: what the signer vouches for besides the bytes. */
export const PluginPredicateSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    capabilities: CapabilitiesSchema,
    publisher: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a publisher: lowercase letters, digits and "-"'),
    /** After this time the statement no longer verifies (STATEMENT_EXPIRED). */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type PluginPredicate = z.infer<typeof PluginPredicateSchema>;

const SubjectSchema = <N extends string>(name: N) => z.object({ name: z.literal(name), digest: z.object({ sha256: Sha256HexSchema }).strict() }).strict();

/** An in-toto Statement v1 about one plugin version: exactly the module and the manifest, in that order. */
export const PluginStatementSchema = z
  .object({
    _type: z.literal(IN_TOTO_STATEMENT_TYPE),
    subject: z.tuple([SubjectSchema(WASM_SUBJECT), SubjectSchema(MANIFEST_SUBJECT)]),
    predicateType: z.literal(PLUGIN_PREDICATE_TYPE),
    predicate: PluginPredicateSchema,
  })
  .strict();
export type PluginStatement = z.infer<typeof PluginStatementSchema>;

/** Where in the lifecycle a signature was verified. */
export const SignatureStageSchema = z.enum(['publish', 'install', 'upgrade', 'rollback', 'promote', 'runner']);
export type SignatureStage = z.infer<typeof SignatureStageSchema>;
/** strict: a failure refuses the operation; audit: it is accepted and flagged. */
export const SignatureModeSchema = z.enum(['strict', 'audit']);
export type SignatureMode = z.infer<typeof SignatureModeSchema>;

/** Why a signature did not verify; each is also an error code of the same name. */
export const SIGNATURE_REASONS = [
  'SIGNATURE.MISSING',
  'SIGNATURE.MALFORMED',
  'SIGNATURE.TOO_LARGE',
  'SIGNATURE.UNKNOWN_PAYLOAD_TYPE',
  'SIGNATURE.INVALID',
  'SIGNATURE.UNTRUSTED_KEY',
  'SIGNATURE.KEY_REVOKED',
  'SIGNATURE.KEY_EXPIRED',
  'SIGNATURE.OUT_OF_SCOPE',
  'SIGNATURE.WASM_DIGEST_MISMATCH',
  'SIGNATURE.MANIFEST_DIGEST_MISMATCH',
  'SIGNATURE.PREDICATE_MISMATCH',
  'SIGNATURE.STATEMENT_EXPIRED',
  'SIGNATURE.THRESHOLD_NOT_MET',
] as const;
export const SignatureReasonSchema = z.enum(SIGNATURE_REASONS);
export type SignatureReason = z.infer<typeof SignatureReasonSchema>;

/**
 * Which plugin names a key may sign: `<publisher>/<plugin>` where `*` in a segment matches any run of
 * letters, digits and "-" (never "/"), e.g. `acme/*`, `acme/pii-*` or `*\/*`.
 */
export const KeyScopeSchema = z
  .string()
  .regex(/^[a-z0-9*][a-z0-9*-]{0,62}\/[a-z0-9*][a-z0-9*-]{0,62}$/, 'must be a plugin name glob such as acme/* or acme/pii-* ("*" matches within one segment)');

const PublicKeyPemSchema = z
  .string()
  .max(4096)
  .regex(/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/, 'must be a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI)');
const Time = z.iso.datetime({ offset: true });
const Actor = z.string().min(1).max(256);

export const KEY_EVENT_TYPES = {
  trusted: 'io.forgeone.key.trusted.v1',
  revoked: 'io.forgeone.key.revoked.v1',
} as const;

export const SIGNATURE_EVENT_TYPES = {
  verified: 'io.forgeone.signature.verified.v1',
  rejected: 'io.forgeone.signature.rejected.v1',
} as const;

/**
 * The sandbox-runner's own verification results (stage `runner`), kept apart from the registry's so
 * that every event type and every event subject has exactly one writer.
 */
export const RUNNER_SIGNATURE_EVENT_TYPES = {
  verified: 'io.forgeone.signature.runner_verified.v1',
  rejected: 'io.forgeone.signature.runner_rejected.v1',
} as const;

/**
 * Key events live on aggregate `key`, one per key of a tenant (`<tenant>:<keyId>`): trust stores
 * are per tenant, like plugins, so one tenant's administrator cannot vouch for another's plugins.
 */
export const KEY_AGGREGATE = 'key';
/** Signature results live on aggregate `signature`, one per plugin of a tenant (`<tenant>:<name>`). */
export const SIGNATURE_AGGREGATE = 'signature';
/** The sandbox-runner's verification results, one aggregate per plugin of a tenant (`<tenant>:<name>`). */
export const RUNNER_SIGNATURE_AGGREGATE = 'runner-signature';

export const KeyTrustedSchema = z
  .object({
    keyId: KeyIdSchema,
    publicKeyPem: PublicKeyPemSchema,
    publisher: PluginPredicateSchema.shape.publisher,
    scope: KeyScopeSchema,
    validFrom: Time,
    validUntil: Time.nullable(),
    /** The principal that trusted the key. */
    trustedBy: Actor,
  })
  .strict();

export const KeyRevokedSchema = z
  .object({ keyId: KeyIdSchema, revokedAt: Time, reason: z.string().min(1).max(1024), revokedBy: Actor })
  .strict();

/** One verification result (verified and rejected share it; `flagged` marks an audit-mode acceptance). */
export const SignatureResultSchema = z
  .object({
    name: PluginNameSchema,
    version: SemverSchema,
    environment: EnvironmentSchema.nullable(),
    stage: SignatureStageSchema,
    mode: SignatureModeSchema,
    keyIds: z.array(z.string().max(128)).max(SIGNATURE_LIMITS.signatures),
    envelopeDigest: DigestSchema.nullable(),
    pluginDigest: DigestSchema,
    manifestDigest: DigestSchema,
    reason: SignatureReasonSchema.nullable(),
    flagged: z.boolean(),
    message: z.string().max(2048),
  })
  .strict();

export type KeyTrusted = { readonly type: typeof KEY_EVENT_TYPES.trusted; readonly data: z.infer<typeof KeyTrustedSchema> };
export type KeyRevoked = { readonly type: typeof KEY_EVENT_TYPES.revoked; readonly data: z.infer<typeof KeyRevokedSchema> };
/** Every event of the key aggregate, as a discriminated union on `type`. */
export type KeyEvent = KeyTrusted | KeyRevoked;
export type SignatureVerified = { readonly type: typeof SIGNATURE_EVENT_TYPES.verified; readonly data: z.infer<typeof SignatureResultSchema> };
export type SignatureRejected = { readonly type: typeof SIGNATURE_EVENT_TYPES.rejected; readonly data: z.infer<typeof SignatureResultSchema> };
export type RunnerSignatureVerified = { readonly type: typeof RUNNER_SIGNATURE_EVENT_TYPES.verified; readonly data: z.infer<typeof SignatureResultSchema> };
export type RunnerSignatureRejected = { readonly type: typeof RUNNER_SIGNATURE_EVENT_TYPES.rejected; readonly data: z.infer<typeof SignatureResultSchema> };
/** A verification result: the registry's (aggregate `signature`) or the sandbox-runner's (aggregate `runner-signature`). */
export type SignatureEvent = SignatureVerified | SignatureRejected | RunnerSignatureVerified | RunnerSignatureRejected;

/** Verbs of `forgeone.cmd.signer.<verb>`. */
export const SIGNER_VERBS = { trustKey: 'trust_key', revokeKey: 'revoke_key', listKeys: 'list_keys', sign: 'sign' } as const;

/** Trust a public key for a publisher. Scope defaults to `<publisher>/*`, validFrom to now, validUntil to never. */
export const TrustKeyRequestSchema = z
  .object({
    publicKeyPem: PublicKeyPemSchema,
    publisher: PluginPredicateSchema.shape.publisher,
    scope: KeyScopeSchema.optional(),
    validFrom: Time.optional(),
    validUntil: Time.optional(),
  })
  .strict();

/** Revoke a key: signatures made (as the platform recorded) at or after `revokedAt` (default now) stop verifying. */
export const RevokeKeyRequestSchema = z
  .object({ keyId: KeyIdSchema, reason: z.string().trim().min(1).max(1024), revokedAt: Time.optional() })
  .strict();

export const ListKeysRequestSchema = z.object({}).strict();

/** Sign a statement with the platform's own key (the signer holds it; callers never see it). */
export const SignStatementRequestSchema = z.object({ statement: PluginStatementSchema }).strict();

/** A trusted key as the signer lists it. */
export const TrustedKeyInfoSchema = z.object({
  keyId: KeyIdSchema,
  publicKeyPem: z.string(),
  publisher: z.string(),
  scope: z.string(),
  validFrom: z.string(),
  validUntil: z.string().nullable(),
  trustedBy: z.string(),
  trustedAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedReason: z.string().nullable(),
  revokedBy: z.string().nullable(),
});
export const TrustKeyReplySchema = TrustedKeyInfoSchema.extend({ eventId: z.string(), sequence: z.number().int() });
export const RevokeKeyReplySchema = TrustKeyReplySchema;
export const ListKeysReplySchema = z.object({ keys: z.array(TrustedKeyInfoSchema) });
export const SignStatementReplySchema = z.object({ envelope: DsseEnvelopeSchema, keyId: KeyIdSchema });

export type TrustKeyRequest = z.infer<typeof TrustKeyRequestSchema>;
export type RevokeKeyRequest = z.infer<typeof RevokeKeyRequestSchema>;
export type TrustedKeyInfo = z.infer<typeof TrustedKeyInfoSchema>;
export type SignStatementRequest = z.infer<typeof SignStatementRequestSchema>;

/** How one environment treats signatures: `strict` refuses anything not valid, `audit` accepts and flags it. */
export const EnvironmentSignaturePolicySchema = z
  .object({ mode: SignatureModeSchema, threshold: z.number().int().min(1).max(16).default(1) })
  .strict();
export type EnvironmentSignaturePolicy = z.infer<typeof EnvironmentSignaturePolicySchema>;

/** Per environment; environments not listed are strict with a threshold of 1 (deny by default). */
export const SignaturePolicySchema = z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be an environment name'), EnvironmentSignaturePolicySchema);
export type SignaturePolicy = z.infer<typeof SignaturePolicySchema>;

/** docs/signing.md: production strict, staging audit; every other environment strict. */
export const DEFAULT_SIGNATURE_POLICY: SignaturePolicy = {
  production: { mode: 'strict', threshold: 1 },
  staging: { mode: 'audit', threshold: 1 },
};

/**
 * The policy from `FORGEONE_SIGNATURE_POLICY` (JSON, e.g. `{"production":{"mode":"strict","threshold":2}}`),
 * merged over the defaults. There is no mode that skips verification.
 *
 * @throws {Error} naming the field when the JSON or a value is wrong.
 */
export function parseSignaturePolicy(json: string | undefined): SignaturePolicy {
  if (json === undefined || json.trim() === '') return { ...DEFAULT_SIGNATURE_POLICY };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`FORGEONE_SIGNATURE_POLICY is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = SignaturePolicySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`FORGEONE_SIGNATURE_POLICY ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { ...DEFAULT_SIGNATURE_POLICY, ...parsed.data };
}

export function signaturePolicyFor(policy: SignaturePolicy, environment: string): EnvironmentSignaturePolicy {
  return Object.hasOwn(policy, environment) ? policy[environment] : { mode: 'strict', threshold: 1 };
}
