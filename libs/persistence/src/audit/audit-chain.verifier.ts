import type { CloudEvent } from '@forgeone/contracts';
import { MoreThan, type DataSource } from 'typeorm';
import { AuditLogEntity, type AuditLogRow } from '../entities/read-model.entities.js';
import { auditHash, GENESIS_HASH, type ForgedMark } from './audit-chain.js';

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

/** The forged mark of an audit row, as hashed; undefined for a genuine row. */
export function auditEntryForgedMark(row: AuditLogRow): ForgedMark | undefined {
  if (row.forged === null) return undefined;
  return { reason: row.forged, writer: row.forgedDetail?.writer ?? null, subject: row.forgedDetail?.subject ?? '' };
}

/** At most this many forged sequences are listed in a report; `forged.count` counts them all. */
export const REPORTED_FORGED_SEQUENCES = 100;

export interface AuditChainReport {
  /** True when every row's prev_hash and hash match the recomputed chain. */
  readonly ok: boolean;
  /** Rows checked (all of them when ok; up to and including the first bad one otherwise). */
  readonly rows: number;
  /**
   * Rows of events their aggregate's owner did not write (forged, unsigned, replayed): they stay in
   * the chain and are reported here, never projected. The first 100 sequences are listed.
   */
  readonly forged: { readonly count: number; readonly sequences: readonly number[] };
  /** Sequence of the first row whose content or link does not match. */
  readonly firstBadSequence?: number;
  readonly reason?: string;
  /** Tip of a verified chain, for cross-checks against the stream and signed checkpoints. */
  readonly lastSequence?: number;
  readonly lastHash?: string;
}

/**
 * Recomputes the audit log's hash chain from the first row and reports the first row that was
 * changed, removed or inserted out of order, and the rows marked forged. Reads in pages of
 * `batchSize` rows.
 */
export async function verifyAuditChain(ds: DataSource, options: { batchSize?: number } = {}): Promise<AuditChainReport> {
  const repository = ds.getRepository(AuditLogEntity);
  const batchSize = options.batchSize ?? 1000;
  let prevHash = GENESIS_HASH;
  let lastSequence = 0;
  let rows = 0;
  const forged = { count: 0, sequences: [] as number[] };
  for (;;) {
    const batch = await repository.find({ where: { sequence: MoreThan(lastSequence) }, order: { sequence: 'ASC' }, take: batchSize });
    if (batch.length === 0) break;
    for (const row of batch) {
      rows += 1;
      if (row.prevHash !== prevHash) {
        return {
          ok: false,
          rows,
          forged,
          firstBadSequence: row.sequence,
          reason: `prev_hash does not link to the row before (sequence ${lastSequence || 'none'}): a row was removed, inserted or changed`,
        };
      }
      if (auditHash(prevHash, row.sequence, auditEntryToEvent(row), auditEntryForgedMark(row)) !== row.hash) {
        return { ok: false, rows, forged, firstBadSequence: row.sequence, reason: 'the row content does not match its hash: the row was changed' };
      }
      if (row.forged !== null) {
        forged.count += 1;
        if (forged.sequences.length < REPORTED_FORGED_SEQUENCES) forged.sequences.push(row.sequence);
      }
      prevHash = row.hash;
      lastSequence = row.sequence;
    }
  }
  return rows === 0 ? { ok: true, rows, forged } : { ok: true, rows, forged, lastSequence, lastHash: prevHash };
}
