import { ENVELOPE_REASONS, ForgeOneError, SIGNATURE_AGGREGATE, type SignatureEvent } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { ArtifactStore } from '@forgeone/event-store';
import { pluginAggregateId, type CommandMetadata, type SignatureCheck, type SignatureOutcome, type SignatureVerifier } from '@forgeone/registry-domain';
import {
  checkEnvelopeStructure,
  loadTrustStore,
  signatureError,
  signatureResultEvent,
  verifyPluginEnvelope,
  type SignatureCheckContext,
  type VerificationResult,
} from '@forgeone/signing';
import { platformMetrics } from '@forgeone/telemetry';

/**
 * The registry's SignatureVerifier over `@forgeone/signing`: the envelope and the module come from
 * the artifact store (which re-hashes what it reads), the tenant's trust store from the event stream,
 * fresh on every call. Results are appended to aggregate `signature`, id `<tenant>:<name>` (unless the
 * caller runs a dry run): a record of verifications, not a decision, so it is appended without an
 * expected sequence.
 */
export class SignatureVerifierAdapter implements SignatureVerifier {
  constructor(
    private readonly events: EventStore,
    private readonly artifacts: ArtifactStore,
  ) {}

  checkEnvelope(envelope: Uint8Array): SignatureOutcome<EnvelopeReason> {
    const checked = checkEnvelopeStructure(envelope);
    if (checked.ok) return { ok: true, reason: null, message: 'the envelope is well-formed' };
    const { reason } = checked;
    // Publish declares only the envelope's own refusals; anything else is a fault here, not the caller's.
    if (!isEnvelopeReason(reason)) throw new Error(`checking an envelope's structure answered ${reason}, which is not a refusal of the envelope itself`);
    return { ok: false, reason, message: checked.message, details: signatureError(checked).details ?? {} };
  }

  async verify(check: SignatureCheck, metadata: CommandMetadata, options: { readonly record: boolean }): Promise<SignatureOutcome> {
    const context: SignatureCheckContext = {
      name: check.plugin.name,
      version: check.version,
      environment: check.environment,
      stage: check.stage,
      mode: check.mode,
      pluginDigest: check.digest,
      manifestDigest: check.manifestDigest,
    };
    let stored: { envelope: Uint8Array | null };
    try {
      // Reading the module re-hashes it against the published digest: that read is the integrity check.
      const [, envelope] = await Promise.all([
        this.artifacts.get(check.digest),
        check.signature ? this.artifacts.get(check.signature.envelopeDigest) : Promise.resolve(null),
      ]);
      stored = { envelope };
    } catch (error) {
      if (!(error instanceof ForgeOneError) || (error.code !== 'REGISTRY.ARTIFACT_CORRUPT' && error.code !== 'REGISTRY.ARTIFACT_MISSING')) throw error;
      // Bytes that are not what was published are refused in every mode: audit judges trust, not damage.
      const module = typeof error.details?.['digest'] !== 'string' || error.details['digest'] === check.digest;
      const result: VerificationResult = {
        ok: false,
        reason: module ? 'SIGNATURE.WASM_DIGEST_MISMATCH' : 'SIGNATURE.INVALID',
        message: `the stored ${module ? 'module' : 'signature envelope'} is not what was published: ${error.message}`,
        keyIds: [],
        presentedKeyIds: [],
        envelopeDigest: check.signature?.envelopeDigest ?? null,
      };
      platformMetrics().signature(check.stage, false, result.reason);
      const event = signatureResultEvent(result, context);
      if (options.record) await this.record({ ...event, data: { ...event.data, flagged: false } } as SignatureEvent, check, metadata);
      throw error;
    }
    const trustStore = await loadTrustStore(this.events, check.plugin.tenant);
    const result = verifyPluginEnvelope({
      envelope: stored.envelope,
      // ArtifactStore.get has just re-hashed the bytes it read against this digest (a changed module was refused above).
      wasmDigest: check.digest,
      manifestDigest: check.manifestDigest,
      manifest: { name: check.plugin.name, version: check.version },
      trustStore,
      signedAt: check.signature?.signedAt ?? metadata.now,
      threshold: check.threshold,
      now: metadata.now,
    });
    platformMetrics().signature(check.stage, result.ok, result.ok ? 'ok' : result.reason);
    if (options.record) await this.record(signatureResultEvent(result, context), check, metadata);
    return result.ok ? { ok: true, reason: null, message: result.message } : outcomeOf(result);
  }

  private async record(event: SignatureEvent, check: SignatureCheck, metadata: CommandMetadata): Promise<void> {
    await this.events.append(
      SIGNATURE_AGGREGATE,
      pluginAggregateId(check.plugin),
      [
        {
          id: metadata.newId(),
          type: event.type,
          data: event.data,
          time: metadata.now.toISOString(),
          actor: metadata.actor,
          tenant: metadata.tenant,
          subject: check.plugin.name,
        },
      ],
      { expectedSequence: 'any' },
    );
  }
}

type EnvelopeReason = (typeof ENVELOPE_REASONS)[number];

function isEnvelopeReason(reason: string): reason is EnvelopeReason {
  return (ENVELOPE_REASONS as readonly string[]).includes(reason);
}

function outcomeOf(result: VerificationResult & { ok: false }): SignatureOutcome {
  const error = signatureError(result);
  return { ok: false, reason: result.reason, message: result.message, details: error.details ?? {} };
}
