import { AUDIT_CHECKPOINT_EVENT_TYPES, type AuditCheckpointSigned, type CloudEvent } from '@forgeone/contracts';
import { recordAuditCheckpoint } from '../queries/transparency-log.queries.js';
import type { DataSource, EntityManager, EntitySchema, FindOptionsWhere, ObjectLiteral, QueryDeepPartialEntity } from 'typeorm';
import { auditHashAndDigest, GENESIS_HASH, pluginOf, type ForgedMark } from '../audit/audit-chain.js';
import { auditLeafHash } from '../audit/audit-leaf.js';
import { AUDIT_INSERT_COLUMNS, AuditLogCursor } from '../audit/audit-log.cursor.js';
import { appendMerkleLeaf, merkleNodesOf } from '../audit/merkle-node.store.js';
import { InstallationEntity, PluginEntity, PluginVersionEntity } from '../entities/read-model.entities.js';
import { installationsProjection } from '../projections/installations.projection.js';
import { pluginVersionsProjection } from '../projections/plugin-versions.projection.js';
import { pluginsProjection } from '../projections/plugins.projection.js';
import { callWindowsProjection } from '../projections/call-windows.projection.js';
import { pluginTestRunsProjection } from '../projections/plugin-test-runs.projection.js';
import { complianceRecordsProjection } from '../projections/compliance-records.projection.js';
import { pluginCallsDailyProjection } from '../projections/plugin-calls-daily.projection.js';
import { pluginReviewsProjection, reviewNoticesProjection } from '../projections/reviews.projection.js';
import type { Projection, RecordedEvent } from '../projections/projection.types.js';
import type { TableProjection } from '../projections/table-projection.types.js';
import { checkEvent, type CheckedEvent } from './event.checker.js';
import type { ProjectionStaging } from './projection-staging.js';
import { AuditLogConflictError, PoisonEventError, ProjectionGapError } from './projection.errors.js';
import { recordSecurityFinding } from './security-finding.writer.js';
import { projectTable } from './table-projection.writer.js';

/**
 * `applied`: the event was projected; `duplicate`: its sequence was already projected, nothing was
 * written; `forged`: its id was applied before at another sequence (a replay), so it was recorded in
 * the audit log marked forged and projected nowhere.
 */
export type ApplyResult = 'applied' | 'duplicate' | 'forged';

export interface ApplyEventOptions {
  /**
   * Append the event to the hash-chained audit log (default true). Exactly one projector per
   * database writes the audit log: the audit-projector.
   */
  readonly writeAudit?: boolean;
  /** Where the message came from, recorded when it turns out to be a replay. */
  readonly origin?: { readonly writer: string | null; readonly subject: string };
}

/**
 * A projector's position inside one of its transactions: the checkpoint, locked once and moved in
 * memory as events are applied (written back once by the caller), and what the audit log holds.
 */
export interface ProjectorCursor {
  readonly projector: string;
  /** The last sequence applied in this transaction, or the checkpoint before it. */
  last: number;
  readonly audit: AuditLogCursor;
  /**
   * Where read-model rows are folded when a batch reads and writes them in bulk; without it each
   * event reads and writes its rows itself.
   */
  staged?: ProjectionStaging;
}

/** Locks the projector's checkpoint for this transaction and answers the cursor to apply events with. */
export async function openProjectorCursor(manager: EntityManager, projector: string): Promise<ProjectorCursor> {
  if (!projector) throw new TypeError('openProjectorCursor: projector name must not be empty');
  return { projector, last: await lockCheckpoint(manager, projector), audit: new AuditLogCursor() };
}

/**
 * Projects one stream message in a single transaction: locks the projector's checkpoint, folds the
 * event into every projection, appends the audit row and advances the checkpoint.
 *
 * - `sequence` at or below the checkpoint → `'duplicate'`, nothing written (redelivery is safe);
 * - `sequence` beyond checkpoint + 1 → {@link ProjectionGapError}, nothing written;
 * - an invalid envelope or data, or an unknown type → {@link PoisonEventError}, nothing written;
 * - an id the audit log already holds for a genuine event at another sequence → `'forged'`: a replay,
 *   recorded in the audit log marked `replayed` with a security finding, and projected nowhere;
 * - the audit log holding a different event at this sequence → {@link AuditLogConflictError}.
 *
 * `event` is the decoded message body, already verified as its aggregate owner's (event-store);
 * it is validated here against the contracts. Given the EntityManager of a transaction, it runs
 * under a savepoint of it: the projection-schema swap catches a rebuilt schema up this way, in the
 * transaction that holds the live checkpoint's lock.
 */
