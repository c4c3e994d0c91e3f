import { randomUUID } from 'node:crypto';
import { ForgeOneError, type SignatureMode, type StoredSignature } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-sourcing';
import { loadTrustStore, signatureError, signatureResultEvent, verifyPluginEnvelope, type AggregateEventReader, type VerificationRefused, type VerificationResult } from '@forgeone/signing';
import { platformMetrics, type Logger } from '@forgeone/telemetry';

/** What the runner knows about the version it is about to load. */
export interface ModuleToVerify {
  readonly tenant: string;
  readonly environment: string;
  readonly name: string;
  readonly version: string;
  /** `sha256:<hex>` recorded at publish. */
  readonly digest: string;
  readonly manifestDigest: string;
  readonly signature: StoredSignature | undefined;
}

export interface ModuleSignatureVerifierDeps {
  /** The environment's signature mode and threshold as its settings stand now (the `environment` aggregate, or its defaults). */
  readonly settings: (tenant: string, environment: string) => Promise<{ readonly mode: SignatureMode; readonly threshold: number }>;
  /** Artifact bytes by digest, checked against it (ArtifactStore.get: REGISTRY.ARTIFACT_CORRUPT when they differ). */
  readonly artifact: (digest: string) => Promise<Uint8Array>;
  readonly keyEvents: AggregateEventReader;
  /** Appends signature results of one plugin (aggregate `runner-signature`, id `<tenant>:<name>`). */
  readonly record: (tenant: string, name: string, events: readonly NewEvent[]) => Promise<void>;
  readonly logger: Logger;
  readonly now?: () => Date;
}

const ACTOR = 'service:sandbox-runner';

/**
 * The runner's own check before a module is instantiated (defence in depth after the registry's):
 * the bytes it was handed must hash to the digest recorded at publish, in every mode; then the
 * stored signature is verified against the tenant's trust store as it stands now, with the
 * environment's mode and threshold. Every result is recorded as a `runner-signature` event (stage
 * `runner`); in strict mode a failure refuses the module with the reason as error code.
 */
export class ModuleSignatureVerifier {
  constructor(private readonly deps: ModuleSignatureVerifierDeps) {}

  /** The module's bytes, once they and its signature passed; throws the refusal otherwise. */
  async load(module: ModuleToVerify): Promise<Uint8Array> {
    const { mode, threshold } = await this.deps.settings(module.tenant, module.environment);
    const context = { name: module.name, version: module.version, environment: module.environment, stage: 'runner' as const, pluginDigest: module.digest, manifestDigest: module.manifestDigest };
    const refused = (reason: 'SIGNATURE.WASM_DIGEST_MISMATCH' | 'SIGNATURE.MALFORMED', message: string): VerificationRefused => ({
      ok: false,
      reason,
      message,
      keyIds: [],
      presentedKeyIds: [],
      envelopeDigest: module.signature?.envelopeDigest ?? null,
    });
    let wasm: Uint8Array;
    try {
      wasm = await this.deps.artifact(module.digest);
    } catch (error) {
      if (!isCorrupt(error)) throw error;
      // Not a signature question: whatever the mode, altered bytes never run.
      const result = refused('SIGNATURE.WASM_DIGEST_MISMATCH', `the stored module of ${module.name}@${module.version} does not hash to ${module.digest}, recorded at publish: it was altered after publishing and will not run`);
      platformMetrics().signature('runner', false, result.reason);
      await this.record(module, signatureResultEvent(result, { ...context, mode: 'strict' }));
      throw signatureError(result);
    }
    let result: VerificationResult;
    let envelope: Uint8Array | undefined;
    try {
      envelope = module.signature === undefined ? undefined : await this.deps.artifact(module.signature.envelopeDigest);
    } catch (error) {
      if (!isCorrupt(error)) throw error;
      envelope = undefined;
    }
    if (module.signature !== undefined && envelope === undefined) {
      result = refused('SIGNATURE.MALFORMED', `the stored signature envelope of ${module.name}@${module.version} does not hash to ${module.signature.envelopeDigest}: it was altered after publishing`);
    } else {
      result = verifyPluginEnvelope({
        envelope,
        wasmDigest: module.digest,
        manifestDigest: module.manifestDigest,
        manifest: { name: module.name, version: module.version },
        trustStore: await loadTrustStore(this.deps.keyEvents, module.tenant),
        signedAt: module.signature?.signedAt ?? new Date(0),
        threshold,
        now: this.now(),
      });
    }
    platformMetrics().signature('runner', result.ok, result.ok ? 'ok' : result.reason);
    await this.record(module, signatureResultEvent(result, { ...context, mode }));
    if (!result.ok) {
      if (mode === 'strict') throw signatureError(result);
      this.deps.logger.warn({ plugin: module.name, version: module.version, environment: module.environment, tenant: module.tenant, reason: result.reason }, 'running a module whose signature did not verify (audit mode)');
    }
    return wasm;
  }

  private now(): Date {
    return this.deps.now === undefined ? new Date() : this.deps.now();
  }

  private async record(module: ModuleToVerify, event: { type: string; data: unknown }): Promise<void> {
    const time = this.now().toISOString();
    await this.deps.record(module.tenant, module.name, [
      { id: randomUUID(), type: event.type, data: event.data, time, actor: ACTOR, tenant: module.tenant, subject: module.name },
    ]);
  }
}

function isCorrupt(error: unknown): boolean {
  return error instanceof ForgeOneError && error.code === 'REGISTRY.ARTIFACT_CORRUPT';
}

/** Signature refusals are properties of the module, like an invalid ABI: retrying the load cannot help. */
export function isSignatureRefusal(error: unknown): boolean {
  return error instanceof ForgeOneError && error.code.startsWith('SIGNATURE.');
}
