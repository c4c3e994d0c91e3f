import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import {
  canonicalJson,
  COMMAND_ERRORS,
  EVIDENCE_EXPORT_AGGREGATE,
  EVIDENCE_EXPORT_EVENT_TYPES,
  EVIDENCE_MANIFEST_PAYLOAD_TYPE,
  EVIDENCE_VERBS,
  EvidenceManifestSchema,
  parseOrThrow,
  refusalOf,
  SignEvidenceRequestSchema,
  type DsseEnvelope,
  type EvidenceExported,
  type SignEvidenceReply,
} from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import { JetStreamEventStore } from '@forgeone/event-store';
import { encodeBase64, pae, sha256Digest, type SigningKeyProvider } from '@forgeone/signing';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { AUDIT_KEY_TOKEN } from './projector.tokens.js';

const refuse = refusalOf(COMMAND_ERRORS.signEvidence);

/**
 * Bus adapter of the evidence export's last step: the gateway streamed the files and computed the
 * manifest; the holder of the audit key checks that the caller may export its tenant's evidence,
 * signs the manifest as a DSSE envelope and records the export as an event, so every export is in
 * the audit log with who, framework, period and the manifest's digest.
 */
@Controller()
export class EvidenceExportController {
  constructor(
    @Inject(AuthzClient) private readonly authz: AuthzClient,
    @Inject(JetStreamEventStore) private readonly store: EventStore,
    @Inject(AUDIT_KEY_TOKEN) private readonly key: SigningKeyProvider | null,
  ) {}

  @MessagePattern(`audit-projector.${EVIDENCE_VERBS.sign}`)
  async sign(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<SignEvidenceReply> {
    const request = parseOrThrow(SignEvidenceRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the evidence signing request');
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.manifest);
    } catch {
      throw refuse('COMMAND.INVALID', 'the evidence manifest is not JSON');
    }
    const manifest = parseOrThrow(EvidenceManifestSchema, parsed, 'COMMAND.INVALID', 'the evidence manifest');
    if (canonicalJson(manifest) !== request.manifest) throw refuse('COMMAND.INVALID', 'the evidence manifest must be canonical JSON (keys sorted, no white space), the bytes the signature covers');
    const decision = await this.authz.authorize(ctx.credential, 'export-evidence', { type: 'Tenant', id: manifest.tenant }, ctx.source ? { source: ctx.source } : {});
    const { principal } = decision;
    if (principal.tenant !== manifest.tenant || principal.id !== manifest.exportedBy) {
      throw refuse('AUTHZ.DENIED', `${principal.id} of tenant ${principal.tenant} may not sign an export made for ${manifest.exportedBy} of tenant ${manifest.tenant}`, {
        principal: principal.id,
        tenant: principal.tenant,
      });
    }
    // A second projector (FORGEONE_PROJECTOR_ID) holds no audit key and signs nothing.
    if (!this.key) throw refuse('SERVICE.UNAVAILABLE', 'this audit-projector holds no audit key (a second projector); the projector of record signs evidence');
    const payload = Buffer.from(request.manifest, 'utf8');
    const keyId = await this.key.keyId();
    const sig = await this.key.sign(pae(EVIDENCE_MANIFEST_PAYLOAD_TYPE, payload));
    const envelope: DsseEnvelope = { payloadType: EVIDENCE_MANIFEST_PAYLOAD_TYPE, payload: encodeBase64(payload), signatures: [{ keyid: keyId, sig: encodeBase64(sig) }] };
    const data: EvidenceExported = {
      framework: manifest.framework,
      from: manifest.from,
      before: manifest.before,
      exportedBy: principal.id,
      manifestDigest: sha256Digest(payload),
      files: manifest.files.length,
      checkpointTreeSize: manifest.checkpoint.treeSize,
      keyId,
    };
    // A record, not a decision: exports guard no invariant, so any sequence will do.
    const [appended] = await this.store.append(
      EVIDENCE_EXPORT_AGGREGATE,
      manifest.tenant,
      [{ id: randomUUID(), type: EVIDENCE_EXPORT_EVENT_TYPES.exported, data, time: new Date().toISOString(), actor: principal.id, tenant: manifest.tenant }],
      { expectedSequence: 'any' },
    );
    return { envelope, keyId, sequence: appended!.sequence };
  }
}
