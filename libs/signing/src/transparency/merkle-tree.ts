import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, inclusion paths and consistency proofs, written by
 * hand: npm has verifiers (sigstore's) and in-memory trees, but nothing that builds proofs from a
 * persistent store of subtree hashes, which is what the audit log needs. Pure: no I/O.
 *
 * Leaves are numbered from 0. A stored node `(level, index)` is the hash of the complete subtree of
 * 2^level leaves starting at leaf index·2^level; a tree of any size is made of such nodes.
 */

/** sha256 of the empty string: the root of the empty tree. */
export const EMPTY_TREE_ROOT: Buffer = createHash('sha256').digest();

/** Leaf hash: sha256(0x00 ‖ data). */
export function leafHash(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(Uint8Array.of(0)).update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest();
}

/** Interior node hash: sha256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest();
}

/** The address of a complete subtree: 2^level leaves starting at leaf index·2^level. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** Looks up a stored complete-subtree hash; throws when it is not there. */
export type NodeLookup = (level: number, index: number) => Uint8Array;

/** The largest power of two strictly smaller than n (n > 1): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function assertSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

// Math.log2 is exact on powers of two within safe integers; bit operations stop at 2^31.
function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/**
 * MTH(D[start:end]) from stored nodes: an aligned power-of-two range is one stored node, any other
 * range is split at the largest power of two below its length, exactly as RFC 6962 defines the hash.
 */
export function rangeHash(start: number, end: number, node: NodeLookup): Buffer {
  const size = end - start;
  if (size <= 0) throw new RangeError(`rangeHash: empty range [${start}, ${end})`);
  if (isPowerOfTwo(size) && start % size === 0) return Buffer.from(node(Math.log2(size), start / size));
  const k = splitPoint(size);
  return nodeHash(rangeHash(start, start + k, node), rangeHash(start + k, end, node));
}

/** The stored nodes {@link rangeHash} reads for a range, in the order it reads them. */
export function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  rangeHash(start, end, (level, index) => {
    out.push({ level, index });
    return EMPTY_TREE_ROOT;
  });
  return out;
}

/** A leaf range [start, end) whose MTH is one element of a proof. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/** The ranges whose hashes make PATH(m, D[0:n]) (RFC 6962 §2.1.1), leaf-side first. */
export function inclusionRanges(leafIndex: number, treeSize: number): LeafRange[] {
  assertSize('leaf index', leafIndex);
  assertSize('tree size', treeSize);
  if (leafIndex >= treeSize) throw new RangeError(`leaf index ${leafIndex} is not in a tree of size ${treeSize}`);
  const path = (m: number, start: number, end: number): LeafRange[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k ? [...path(m, start, start + k), { start: start + k, end }] : [...path(m - k, start + k, end), { start, end: start + k }];
  };
  return path(leafIndex, 0, treeSize);
}

