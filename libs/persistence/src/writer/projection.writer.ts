import type { CloudEvent } from '@forgeone/contracts';
import type { DataSource, EntityManager, EntitySchema, FindOptionsWhere, ObjectLiteral, QueryDeepPartialEntity } from 'typeorm';
import { auditHash, GENESIS_HASH, pluginOf } from '../audit/audit-chain.js';
import { InstallationEntity, PluginEntity, PluginVersionEntity } from '../entities/read-model.entities.js';
import { installationsProjection } from '../projections/installations.projection.js';
import { pluginVersionsProjection } from '../projections/plugin-versions.projection.js';
import { pluginsProjection } from '../projections/plugins.projection.js';
import type { Projection, RecordedEvent } from '../projections/projection.types.js';
import { checkEvent } from './event.checker.js';
import { AuditLogConflictError, PoisonEventError, ProjectionGapError } from './projection.errors.js';

/** `applied`: the event was projected; `duplicate`: its sequence was already projected, nothing was written. */
export type ApplyResult = 'applied' | 'duplicate';

export interface ApplyEventOptions {
  /**
   * Append the event to the hash-chained audit log (default true). Exactly one projector per
   * database writes the audit log: the audit-projector.
   */
  readonly writeAudit?: boolean;
}

/**
 * Projects one stream message in a single transaction: locks the projector's checkpoint, folds the
 * event into every projection, appends the audit row and advances the checkpoint.
 *
 * - `sequence` at or below the checkpoint → `'duplicate'`, nothing written (redelivery is safe);
 * - `sequence` beyond checkpoint + 1 → {@link ProjectionGapError}, nothing written;
 * - an invalid envelope or data, or an unknown type → {@link PoisonEventError}, nothing written;
 * - the audit log holding a different event at this sequence → {@link AuditLogConflictError}.
 *
 * `event` is the decoded message body; it is validated here against the contracts.
 */
export async function applyEvent(
  ds: DataSource,
  projector: string,
  sequence: number,
  event: unknown,
  options: ApplyEventOptions = {},
): Promise<ApplyResult> {
  if (!projector) throw new TypeError('applyEvent: projector name must not be empty');
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new RangeError(`applyEvent: stream sequence must be a positive integer, got ${sequence}`);
  }
  const checked = checkEvent(event);

  return ds.transaction(async (manager) => {
    const last = await lockCheckpoint(manager, projector);
    if (sequence <= last) return 'duplicate';
    if (sequence !== last + 1) throw new ProjectionGapError(projector, last + 1, sequence);
    if (!checked.ok) throw new PoisonEventError(projector, sequence, checked.reason, checked.id, checked.type);

    const recorded: RecordedEvent = { sequence, event: checked.projectable };
    await project(manager, pluginsProjection, PluginEntity, recorded);
    await project(manager, pluginVersionsProjection, PluginVersionEntity, recorded);
    await project(manager, installationsProjection, InstallationEntity, recorded);
    if (options.writeAudit ?? true) await appendAudit(manager, sequence, checked.event);

    await manager.query(`UPDATE projection_checkpoint SET last_sequence = $2, updated_at = now() WHERE projector = $1`, [projector, sequence]);
    return 'applied';
  });
}

/**
 * Empties the plugin projections and sets the projector's checkpoint to 0 so that they rebuild from
 * sequence 1. The audit log is kept: on replay each audit row is checked against the replayed event.
 */
export async function resetProjections(ds: DataSource, projector: string): Promise<void> {
  await ds.transaction(async (manager) => {
    await lockCheckpoint(manager, projector);
    await manager.query(`DELETE FROM installations`);
    await manager.query(`DELETE FROM plugin_versions`);
    await manager.query(`DELETE FROM plugins`);
    await manager.query(`UPDATE projection_checkpoint SET last_sequence = 0, updated_at = now() WHERE projector = $1`, [projector]);
  });
}

/** Returns the checkpoint's last sequence, holding its row lock until the transaction ends. */
async function lockCheckpoint(manager: EntityManager, projector: string): Promise<number> {
  const select = `SELECT last_sequence FROM projection_checkpoint WHERE projector = $1 FOR UPDATE`;
  let rows: { last_sequence: string }[] = await manager.query(select, [projector]);
  if (rows.length === 0) {
    // Racing first events both insert; ON CONFLICT makes the loser wait for the winner, then lock its row.
    await manager.query(`INSERT INTO projection_checkpoint (projector, last_sequence) VALUES ($1, 0) ON CONFLICT (projector) DO NOTHING`, [projector]);
    rows = await manager.query(select, [projector]);
  }
  return Number(rows[0].last_sequence);
}

async function project<Row extends ObjectLiteral, Key extends Partial<Row>>(
  manager: EntityManager,
  projection: Projection<Row, Key>,
  entity: EntitySchema<Row>,
  recorded: RecordedEvent,
): Promise<void> {
  const key = projection.keyOf(recorded.event);
  if (!key) return;
  const repository = manager.getRepository(entity);
  const where = key as unknown as FindOptionsWhere<Row>;
  const current = await repository.findOneBy(where);
  const next = projection.evolve(current, recorded);
  if (next === current) return;
  if (next === null) await repository.delete(where);
  else await repository.upsert(next as QueryDeepPartialEntity<Row>, { conflictPaths: Object.keys(key) });
}

async function appendAudit(manager: EntityManager, sequence: number, event: CloudEvent): Promise<void> {
  // The checkpoint lock serialises writers, so the row below this sequence is the chain's tip.
  const [previous]: { hash: string }[] = await manager.query(
    `SELECT hash FROM audit_log WHERE sequence < $1 ORDER BY sequence DESC LIMIT 1`,
    [sequence],
  );
  const prevHash = previous?.hash ?? GENESIS_HASH;
  const hash = auditHash(prevHash, sequence, event);
  const inserted: unknown[] = await manager.query(
    `INSERT INTO audit_log (sequence, event_id, spec_version, type, source, subject, event_time, occurred_at,
                            data_content_type, schema_version, actor, tenant, plugin, data, traceparent, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17)
     ON CONFLICT DO NOTHING
     RETURNING sequence`,
    [
      sequence,
      event.id,
      event.specversion,
      event.type,
      event.source,
      event.subject,
      event.time,
      event.time,
      event.datacontenttype,
      event.schemaversion,
      event.actor,
      event.tenant,
      pluginOf(event),
      JSON.stringify(event.data ?? null),
      event.traceparent ?? null,
      prevHash,
      hash,
    ],
  );
  if (inserted.length === 1) return;

  const [existing]: { sequence: string; hash: string }[] = await manager.query(
    `SELECT sequence, hash FROM audit_log WHERE sequence = $1 OR event_id = $2 ORDER BY sequence LIMIT 1`,
    [sequence, event.id],
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
