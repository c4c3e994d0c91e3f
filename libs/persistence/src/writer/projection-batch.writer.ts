import type { DataSource, EntityManager } from 'typeorm';
import { recordForgedEventIn, type ForgedMessage } from './forged-event.writer.js';
import { AuditLogConflictError, PoisonEventError, ProjectionGapError } from './projection.errors.js';
import type { CloudEvent } from '@forgeone/contracts';
import { checkEvent } from './event.checker.js';
import { ProjectionStaging } from './projection-staging.js';
import { advanceCheckpoint, applyCheckedIn, checkSequence, ENTITY_PROJECTIONS, openProjectorCursor, TABLE_PROJECTIONS, type ApplyResult } from './projection.writer.js';

/** One stream message of a batch, in stream order: an event to apply, or a message refused as forged. */
export type ProjectionBatchItem =
  | {
      readonly sequence: number;
      /** The decoded message body, already verified as its aggregate owner's. */
      readonly event: unknown;
      /** Where it came from, recorded if it turns out to be a replay. */
      readonly origin?: { readonly writer: string | null; readonly subject: string };
    }
  | { readonly sequence: number; readonly forged: ForgedMessage };

export interface ApplyEventsOptions {
  /** Append each event to the audit log (default true), as `applyEvent`'s option of that name. */
  readonly writeAudit?: boolean;
}

/** An error that stops a projector at one event: it is never skipped. */
export type ProjectionHaltError = ProjectionGapError | PoisonEventError | AuditLogConflictError;

/** Whether `error` stops the projector at its event (rather than being worth a retry). */
export function isProjectionHalt(error: unknown): error is ProjectionHaltError {
  return error instanceof ProjectionGapError || error instanceof PoisonEventError || error instanceof AuditLogConflictError;
}

class HaltAt extends Error {
  constructor(
    readonly index: number,
    override readonly cause: ProjectionHaltError,
  ) {
    super(cause.message);
  }
}

/**
 * Applies a batch of stream messages in stream order in ONE transaction: the checkpoint is locked
 * once, each message goes through what {@link applyEvent} or {@link recordForgedEvent} does for
 * one (duplicates skipped, replays and refused messages recorded as forged), the audit chain's tip
 * and Merkle nodes are carried from row to row in memory, new audit rows and nodes are inserted
 * together at the end, and the checkpoint is written once, at the last sequence applied. The
 * read-model rows the batch's events name are read before the first is folded, a statement per
 * table, and the changed ones written back together before the checkpoint moves
 * ({@link ProjectionStaging}). Answers each message's outcome, in order.
 *
 * When the message at index k cannot be applied (a gap, a poison event, an audit conflict), the
 * messages before k are committed, as if they had been applied one by one, and that error is
 * thrown naming k's sequence: the checkpoint stops right before it, whatever the batch size was.
 * Any other error (the database) rolls the whole batch back and is thrown: retry the batch.
 */
export async function applyEvents(ds: DataSource, projector: string, batch: readonly ProjectionBatchItem[], options: ApplyEventsOptions = {}): Promise<ApplyResult[]> {
  if (!projector) throw new TypeError('applyEvents: projector name must not be empty');
  batch.forEach((item, index) => checkSequence(`applyEvents: batch item ${index}`, item.sequence));
  if (batch.length === 0) return [];
  try {
    return await ds.transaction((manager) => applyInOrder(manager, projector, batch, options));
  } catch (error) {
    if (!(error instanceof HaltAt)) throw error;
    // Rolling back and applying the prefix again keeps savepoints (a round trip per event) off the normal path.
    if (error.index > 0) await ds.transaction((manager) => applyInOrder(manager, projector, batch.slice(0, error.index), options));
    throw error.cause;
  }
}

async function applyInOrder(manager: EntityManager, projector: string, batch: readonly ProjectionBatchItem[], options: ApplyEventsOptions): Promise<ApplyResult[]> {
  const cursor = await openProjectorCursor(manager, projector);
  const start = cursor.last;
  const staged = new ProjectionStaging();
  cursor.staged = staged;
  // Each new event's contract check, made once: its result names the rows to read and is what gets applied.
  const checks = batch.map((item) => ('event' in item && item.sequence > start ? checkEvent(item.event) : undefined));
  const valid = checks.flatMap((checked, index) => (checked?.ok ? [{ sequence: batch[index].sequence, checked }] : []));
  const first = batch.find((item) => item.sequence > start);
  // One read for the batch's event ids (replays), tenants and the log's end instead of lookups per event.
  await cursor.audit.prefetch(manager, {
    eventIds: valid.map(({ checked }) => checked.event.id),
    tenants: valid.map(({ checked }) => checked.event.tenant),
    ...((options.writeAudit ?? true) && first ? { appendFrom: first.sequence } : {}),
  });
  for (const { projection, entity } of ENTITY_PROJECTIONS) {
    const keys = valid.flatMap<Record<string, unknown>>(({ checked }) => projection.keyOf(checked.projectable) ?? []);
    if (keys.length > 0) await staged.loadEntities(manager, projection.name, entity, keys);
  }
  for (const projection of TABLE_PROJECTIONS) {
    const keys = valid.flatMap<Record<string, unknown>>(({ sequence, checked }) => projection.keyOf({ sequence, event: checked.projectable as CloudEvent }) ?? []);
    if (keys.length > 0) await staged.loadTable(manager, projection, keys);
  }
  const results: ApplyResult[] = [];
  for (const [index, item] of batch.entries()) {
    try {
      const checked = checks[index];
      results.push(
        'forged' in item
          ? await recordForgedEventIn(manager, cursor, item.sequence, item.forged, options)
          : await applyCheckedIn(manager, cursor, item.sequence, item.event, checked ? () => checked : checkEvent, { ...options, ...(item.origin ? { origin: item.origin } : {}) }),
      );
    } catch (error) {
      if (isProjectionHalt(error)) throw new HaltAt(index, error);
      throw error;
    }
  }
  await staged.flush(manager);
  try {
    await cursor.audit.flush(manager);
  } catch (error) {
    // The sequence a deferred row was refused at names the event the batch stops before.
    const index = error instanceof AuditLogConflictError ? batch.findIndex((item) => item.sequence === error.sequence) : -1;
    if (index >= 0) throw new HaltAt(index, error as AuditLogConflictError);
    throw error;
  }
  if (cursor.last !== start) await advanceCheckpoint(manager, projector, cursor.last);
  return results;
}