/** The ranges whose hashes make PROOF(m, D[0:n]) (RFC 6962 §2.1.2); empty when m is 0 or m equals n. */
export function consistencyRanges(oldSize: number, newSize: number): LeafRange[] {
  assertSize('old size', oldSize);
  assertSize('new size', newSize);
  if (oldSize > newSize) throw new RangeError(`old size ${oldSize} is larger than new size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const subproof = (m: number, start: number, end: number, complete: boolean): LeafRange[] => {
    const n = end - start;
    if (m === n) return complete ? [] : [{ start, end }];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, start, start + k, complete), { start: start + k, end }]
      : [...subproof(m - k, start + k, end, false), { start, end: start + k }];
  };
  return subproof(oldSize, 0, newSize, true);
}

/** The stored nodes needed for the root of a tree of `treeSize` leaves. */
export function rootNodes(treeSize: number): NodeId[] {
  assertSize('tree size', treeSize);
  return treeSize === 0 ? [] : rangeNodes(0, treeSize);
}

/** Root of a tree of `treeSize` leaves from stored nodes. */
export function rootFromNodes(treeSize: number, node: NodeLookup): Buffer {
  assertSize('tree size', treeSize);
  return treeSize === 0 ? Buffer.from(EMPTY_TREE_ROOT) : rangeHash(0, treeSize, node);
}

/** The stored nodes every range of a proof reads (deduplicated), for one lookup query. */
export function nodesOfRanges(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const range of ranges) for (const id of rangeNodes(range.start, range.end)) seen.set(`${id.level}:${id.index}`, id);
  return [...seen.values()];
}

/**
 * The nodes an append of leaf `leafIndex` completes, each with the two children it hashes: level 0
 * is the leaf itself; level l > 0 exists when leafIndex + 1 is a multiple of 2^l.
 */
export function nodesCompletedBy(leafIndex: number): { node: NodeId; left: NodeId; right: NodeId }[] {
  assertSize('leaf index', leafIndex);
  const out: { node: NodeId; left: NodeId; right: NodeId }[] = [];
  for (let level = 1; (leafIndex + 1) % 2 ** level === 0; level += 1) {
    const index = Math.floor(leafIndex / 2 ** level);
    out.push({ node: { level, index }, left: { level: level - 1, index: index * 2 }, right: { level: level - 1, index: index * 2 + 1 } });
  }
  return out;
}

// ---- Naive in-memory reference (RFC 6962 §2.1 recursion over all leaf hashes) ----

/** MTH over leaf hashes, recursively as RFC 6962 writes it. */
export function merkleTreeHash(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return Buffer.from(EMPTY_TREE_ROOT);
  if (leaves.length === 1) return Buffer.from(leaves[0]!);
  const k = splitPoint(leaves.length);
  return nodeHash(merkleTreeHash(leaves.slice(0, k)), merkleTreeHash(leaves.slice(k)));
}

/** PATH(m, D[n]) over leaf hashes held in memory. */
export function inclusionPath(leafIndex: number, leaves: readonly Uint8Array[]): Buffer[] {
  return inclusionRanges(leafIndex, leaves.length).map((r) => merkleTreeHash(leaves.slice(r.start, r.end)));
}

/** PROOF(m, D[n]) over leaf hashes held in memory. */
export function consistencyProof(oldSize: number, leaves: readonly Uint8Array[]): Buffer[] {
  return consistencyRanges(oldSize, leaves.length).map((r) => merkleTreeHash(leaves.slice(r.start, r.end)));
}

// ---- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----

/** What a failed proof verification found. */
export class ProofVerificationError extends Error {
  override readonly name = 'ProofVerificationError';
}

function assertProofSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new ProofVerificationError(`${name} must be a non-negative integer, got ${value}`);
}

/** The root an inclusion path leads to (RFC 9162 §2.1.3.2); throws when the path has the wrong length. */
export function rootFromInclusionPath(leafIndex: number, treeSize: number, leaf: Uint8Array, path: readonly Uint8Array[]): Buffer {
  assertProofSize('leaf index', leafIndex);
  assertProofSize('tree size', treeSize);
  if (leafIndex >= treeSize) throw new ProofVerificationError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) throw new ProofVerificationError('the inclusion path is longer than the tree is deep');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofVerificationError('the inclusion path is shorter than the tree is deep');
  return r;
}

/** Checks an inclusion path against a root; throws {@link ProofVerificationError} saying what failed. */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): void {
  for (const p of path) if (p.length !== 32) throw new ProofVerificationError('an inclusion path hash is not 32 bytes');
  if (leaf.length !== 32 || root.length !== 32) throw new ProofVerificationError('the leaf hash and the root must be 32 bytes');
  const computed = rootFromInclusionPath(leafIndex, treeSize, leaf, path);
  if (!computed.equals(root)) throw new ProofVerificationError(`the inclusion path leads to root ${computed.toString('hex')}, not to ${Buffer.from(root).toString('hex')}`);
}

/** Checks a consistency proof between two roots (RFC 9162 §2.1.4.2); throws {@link ProofVerificationError}. */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): void {
  assertProofSize('old size', oldSize);
  assertProofSize('new size', newSize);
  for (const p of proof) if (p.length !== 32) throw new ProofVerificationError('a consistency proof hash is not 32 bytes');
  if (oldSize > newSize) throw new ProofVerificationError(`old size ${oldSize} is larger than new size ${newSize}`);
  if (oldSize === newSize) {
    if (proof.length !== 0) throw new ProofVerificationError('a proof between equal sizes must be empty');
    if (!Buffer.from(oldRoot).equals(Buffer.from(newRoot))) throw new ProofVerificationError('equal sizes with different roots');
    return;
  }
  if (oldSize === 0) {
    if (proof.length !== 0) throw new ProofVerificationError('a proof from the empty tree must be empty');
    return;
  }
  if (proof.length === 0) throw new ProofVerificationError('the consistency proof is empty');
  const path = [...proof];
  // If the old size is a power of two, the old root is the first node the proof starts from.
  if (isPowerOfTwo(oldSize)) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofVerificationError('the consistency proof is longer than the tree is deep');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofVerificationError('the consistency proof is shorter than the tree is deep');
  if (!fr.equals(Buffer.from(oldRoot))) throw new ProofVerificationError(`the proof leads to old root ${fr.toString('hex')}, not to ${Buffer.from(oldRoot).toString('hex')}`);
  if (!sr.equals(Buffer.from(newRoot))) throw new ProofVerificationError(`the proof leads to new root ${sr.toString('hex')}, not to ${Buffer.from(newRoot).toString('hex')}`);
}