export async function applyEvent(
  ds: DataSource | EntityManager,
  projector: string,
  sequence: number,
  event: unknown,
  options: ApplyEventOptions = {},
): Promise<ApplyResult> {
  if (!projector) throw new TypeError('applyEvent: projector name must not be empty');
  checkSequence('applyEvent', sequence);
  return ds.transaction(async (manager) => {
    const cursor = await openProjectorCursor(manager, projector);
    const outcome = await applyEventIn(manager, cursor, sequence, event, options);
    if (outcome !== 'duplicate') await advanceCheckpoint(manager, projector, cursor.last);
    return outcome;
  });
}

/**
 * The body of {@link applyEvent} inside the caller's transaction, which holds the checkpoint lock
 * through `cursor` ({@link openProjectorCursor}): same outcomes and errors, `cursor.last` moves to
 * `sequence` unless it is a duplicate, and the caller writes the checkpoint back
 * ({@link advanceCheckpoint}) before committing. After an error the transaction must roll back.
 */
export async function applyEventIn(
  manager: EntityManager,
  cursor: ProjectorCursor,
  sequence: number,
  event: unknown,
  options: ApplyEventOptions = {},
): Promise<ApplyResult> {
  checkSequence('applyEventIn', sequence);
  return applyCheckedIn(manager, cursor, sequence, event, checkEvent, options);
}

/**
 * {@link applyEventIn} for an event whose contract check may already have been made (a batch checks
 * each event once, to read the rows it names beforehand): `check` answers it. Duplicates and gaps
 * are still found before the check, as one by one.
 */
export async function applyCheckedIn(
  manager: EntityManager,
  cursor: ProjectorCursor,
  sequence: number,
  event: unknown,
  check: (event: unknown) => CheckedEvent,
  options: ApplyEventOptions = {},
): Promise<ApplyResult> {
  const { projector } = cursor;
  if (sequence <= cursor.last) return 'duplicate';
  if (sequence !== cursor.last + 1) throw new ProjectionGapError(projector, cursor.last + 1, sequence);
  const checked = check(event);
  if (!checked.ok) throw new PoisonEventError(projector, sequence, checked.reason, checked.id, checked.type);

  const original = await cursor.audit.genuineElsewhere(manager, checked.event.id, sequence);
  if (original !== undefined) {
    const mark: ForgedMark = { reason: 'replayed', writer: options.origin?.writer ?? null, subject: options.origin?.subject ?? '' };
    const message = `event ${checked.event.id} was already applied at stream sequence ${original}`;
    if (options.writeAudit ?? true) await appendAudit(manager, sequence, checked.event, { mark, message, occurredAt: checked.event.time }, cursor.audit);
    await recordSecurityFinding(manager, { reason: 'replayed', writer: mark.writer, sequence, subject: mark.subject, eventId: checked.event.id, eventType: checked.event.type, tenant: checked.event.tenant, detail: message });
    cursor.last = sequence;
    return 'forged';
  }

  const recorded: RecordedEvent = { sequence, event: checked.projectable };
  for (const { projection, entity } of ENTITY_PROJECTIONS) await project(manager, projection, entity, recorded, cursor.staged);
  if (checked.event.type === AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned) {
    await recordAuditCheckpoint(manager, sequence, checked.event.data as AuditCheckpointSigned);
  }
  const record = { sequence, event: checked.projectable as CloudEvent };
  for (const projection of TABLE_PROJECTIONS) await projectTable(manager, projection, record, cursor.staged);
  if (options.writeAudit ?? true) await appendAudit(manager, sequence, checked.event, undefined, cursor.audit);

  cursor.last = sequence;
  return 'applied';
}

