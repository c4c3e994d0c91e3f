import type { CloudEvent } from '@forgeone/contracts';
import { MoreThan, type DataSource } from 'typeorm';
import { AuditLogEntity, type AuditLogRow } from '../entities/read-model.entities.js';
import { auditHash, GENESIS_HASH } from './audit-chain.js';

/** Rebuilds the CloudEvent an audit row recorded, exactly as it was hashed. */
export function auditEntryToEvent(row: AuditLogRow): CloudEvent {
  return {
    specversion: row.specVersion as '1.0',
    id: row.eventId,
    source: row.source,
    type: row.type,
    subject: row.subject,
    time: row.eventTime,
    datacontenttype: row.dataContentType as 'application/json',
    data: row.data,
    actor: row.actor,
    tenant: row.tenant,
    ...(row.traceparent !== null ? { traceparent: row.traceparent } : {}),
    schemaversion: row.schemaVersion,
  };
}

export interface AuditChainReport {
  /** True when every row's prev_hash and hash match the recomputed chain. */
  readonly ok: boolean;
  /** Rows checked (all of them when ok; up to and including the first bad one otherwise). */
  readonly rows: number;
  /** Sequence of the first row whose content or link does not match. */
  readonly firstBadSequence?: number;
  readonly reason?: string;
  /** Tip of a verified chain, for cross-checks against the stream and signed checkpoints. */
  readonly lastSequence?: number;
  readonly lastHash?: string;
}

/**
 * Recomputes the audit log's hash chain from the first row and reports the first row that was
 * changed, removed or inserted out of order. Reads in pages of `batchSize` rows.
 */
export async function verifyAuditChain(ds: DataSource, options: { batchSize?: number } = {}): Promise<AuditChainReport> {
  const repository = ds.getRepository(AuditLogEntity);
  const batchSize = options.batchSize ?? 1000;
  let prevHash = GENESIS_HASH;
  let lastSequence = 0;
  let rows = 0;
  for (;;) {
    const batch = await repository.find({ where: { sequence: MoreThan(lastSequence) }, order: { sequence: 'ASC' }, take: batchSize });
    if (batch.length === 0) break;
    for (const row of batch) {
      rows += 1;
      if (row.prevHash !== prevHash) {
        return {
          ok: false,
          rows,
          firstBadSequence: row.sequence,
          reason: `prev_hash does not link to the row before (sequence ${lastSequence || 'none'}): a row was removed, inserted or changed`,
        };
      }
      if (auditHash(prevHash, row.sequence, auditEntryToEvent(row)) !== row.hash) {
        return { ok: false, rows, firstBadSequence: row.sequence, reason: 'the row content does not match its hash: the row was changed' };
      }
      prevHash = row.hash;
      lastSequence = row.sequence;
    }
  }
  return rows === 0 ? { ok: true, rows } : { ok: true, rows, lastSequence, lastHash: prevHash };
}
