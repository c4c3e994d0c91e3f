import { ForgeOneError, type AuditCheckpointSigned } from '@forgeone/contracts';
import { consistencyRanges, inclusionRanges, nodesOfRanges, rangeHash, rootFromNodes, rootNodes } from '@forgeone/signing';
import type { DataSource, EntityManager } from 'typeorm';
import { auditEntryForgedMark, auditEntryToEvent } from '../audit/audit-chain.verifier.js';
import { auditEventDigest, auditLeafText, type AuditLeaf } from '../audit/audit-leaf.js';
import { readNodes } from '../audit/merkle-node.store.js';
import { AuditLogEntity } from '../entities/read-model.entities.js';

type Queryable = Pick<EntityManager, 'query'>;

/** One signed checkpoint of the audit log, as projected. */
export interface AuditCheckpoint {
  readonly treeSize: number;
  readonly rootHash: string;
  readonly origin: string;
  readonly keyId: string;
  /** base64 SPKI DER of the key that signed it. */
  readonly publicKey: string;
  readonly note: string;
  readonly signedAt: string;
  /** Stream sequence of the checkpoint event. */
  readonly sequence: number;
}

/** Leaves in the audit log's Merkle tree (audit rows written). */
export async function auditTreeSize(db: Queryable): Promise<number> {
  const [row]: { size: string }[] = await db.query(`SELECT coalesce(max(leaf_index) + 1, 0) AS size FROM audit_log`);
  return Number(row?.size ?? 0);
}

/** Root hash (hex) of the first `treeSize` leaves, from O(log n) stored nodes in one query. */
export async function auditTreeRoot(db: Queryable, treeSize: number): Promise<string> {
  return rootFromNodes(treeSize, await readNodes(db, rootNodes(treeSize))).toString('hex');
}

/** Leaves added since the checkpoint of `treeSize` other than checkpoint events themselves. */
export async function auditLeavesBesides(db: Queryable, fromLeaf: number, excludedType: string): Promise<number> {
  const [row]: { count: string }[] = await db.query(`SELECT count(*) AS count FROM audit_log WHERE leaf_index >= $1 AND type <> $2`, [fromLeaf, excludedType]);
  return Number(row?.count ?? 0);
}

const CHECKPOINT_COLUMNS = `tree_size, root_hash, origin, key_id, public_key, note, signed_at, sequence`;
interface CheckpointRecord {
  tree_size: string;
  root_hash: string;
  origin: string;
  key_id: string;
  public_key: string;
  note: string;
  signed_at: Date | string;
  sequence: string;
}
const checkpointOf = (row: CheckpointRecord): AuditCheckpoint => ({
  treeSize: Number(row.tree_size),
  rootHash: row.root_hash,
  origin: row.origin,
  keyId: row.key_id,
  publicKey: row.public_key,
  note: row.note,
  signedAt: new Date(row.signed_at).toISOString(),
  sequence: Number(row.sequence),
});

/** Projects a checkpoint event (inside the event's transaction); a replay of the same checkpoint changes nothing. */
export async function recordAuditCheckpoint(manager: EntityManager, sequence: number, data: AuditCheckpointSigned): Promise<void> {
  await manager.query(
    `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [data.treeSize, data.rootHash, data.origin, data.keyId, data.publicKey, data.note, data.signedAt, sequence],
  );
}

/** The latest checkpoint, or the one of tree size `treeSize`; undefined when there is none. */
export async function auditCheckpoint(db: Queryable, treeSize?: number): Promise<AuditCheckpoint | undefined> {
  const rows: CheckpointRecord[] =
    treeSize === undefined
      ? await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1`)
      : await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size = $1`, [treeSize]);
  return rows[0] ? checkpointOf(rows[0]) : undefined;
}

/** Checkpoints in tree-size order after `afterSize`, at most `limit`. */
export async function auditCheckpoints(db: Queryable, afterSize: number, limit: number): Promise<AuditCheckpoint[]> {
  const rows: CheckpointRecord[] = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`, [afterSize, limit]);
  return rows.map(checkpointOf);
}

function requireCheckpoint(found: AuditCheckpoint | undefined, treeSize?: number): AuditCheckpoint {
  if (found) return found;
  throw new ForgeOneError(
    'QUERY.NOT_FOUND',
    treeSize === undefined ? 'the audit log has no signed checkpoint yet: the audit-projector signs one after its first events' : `there is no signed checkpoint of tree size ${treeSize}`,
    treeSize === undefined ? {} : { treeSize },
  );
}