/** Throws a RangeError naming `where` unless `sequence` can be a stream sequence. */
export function checkSequence(where: string, sequence: number): void {
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new RangeError(`${where}: stream sequence must be a positive integer, got ${sequence}`);
  }
}

/** Moves the projector's checkpoint to `sequence` (inside the transaction holding its lock). */
export async function advanceCheckpoint(manager: EntityManager, projector: string, sequence: number): Promise<void> {
  await manager.query(`UPDATE projection_checkpoint SET last_sequence = $2, updated_at = now() WHERE projector = $1`, [projector, sequence]);
}

/**
 * Empties the projections (plugins, call accounting, compliance records, test runs, reviews) and sets the projector's checkpoint to 0 so that they rebuild from
 * sequence 1. The audit log is kept: on replay each audit row is checked against the replayed event.
 */
export async function resetProjections(ds: DataSource, projector: string): Promise<void> {
  await ds.transaction(async (manager) => {
    await lockCheckpoint(manager, projector);
    await manager.query(`DELETE FROM installations`);
    await manager.query(`DELETE FROM call_windows`);
    await manager.query(`DELETE FROM plugin_calls_daily`);
    await manager.query(`DELETE FROM compliance_records`);
    await manager.query(`DELETE FROM plugin_test_runs`);
    await manager.query(`DELETE FROM plugin_reviews`);
    await manager.query(`DELETE FROM review_notices`);
    await manager.query(`DELETE FROM plugin_versions`);
    await manager.query(`DELETE FROM plugins`);
    await manager.query(`UPDATE projection_checkpoint SET last_sequence = 0, updated_at = now() WHERE projector = $1`, [projector]);
  });
}

/** Returns the checkpoint's last sequence, holding its row lock until the transaction ends. */
export async function lockCheckpoint(manager: EntityManager, projector: string): Promise<number> {
  const select = `SELECT last_sequence FROM projection_checkpoint WHERE projector = $1 FOR UPDATE`;
  let rows: { last_sequence: string }[] = await manager.query(select, [projector]);
  if (rows.length === 0) {
    // Racing first events both insert; ON CONFLICT makes the loser wait for the winner, then lock its row.
    await manager.query(`INSERT INTO projection_checkpoint (projector, last_sequence) VALUES ($1, 0) ON CONFLICT (projector) DO NOTHING`, [projector]);
    rows = await manager.query(select, [projector]);
  }
  return Number(rows[0].last_sequence);
}

/** The projections written through TypeORM entities, in the order events are folded into them. */
export const ENTITY_PROJECTIONS: readonly { readonly projection: Projection<ObjectLiteral, ObjectLiteral>; readonly entity: EntitySchema<ObjectLiteral> }[] = [
  { projection: pluginsProjection, entity: PluginEntity },
  { projection: pluginVersionsProjection, entity: PluginVersionEntity },
  { projection: installationsProjection, entity: InstallationEntity },
] as unknown as readonly { projection: Projection<ObjectLiteral, ObjectLiteral>; entity: EntitySchema<ObjectLiteral> }[];

/** The table projections (rows by column name), in the order events are folded into them. */
export const TABLE_PROJECTIONS: readonly TableProjection<Record<string, unknown>>[] = [
  callWindowsProjection,
  pluginCallsDailyProjection,
  complianceRecordsProjection,
  pluginTestRunsProjection,
  pluginReviewsProjection,
  reviewNoticesProjection,
] as unknown as readonly TableProjection<Record<string, unknown>>[];

async function project<Row extends ObjectLiteral, Key extends Partial<Row>>(
  manager: EntityManager,
  projection: Projection<Row, Key>,
  entity: EntitySchema<Row>,
  recorded: RecordedEvent,
  staged?: ProjectionStaging,
): Promise<void> {
  const key = projection.keyOf(recorded.event);
  if (!key) return;
  if (staged) {
    await staged.foldEntity(manager, projection.name, entity, key as Record<string, unknown>, (row) => projection.evolve(row, recorded));
    return;
  }
  const repository = manager.getRepository(entity);
  const where = key as unknown as FindOptionsWhere<Row>;
  const current = await repository.findOneBy(where);
  const next = projection.evolve(current, recorded);
  if (next === current) return;
  if (next === null) await repository.delete(where);
  else await repository.upsert(next as QueryDeepPartialEntity<Row>, { conflictPaths: Object.keys(key) });
}

