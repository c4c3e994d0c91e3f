import type { AuditCheckpointSigned } from '@forgeone/contracts';

/**
 * Record a signed checkpoint of the audit log. Everything is decided outside (tree size, root,
 * the signed note, the time) and arrives with the command; `newLeaves` counts the leaves since the
 * last checkpoint that are not checkpoints themselves.
 */
export interface RecordAuditCheckpoint {
  readonly type: 'RecordAuditCheckpoint';
  readonly data: AuditCheckpointSigned;
  readonly newLeaves: number;
}

export type AuditCheckpointCommand = RecordAuditCheckpoint;