/** An audit row's leaf and its inclusion path in a signed checkpoint. */
export interface AuditInclusionProof {
  readonly sequence: number;
  /** The leaf's canonical form: hash it as sha256(0x00 ‖ UTF-8) to get the leaf hash. */
  readonly leaf: string;
  readonly leafHash: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Hex hashes, leaf side first (RFC 9162 §2.1.3). */
  readonly path: readonly string[];
  readonly checkpoint: AuditCheckpoint;
}

/**
 * The inclusion proof of the tenant's audit row at stream `sequence` in the latest checkpoint (or
 * the one of `treeSize`). A row of another tenant is not found, as a row that does not exist: a
 * tenant learns nothing of other tenants' rows.
 */
export async function auditInclusionProof(ds: DataSource, query: { tenant: string; sequence: number; treeSize?: number }): Promise<AuditInclusionProof> {
  if (!Number.isSafeInteger(query.sequence) || query.sequence < 1) throw new ForgeOneError('QUERY.INVALID', `sequence must be a positive integer, got ${query.sequence}`);
  const row = await ds.getRepository(AuditLogEntity).findOneBy({ sequence: query.sequence, tenant: query.tenant });
  if (!row) throw new ForgeOneError('QUERY.NOT_FOUND', `the audit log of your tenant has no row at stream sequence ${query.sequence}`, { sequence: query.sequence });
  const checkpoint = requireCheckpoint(await auditCheckpoint(ds.manager, query.treeSize), query.treeSize);
  if (row.leafIndex >= checkpoint.treeSize) {
    throw new ForgeOneError('QUERY.NOT_FOUND', `the row at stream sequence ${query.sequence} came after the checkpoint of tree size ${checkpoint.treeSize}: wait for the next checkpoint`, {
      sequence: query.sequence,
      treeSize: checkpoint.treeSize,
    });
  }
  const leaf: AuditLeaf = {
    sequence: row.sequence,
    eventId: row.eventId,
    subject: row.subject,
    tenant: row.tenant,
    tenantSequence: row.tenantSequence,
    digest: auditEventDigest(auditEntryToEvent(row), auditEntryForgedMark(row)),
  };
  const ranges = inclusionRanges(row.leafIndex, checkpoint.treeSize);
  const lookup = await readNodes(ds.manager, nodesOfRanges(ranges));
  return {
    sequence: row.sequence,
    leaf: auditLeafText(leaf),
    leafHash: row.leafHash,
    leafIndex: row.leafIndex,
    treeSize: checkpoint.treeSize,
    path: ranges.map((r) => rangeHash(r.start, r.end, lookup).toString('hex')),
    checkpoint,
  };
}

/** A consistency proof between two signed checkpoints. */
export interface AuditConsistencyProof {
  readonly from: AuditCheckpoint;
  readonly to: AuditCheckpoint;
  /** Hex hashes (RFC 9162 §2.1.4). */
  readonly proof: readonly string[];
}

/** The consistency proof from the checkpoint of size `from` to the one of size `to` (the latest by default). */
export async function auditConsistencyProof(ds: DataSource, query: { from: number; to?: number }): Promise<AuditConsistencyProof> {
  if (!Number.isSafeInteger(query.from) || query.from < 1) throw new ForgeOneError('QUERY.INVALID', `from must be a positive tree size, got ${query.from}`);
  if (query.to !== undefined && (!Number.isSafeInteger(query.to) || query.to < query.from)) {
    throw new ForgeOneError('QUERY.INVALID', `to must be a tree size at least from (${query.from}), got ${query.to}`);
  }
  const from = requireCheckpoint(await auditCheckpoint(ds.manager, query.from), query.from);
  const to = requireCheckpoint(await auditCheckpoint(ds.manager, query.to), query.to);
  if (to.treeSize < from.treeSize) throw new ForgeOneError('QUERY.INVALID', `the latest checkpoint (tree size ${to.treeSize}) is older than from (${from.treeSize})`);
  const ranges = consistencyRanges(from.treeSize, to.treeSize);
  const lookup = await readNodes(ds.manager, nodesOfRanges(ranges));
  return { from, to, proof: ranges.map((r) => rangeHash(r.start, r.end, lookup).toString('hex')) };
}
