export type { AuditCheckpointCommand, RecordAuditCheckpoint } from './audit-checkpoint/audit-checkpoint.commands.js';
export {
  auditCheckpointDecider,
  decideAuditCheckpoint,
  evolveAuditCheckpoint,
  initialAuditCheckpointState,
  type AuditCheckpointEvent,
  type AuditCheckpointSignedEvent,
  type AuditCheckpointState,
} from './audit-checkpoint/audit-checkpoint.decider.js';
