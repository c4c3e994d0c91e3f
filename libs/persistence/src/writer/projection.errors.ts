import { ForgeOneError } from '@forgeone/contracts';

/**
 * The event's stream sequence is not the one after the projector's checkpoint. Nothing was written;
 * the projector must halt and be redelivered from `expected` (it never skips).
 */
export class ProjectionGapError extends ForgeOneError {
  override readonly name = 'ProjectionGapError';

  constructor(
    readonly projector: string,
    readonly expected: number,
    readonly received: number,
  ) {
    super(
      'PROJECTION.GAP',
      `projector "${projector}" expected stream sequence ${expected} but received ${received}; ` +
        `nothing was written: redeliver the stream from sequence ${expected}`,
      { projector, expected, received },
    );
  }
}

/**
 * The event cannot be projected: its envelope or data is invalid, or its type is unknown. Nothing was
 * written; the projector halts at this sequence until the event is understood (never skipped silently).
 */
export class PoisonEventError extends ForgeOneError {
  override readonly name = 'PoisonEventError';

  constructor(
    readonly projector: string,
    readonly sequence: number,
    readonly reason: string,
    readonly eventId?: string,
    readonly eventType?: string,
  ) {
    super(
      'PROJECTION.POISON_EVENT',
      `projector "${projector}" cannot project the event at stream sequence ${sequence}` +
        `${eventId ? ` (id ${eventId}${eventType ? `, type ${eventType}` : ''})` : ''}: ${reason}; ` +
        `nothing was written: deploy a version that understands it, or repair the stream`,
      { projector, sequence, reason, ...(eventId ? { eventId } : {}), ...(eventType ? { eventType } : {}) },
    );
  }
}

/**
 * The audit log already holds a different event at this sequence or with this event id: the stream
 * and the audit log disagree. Nothing was written; run `forgeone audit verify` and investigate.
 */
export class AuditLogConflictError extends ForgeOneError {
  override readonly name = 'AuditLogConflictError';

  constructor(
    readonly sequence: number,
    readonly eventId: string,
    reason: string,
  ) {
    super(
      'PROJECTION.AUDIT_CONFLICT',
      `the audit log disagrees with the stream at sequence ${sequence} (event ${eventId}): ${reason}; ` +
        `nothing was written: run "forgeone audit verify" and investigate before resuming`,
      { sequence, eventId, reason },
    );
  }
}
