import { nodeHash, nodesCompletedBy, type NodeId, type NodeLookup } from '@forgeone/signing';
import type { EntityManager } from 'typeorm';

/**
 * The audit log's Merkle tree in `audit_merkle_nodes`: one row per complete subtree (level, index,
 * hex hash), written in the audit row's transaction, so a root of any size or a proof needs one
 * query for its O(log n) nodes.
 */

/** Complete subtrees as the `audit_merkle_nodes` insert takes them. */
export interface MerkleNodeRows {
  readonly levels: number[];
  readonly indexes: number[];
  readonly hashes: string[];
}

/**
 * Stores leaf `leafIndex` and every subtree it completes (one read of the left siblings, one
 * insert). `written` holds the nodes already written in this transaction: left siblings found
 * there are not read again, and the new nodes are added to it.
 */
export async function appendMerkleLeaf(manager: EntityManager, leafIndex: number, leafHashHex: string, written?: Map<string, Buffer>): Promise<void> {
  await insertMerkleNodes(manager, await merkleNodesOf(manager, leafIndex, leafHashHex, written));
}

/** Leaf `leafIndex` and the subtrees it completes, computed but not stored; see {@link appendMerkleLeaf}. */
export async function merkleNodesOf(manager: EntityManager, leafIndex: number, leafHashHex: string, written?: Map<string, Buffer>): Promise<MerkleNodeRows> {
  const completed = nodesCompletedBy(leafIndex);
  const missing = completed.map((c) => c.left).filter((id) => !written?.has(`${id.level}:${id.index}`));
  const stored = missing.length ? await readNodes(manager, missing) : undefined;
  const lefts = (level: number, index: number): Uint8Array => written?.get(`${level}:${index}`) ?? stored!(level, index);
  const levels: number[] = [0];
  const indexes: number[] = [leafIndex];
  const hashes: string[] = [leafHashHex];
  let right: Buffer = Buffer.from(leafHashHex, 'hex');
  written?.set(`0:${leafIndex}`, right);
  for (const { node, left } of completed) {
    right = nodeHash(lefts(left.level, left.index), right);
    written?.set(`${node.level}:${node.index}`, right);
    levels.push(node.level);
    indexes.push(node.index);
    hashes.push(right.toString('hex'));
  }
  return { levels, indexes, hashes };
}

/** Inserts the nodes in one statement. */
export async function insertMerkleNodes(manager: EntityManager, nodes: MerkleNodeRows): Promise<void> {
  if (nodes.levels.length === 0) return;
  await manager.query(
    `INSERT INTO audit_merkle_nodes (level, index, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::text[])`,
    [nodes.levels, nodes.indexes, nodes.hashes],
  );
}

/** Reads the given nodes in one query; the lookup throws naming a node that is not stored. */
export async function readNodes(manager: Pick<EntityManager, 'query'>, ids: readonly NodeId[]): Promise<NodeLookup> {
  const found = new Map((await readStoredNodes(manager, ids)).map((node) => [`${node.level}:${node.index}`, node.hash]));
  return (level, index) => {
    const hash = found.get(`${level}:${index}`);
    if (!hash) throw new Error(`the audit log's Merkle tree has no node at level ${level}, index ${index}: the tree is incomplete`);
    return hash;
  };
}

/** The given nodes that are stored, read in one query. */
export async function readStoredNodes(manager: Pick<EntityManager, 'query'>, ids: readonly NodeId[]): Promise<{ level: number; index: number; hash: Buffer }[]> {
  if (ids.length === 0) return [];
  const rows: { level: number; index: string; hash: string }[] = await manager.query(
    `SELECT n.level, n.index, n.hash FROM audit_merkle_nodes n JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, index) ON n.level = w.level AND n.index = w.index`,
    [ids.map((id) => id.level), ids.map((id) => id.index)],
  );
  return rows.map((row) => ({ level: Number(row.level), index: Number(row.index), hash: Buffer.from(row.hash, 'hex') }));
}
