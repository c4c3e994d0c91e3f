import { AUDIT_CHECKPOINT_EVENT_TYPES, ForgeOneError, type AuditCheckpointSigned } from '@forgeone/contracts';
import type { Decider, DomainEvent } from '@forgeone/event-sourcing';
import type { AuditCheckpointCommand } from './audit-checkpoint.commands.js';

export type AuditCheckpointSignedEvent = DomainEvent<typeof AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, AuditCheckpointSigned>;
export type AuditCheckpointEvent = AuditCheckpointSignedEvent;

/** The last checkpoint of the log: its tree size (0 before the first) and origin. */
export interface AuditCheckpointState {
  readonly treeSize: number;
  readonly origin: string | null;
}

export const initialAuditCheckpointState = (): AuditCheckpointState => ({ treeSize: 0, origin: null });

/**
 * Checkpoints only grow: a checkpoint not larger than the last one is nothing new (a racing
 * replica signed first, or only checkpoints were added since), so nothing is appended; one with
 * no leaf besides checkpoints since the last one would only checkpoint checkpoints.
 */
export function decideAuditCheckpoint(command: AuditCheckpointCommand, state: AuditCheckpointState): AuditCheckpointEvent[] {
  switch (command.type) {
    case 'RecordAuditCheckpoint': {
      const { data } = command;
      if (state.origin !== null && data.origin !== state.origin) {
        throw new ForgeOneError('COMMAND.INVALID', `the audit log's origin is ${state.origin}; a checkpoint for ${data.origin} belongs to another log`, { origin: data.origin });
      }
      if (data.treeSize <= state.treeSize || command.newLeaves < 1) return [];
      return [{ type: AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, data }];
    }
    default: {
      const unknown: never = command.type;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown audit checkpoint command ${String(unknown)}`);
    }
  }
}

export function evolveAuditCheckpoint(state: AuditCheckpointState, event: AuditCheckpointEvent): AuditCheckpointState {
  switch (event.type) {
    case AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned:
      return event.data.treeSize > state.treeSize ? { treeSize: event.data.treeSize, origin: event.data.origin } : state;
    default:
      return state;
  }
}

/** The `audit-checkpoint` aggregate (one instance per log) as a decider. */
export const auditCheckpointDecider: Decider<AuditCheckpointCommand, AuditCheckpointEvent, AuditCheckpointState> = {
  initialState: initialAuditCheckpointState,
  decide: decideAuditCheckpoint,
  evolve: evolveAuditCheckpoint,
};
