import { sha256Digest } from './dsse.js';
import { keyIdOf, parsePublicKey } from './keys.js';
import { pluginManifestDigest } from './plugin-statement.js';
import type { TrustedKey, TrustStore } from './trust-store.js';
import { verifyPluginEnvelope, type VerificationResult } from './verify-plugin-envelope.js';

export interface VerifyPluginOfflineInput {
  /** plugin.sig.json as read from the folder (undefined or empty: unsigned). */
  readonly envelope: Uint8Array | undefined;
  readonly wasm: Uint8Array;
  /** The manifest as written; its digest is taken over canonical JSON, as at publish. */
  readonly manifest: Record<string, unknown>;
  /** Public key PEMs the verifier trusts. */
  readonly publicKeysPem: readonly string[];
  /** The publisher the keys are trusted for (default: the part of the plugin name before "/"). */
  readonly publisher?: string;
  /** Distinct trusted keys required (default 1). */
  readonly threshold?: number;
  readonly now: Date;
}

/**
 * Verifies a plugin folder's signature on one machine exactly as the platform does at install
 * ({@link verifyPluginEnvelope}), against a trust store made of the given keys: each trusted for
 * the publisher and scope `<publisher>/*`, valid from the epoch, never revoked; signed "now".
 *
 * @throws {ForgeOneError} `KEY.INVALID` when a key is not an Ed25519 public key PEM, and
 *   `REGISTRY.MANIFEST_INVALID` when the manifest does not validate.
 */
export function verifyPluginOffline(input: VerifyPluginOfflineInput): VerificationResult {
  const publisher = input.publisher ?? String(input.manifest['name']).split('/')[0];
  const keys = new Map<string, TrustedKey>();
  for (const pem of input.publicKeysPem) {
    const keyId = keyIdOf(parsePublicKey(pem));
    keys.set(keyId, {
      keyId,
      publicKeyPem: pem,
      publisher,
      scope: `${publisher}/*`,
      validFrom: '1970-01-01T00:00:00.000Z',
      validUntil: null,
      trustedBy: 'local',
      trustedAt: null,
      revokedAt: null,
      revokedReason: null,
      revokedBy: null,
    });
  }
  const trustStore: TrustStore = { keys };
  return verifyPluginEnvelope({
    envelope: input.envelope,
    wasmDigest: sha256Digest(input.wasm),
    manifestDigest: pluginManifestDigest(input.manifest),
    manifest: { name: String(input.manifest['name']), version: String(input.manifest['version']) },
    trustStore,
    signedAt: input.now,
    ...(input.threshold !== undefined ? { threshold: input.threshold } : {}),
    now: input.now,
  });
}