/** How an audit row is marked forged: the hashed mark, what was wrong, and when the stream stored it. */
export interface ForgedAudit {
  readonly mark: ForgedMark;
  readonly message: string;
  readonly occurredAt: string;
}

/**
 * Appends one audit row chained to the row before; a row already there for this sequence must be
 * identical (a rebuild), anything else is an {@link AuditLogConflictError}. Event ids are unique
 * among genuine rows only: a forged row may repeat one. The row is also the next leaf of the
 * Merkle tree (its leaf index, its tenant's next sequence, its leaf hash and the subtrees it
 * completes), in the same transaction. `cursor` carries the chain's tip from one row to the next
 * within a transaction; without one, it is read.
 */
export async function appendAudit(manager: EntityManager, sequence: number, event: CloudEvent, forged?: ForgedAudit, cursor: AuditLogCursor = new AuditLogCursor()): Promise<void> {
  // The checkpoint lock serialises writers, so the row below this sequence is the chain's tip.
  const previous = await cursor.previous(manager, sequence);
  const prevHash = previous?.hash ?? GENESIS_HASH;
  const { hash, digest } = auditHashAndDigest(prevHash, sequence, event, forged?.mark);
  const leafIndex = previous ? previous.leafIndex + 1 : 0;
  const tenantSequence = await cursor.nextTenantSequence(manager, event.tenant);
  const leafHash = auditLeafHash({ sequence, eventId: event.id, subject: event.subject, tenant: event.tenant, tenantSequence, digest });
  const values = [
    sequence,
    event.id,
    event.specversion,
    event.type,
    event.source,
    event.subject,
    event.time,
    forged?.occurredAt ?? event.time,
    event.datacontenttype,
    event.schemaversion,
    event.actor,
    event.tenant,
    pluginOf(event),
    JSON.stringify(event.data ?? null),
    event.traceparent ?? null,
    prevHash,
    hash,
    forged?.mark.reason ?? null,
    forged ? JSON.stringify({ writer: forged.mark.writer, subject: forged.mark.subject, message: forged.message }) : null,
    leafIndex,
    tenantSequence,
    leafHash,
  ];
  if (cursor.defers) {
    cursor.defer(sequence, event.id, values, await merkleNodesOf(manager, leafIndex, leafHash, cursor.merkleNodes));
    cursor.appended({ sequence, hash, leafIndex, tenant: event.tenant, tenantSequence, eventId: event.id, genuine: !forged });
    return;
  }
  const inserted: unknown[] = await manager.query(
    `INSERT INTO audit_log (${AUDIT_INSERT_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17, $18, $19::jsonb, $20, $21, $22)
     ON CONFLICT DO NOTHING
     RETURNING sequence`,
    values,
  );
  if (inserted.length === 1) {
    await appendMerkleLeaf(manager, leafIndex, leafHash, cursor.merkleNodes);
    cursor.appended({ sequence, hash, leafIndex, tenant: event.tenant, tenantSequence, eventId: event.id, genuine: !forged });
    return;
  }
  cursor.forgetTip();

  const [existing]: { sequence: string; hash: string }[] = await manager.query(
    forged
      ? `SELECT sequence, hash FROM audit_log WHERE sequence = $1`
      : `SELECT sequence, hash FROM audit_log WHERE sequence = $1 OR (event_id = $2 AND forged IS NULL) ORDER BY sequence LIMIT 1`,
    forged ? [sequence] : [sequence, event.id],
  );
  // A rebuild replays events the audit log already holds: identical rows are fine.
  if (existing && Number(existing.sequence) === sequence && existing.hash === hash) return;
  throw new AuditLogConflictError(
    sequence,
    event.id,
    !existing
      ? 'the audit row could not be inserted'
      : Number(existing.sequence) === sequence
        ? `the recorded row hashes to ${existing.hash} but the stream's event hashes to ${hash}`
        : `event id ${event.id} is already recorded at sequence ${existing.sequence}`,
  );
}
