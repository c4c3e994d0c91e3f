import {
  ForgeOneError,
  RUNNER_SIGNATURE_AGGREGATE,
  RUNNER_SIGNATURE_EVENT_TYPES,
  SIGNATURE_AGGREGATE,
  SIGNATURE_EVENT_TYPES,
  type SignatureEvent,
  type SignatureMode,
  type SignatureStage,
} from '@forgeone/contracts';
import type { VerificationResult } from './verify-plugin-envelope.js';

/** Where and how a verification ran: what a signature result event records besides the result. */
export interface SignatureCheckContext {
  readonly name: string;
  readonly version: string;
  readonly environment: string | null;
  readonly stage: SignatureStage;
  readonly mode: SignatureMode;
  /** `sha256:<hex>` of the module and of the manifest, as verified. */
  readonly pluginDigest: string;
  readonly manifestDigest: string;
}

/**
 * The event that records a verification: `signature.verified` when it passed, else
 * `signature.rejected`, with `flagged: true` when audit mode accepts it anyway. Every result is
 * recorded (docs/signing.md): nothing skips verification silently. The sandbox-runner's own checks
 * (stage `runner`) are `signature.runner_verified` / `signature.runner_rejected`, on the
 * aggregate it owns ({@link signatureResultAggregate}).
 */
export function signatureResultEvent(result: VerificationResult, context: SignatureCheckContext): SignatureEvent {
  const data = {
    name: context.name,
    version: context.version,
    environment: context.environment,
    stage: context.stage,
    mode: context.mode,
    keyIds: [...(result.keyIds.length ? result.keyIds : result.presentedKeyIds)].map((id) => id.slice(0, 128)).slice(0, 16),
    envelopeDigest: result.envelopeDigest,
    pluginDigest: context.pluginDigest,
    manifestDigest: context.manifestDigest,
    reason: result.reason,
    flagged: !result.ok && context.mode === 'audit',
    message: result.message.slice(0, 2048),
  };
  const types = context.stage === 'runner' ? RUNNER_SIGNATURE_EVENT_TYPES : SIGNATURE_EVENT_TYPES;
  return result.ok ? { type: types.verified, data } : { type: types.rejected, data };
}

/** The aggregate a result of `stage` is recorded on: the runner's own, or the registry's. */
export function signatureResultAggregate(stage: SignatureStage): typeof SIGNATURE_AGGREGATE | typeof RUNNER_SIGNATURE_AGGREGATE {
  return stage === 'runner' ? RUNNER_SIGNATURE_AGGREGATE : SIGNATURE_AGGREGATE;
}

/** The error a strict refusal answers with: the reason is the code; details carry the key ids and envelope digest. */
export function signatureError(result: VerificationResult & { ok: false }): ForgeOneError {
  return new ForgeOneError(result.reason, result.message, {
    keyIds: [...result.keyIds],
    presentedKeyIds: [...result.presentedKeyIds],
    envelopeDigest: result.envelopeDigest,
  });
}
