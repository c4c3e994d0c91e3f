import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  inclusionPath,
  leafHash,
  merkleTreeHash,
  nodeHash,
  nodesCompletedBy,
  ProofVerificationError,
  rootFromNodes,
  verifyConsistency,
  verifyInclusion,
  EMPTY_TREE_ROOT,
  consistencyRanges,
  inclusionRanges,
  rangeHash,
} from './merkle-tree.js';

// RFC 6962 test vectors as published with transparency-dev/merkle (proof/verify_test.go): eight
// leaves, the roots of every prefix, and known inclusion and consistency proofs (leaf numbers 1-based there).
const hex = (h: string) => Buffer.from(h, 'hex');
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  { leaf: 1, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { leaf: 6, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { leaf: 2, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const leafHashes = LEAVES.map((l) => leafHash(l));

/** A store of complete-subtree hashes filled as an append would fill it. */
function storedTree(hashes: readonly Uint8Array[]): Map<string, Buffer> {
  const nodes = new Map<string, Buffer>();
  hashes.forEach((hash, i) => {
    nodes.set(`0:${i}`, Buffer.from(hash));
    for (const { node, left, right } of nodesCompletedBy(i)) {
      nodes.set(`${node.level}:${node.index}`, nodeHash(nodes.get(`${left.level}:${left.index}`)!, nodes.get(`${right.level}:${right.index}`)!));
    }
  });
  return nodes;
}
const lookupIn = (nodes: Map<string, Buffer>) => (level: number, index: number) => {
  const found = nodes.get(`${level}:${index}`);
  if (!found) throw new Error(`node ${level}:${index} is not stored`);
  return found;
};

describe('merkle tree - RFC 6962 vectors', () => {
  it('hashes the empty tree as sha256 of nothing', () => {
    expect(merkleTreeHash([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(EMPTY_TREE_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('computes the root of every prefix, in memory and from stored nodes', () => {
    const nodes = storedTree(leafHashes);
    for (let size = 1; size <= 8; size += 1) {
      expect(merkleTreeHash(leafHashes.slice(0, size)).toString('hex'), `size ${size}`).toBe(ROOTS[size - 1]!.toString('hex'));
      expect(rootFromNodes(size, lookupIn(nodes)).toString('hex'), `stored size ${size}`).toBe(ROOTS[size - 1]!.toString('hex'));
    }
  });

  it.each(INCLUSION)('builds and verifies the inclusion proof of leaf $leaf in size $size', ({ leaf, size, proof }) => {
    const path = inclusionPath(leaf - 1, leafHashes.slice(0, size));
    expect(path.map((p) => p.toString('hex'))).toEqual(proof);
    expect(() => verifyInclusion(leaf - 1, size, leafHashes[leaf - 1]!, path, ROOTS[size - 1]!)).not.toThrow();
  });

  it.each(CONSISTENCY)('builds and verifies the consistency proof $size1 → $size2', ({ size1, size2, proof }) => {
    const built = consistencyProof(size1, leafHashes.slice(0, size2));
    expect(built.map((p) => p.toString('hex'))).toEqual(proof);
    expect(() => verifyConsistency(size1, size2, ROOTS[size1 - 1]!, ROOTS[size2 - 1]!, built)).not.toThrow();
  });
});

describe('merkle tree - refusing wrong proofs', () => {
  const flip = (b: Uint8Array) => {
    const c = Buffer.from(b);
    c[0]! ^= 8;
    return c;
  };
  it.each(INCLUSION.filter((v) => v.proof.length > 0))('refuses altered inclusion proofs of leaf $leaf in size $size', ({ leaf, size, proof }) => {
    const path = proof.map(hex);
    const root = ROOTS[size - 1]!;
    const leafH = leafHashes[leaf - 1]!;
    const probes: [string, () => void][] = [
      ['index - 1', () => verifyInclusion(leaf - 2, size, leafH, path, root)],
      ['index + 1', () => verifyInclusion(leaf, size, leafH, path, root)],
      ['size * 2', () => verifyInclusion(leaf - 1, size * 2, leafH, path, root)],
      ['wrong leaf', () => verifyInclusion(leaf - 1, size, leafHash('WrongLeaf'), path, root)],
      ['empty root', () => verifyInclusion(leaf - 1, size, leafH, path, EMPTY_TREE_ROOT)],
      ['trailing root', () => verifyInclusion(leaf - 1, size, leafH, [...path, root], root)],
      ['preceding root', () => verifyInclusion(leaf - 1, size, leafH, [root, ...path], root)],
      ['removed component', () => verifyInclusion(leaf - 1, size, leafH, path.slice(0, -1), root)],
      ...path.map((_, i): [string, () => void] => [`bit flip in ${i}`, () => verifyInclusion(leaf - 1, size, leafH, path.map((p, j) => (i === j ? flip(p) : p)), root)]),
    ];
    for (const [name, probe] of probes) expect(probe, name).toThrow(ProofVerificationError);
  });

  it.each(CONSISTENCY.filter((v) => v.proof.length > 0))('refuses altered consistency proofs $size1 → $size2', ({ size1, size2, proof }) => {
    const p = proof.map(hex);
    const r1 = ROOTS[size1 - 1]!;
    const r2 = ROOTS[size2 - 1]!;
    const probes: [string, () => void][] = [
      ['size1 + 1', () => verifyConsistency(size1 + 1, size2, r1, r2, p)],
      ['size2 * 2', () => verifyConsistency(size1, size2 * 2, r1, r2, p)],
      ['swapped roots', () => verifyConsistency(size1, size2, r2, r1, p)],
      ['empty proof', () => verifyConsistency(size1, size2, r1, r2, [])],
      ['trailing root', () => verifyConsistency(size1, size2, r1, r2, [...p, r2])],
      ['preceding root', () => verifyConsistency(size1, size2, r1, r2, [r1, ...p])],
      ['truncated', () => verifyConsistency(size1, size2, r1, r2, p.slice(0, -1))],
      ...p.map((_, i): [string, () => void] => [`bit flip in ${i}`, () => verifyConsistency(size1, size2, r1, r2, p.map((h, j) => (i === j ? flip(h) : h)))]),
    ];
    for (const [name, probe] of probes) expect(probe, name).toThrow(ProofVerificationError);
  });

  it('refuses a leaf index at or beyond the tree size, and sizes that go backwards', () => {
    expect(() => verifyInclusion(0, 0, leafHashes[0]!, [], ROOTS[0]!)).toThrow(ProofVerificationError);
    expect(() => verifyInclusion(1, 1, leafHashes[0]!, [], ROOTS[0]!)).toThrow(ProofVerificationError);
    expect(() => verifyConsistency(2, 1, ROOTS[1]!, ROOTS[0]!, [])).toThrow(ProofVerificationError);
    expect(() => inclusionRanges(3, 3)).toThrow(RangeError);
    expect(() => consistencyRanges(4, 3)).toThrow(RangeError);
  });
});

describe('merkle tree - stored nodes agree with the naive recursion', () => {
  // The naive side recomputes whole subtrees for every proof, so this is quadratic in the size: 40 covers
  // every shape of split up to 32 and the first sizes past it.
  it('for every size up to 40, every inclusion path and every consistency proof', { timeout: 60_000 }, () => {
    const hashes = Array.from({ length: 40 }, (_, i) => leafHash(`leaf ${i}`));
    const nodes = storedTree(hashes);
    const lookup = lookupIn(nodes);
    for (let size = 1; size <= hashes.length; size += 1) {
      const leaves = hashes.slice(0, size);
      const root = merkleTreeHash(leaves);
      expect(rootFromNodes(size, lookup).equals(root)).toBe(true);
      for (let m = 0; m < size; m += 1) {
        const stored = inclusionRanges(m, size).map((r) => rangeHash(r.start, r.end, lookup));
        expect(stored).toEqual(inclusionPath(m, leaves));
        verifyInclusion(m, size, leaves[m]!, stored, root);
      }
      for (let old = 1; old <= size; old += 1) {
        const stored = consistencyRanges(old, size).map((r) => rangeHash(r.start, r.end, lookup));
        expect(stored).toEqual(consistencyProof(old, leaves));
        verifyConsistency(old, size, merkleTreeHash(hashes.slice(0, old)), root, stored);
      }
    }
  });
});
