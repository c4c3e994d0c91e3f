// Routes of the audit log: its entries, signed checkpoints, proofs, verification and evidence exports.
import { EvidenceExportLineSchema, EvidenceExportRequestSchema } from '@forgeone/contracts';
import { AuditCheckpointQuerySchema, AuditCheckpointReplySchema, AuditConsistencyProofReplySchema, AuditConsistencyQuerySchema, AuditInclusionProofReplySchema, AuditKeyReplySchema, AuditVerifyReplySchema, AuditVerifyRequestSchema, AuditLogQuerySchema, AuditLogReplySchema, AuditProofPathSchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { TENANT_HEADER } from './route-parameters.js';

/** The audit log, its checkpoints and proofs, and a verification of it. */
export const AUDIT_LOG_ROUTES = {
  auditLog: defineRoute({
    method: 'get',
    path: '/v1/audit-log',
    operationId: 'auditLog',
    summary: "The caller's tenant's audit log in stream order (needs read-audit); page with `after` = the last sequence of the previous page",
    tag: 'audit',
    what: 'the audit log query',
    query: AuditLogQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'audit entries', component: 'AuditLog', schema: AuditLogReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditLog' },
  }),
  auditCheckpoint: defineRoute({
    method: 'get',
    path: '/v1/audit-log/checkpoint',
    operationId: 'auditCheckpoint',
    summary: "The audit log's latest signed checkpoint, or the one of `size` (needs read-audit)",
    tag: 'audit',
    what: 'the audit checkpoint query',
    query: AuditCheckpointQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'a checkpoint signed with the audit key', component: 'AuditCheckpointReply', schema: AuditCheckpointReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditCheckpoint' },
  }),
  auditInclusionProof: defineRoute({
    method: 'get',
    path: '/v1/audit-log/{sequence}/proof',
    operationId: 'auditInclusionProof',
    summary: "An inclusion proof of one of the caller's tenant's audit rows in a signed checkpoint, the latest unless `size` is given (needs read-audit); another tenant's row is not found",
    tag: 'audit',
    what: 'the audit inclusion proof query',
    params: AuditProofPathSchema,
    query: AuditCheckpointQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: "the row's leaf, its inclusion path and the checkpoint", component: 'AuditInclusionProof', schema: AuditInclusionProofReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditInclusionProof' },
  }),
  auditConsistencyProof: defineRoute({
    method: 'get',
    path: '/v1/audit-log/consistency',
    operationId: 'auditConsistencyProof',
    summary: 'A consistency proof between two signed checkpoints of the audit log, to the latest unless `to` is given (needs read-audit)',
    tag: 'audit',
    what: 'the audit consistency proof query',
    query: AuditConsistencyQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'both checkpoints and the proof', component: 'AuditConsistencyProof', schema: AuditConsistencyProofReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditConsistencyProof' },
  }),
  auditKey: defineRoute({
    method: 'get',
    path: '/v1/audit-log/key',
    operationId: 'auditKey',
    summary: "The audit key's public key (SPKI PEM) and fingerprint, as its latest checkpoint names it (needs read-audit); pin it out of band",
    tag: 'audit',
    what: 'the audit key query',
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'the public key that signs checkpoints', component: 'AuditKey', schema: AuditKeyReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditKey' },
  }),
  auditVerify: defineRoute({
    method: 'post',
    path: '/v1/audit-log/verify',
    operationId: 'auditVerify',
    summary:
      'Verify the whole audit log, or a range of stream sequences, where the platform stores it (needs read-audit): chain, leaves, tenant sequences, every checkpoint with the key you send, consistency, every row against the event stream, and checkpoints you kept; names the first row that differs',
    tag: 'audit',
    what: 'the audit verify request',
    headers: [TENANT_HEADER],
    body: { component: 'AuditVerifyRequest', schema: AuditVerifyRequestSchema },
    success: { status: 200, description: 'the report: ok, or the first fault', component: 'AuditVerifyReply', schema: AuditVerifyReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'auditVerify' },
  }),
} as const;

/** An evidence export of a tenant, signed with the audit key. */
export const EVIDENCE_ROUTES = {
  exportEvidence: defineRoute({
    method: 'post',
    path: '/v1/audit-log/evidence',
    operationId: 'exportEvidence',
    summary:
      "An evidence export of the caller's tenant for one framework and period (needs export-evidence): NDJSON lines carrying each file, then the manifest signed with the audit key; recorded as evidence_exported",
    tag: 'audit',
    what: 'the evidence export request',
    body: { component: 'EvidenceExportRequest', schema: EvidenceExportRequestSchema },
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'application/x-ndjson: one JSON line each (start, file chunks, progress, then done or error)', component: 'EvidenceExportLine', schema: EvidenceExportLineSchema },
    access: { decidedBy: 'gateway', action: 'export-evidence', query: 'evidenceExport' },
  }),
} as const;
