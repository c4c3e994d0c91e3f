import { z } from 'zod';

/**
 * The audit log's signed checkpoints: `forgeone.evt.audit-checkpoint.<id>`, one instance
 * ({@link AUDIT_CHECKPOINT_ID}). Only the audit-projector writes it (EVENT_OWNERSHIP).
 */
export const AUDIT_CHECKPOINT_AGGREGATE = 'audit-checkpoint';
/** The one instance of the checkpoint aggregate: checkpoints of one log follow each other. */
export const AUDIT_CHECKPOINT_ID = 'audit-log';

export const AUDIT_CHECKPOINT_EVENT_TYPES = {
  checkpointSigned: 'io.forgeone.audit.checkpoint_signed.v1',
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

/**
 * A checkpoint of the audit log's Merkle tree, signed with the audit key: the C2SP tlog-checkpoint
 * signed note itself and, for queries, what it says.
 */
export const AuditCheckpointSignedSchema = z
  .object({
    /** The log's origin line, also the signature's key name. */
    origin: z.string().min(1).max(256),
    /** Leaves (audit rows) the checkpoint covers: leaf indexes 0 to treeSize - 1. */
    treeSize: z.number().int().positive(),
    rootHash: hex64,
    /** sha256 (hex) of the audit key's SPKI DER: its fingerprint. */
    keyId: hex64,
    /** The audit key's public key, base64 SPKI DER, so readers can fetch it; auditors pin it by its fingerprint. */
    publicKey: z.string().regex(/^[A-Za-z0-9+/]{40,200}={0,2}$/, 'must be a base64 SPKI DER public key'),
    /** The signed note (origin, size, base64 root, `time` line, blank line, signature line). */
    note: z.string().min(1).max(4096),
    /** When it was signed (RFC 3339), as the note's `time` line says. */
    signedAt: z.string().datetime({ offset: true }),
  })
  .strict();
export type AuditCheckpointSigned = z.infer<typeof AuditCheckpointSignedSchema>;
