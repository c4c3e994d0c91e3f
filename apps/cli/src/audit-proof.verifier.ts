import type { KeyObject } from 'node:crypto';
import { ForgeOneError } from '@forgeone/contracts';
import { keyIdOf, leafHash, NoteVerificationError, openCheckpoint, parseCheckpointText, ProofVerificationError, verifyInclusion } from '@forgeone/signing';
import type { AuditCheckpointReply, AuditInclusionProofReply } from './api-client.js';

/** What `audit prove` established. */
export interface ProofReport {
  readonly sequence: number;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly origin: string;
  /** The checkpoint's signature was checked with a pinned key (its fingerprint), or not at all. */
  readonly signature: { readonly verified: true; readonly keyId: string } | { readonly verified: false; readonly reason: string };
  /** The leaf as the log states it: stream sequence, event id, subject, tenant, tenant sequence, digest. */
  readonly leaf: Record<string, unknown>;
}

const invalidProof = (message: string, details?: Record<string, unknown>) => new ForgeOneError('AUDIT.PROOF_INVALID', message, details);
const invalidCheckpoint = (message: string, details?: Record<string, unknown>) => new ForgeOneError('AUDIT.CHECKPOINT_INVALID', message, details);

/**
 * Checks a checkpoint as served: its note's size and root are the ones the reply states and, with
 * a pinned key, the note's signature verifies with that key (and the key is the one whose
 * fingerprint the checkpoint names). Without a key only the first part is checked.
 */
export function checkCheckpoint(checkpoint: AuditCheckpointReply, pinned?: KeyObject): ProofReport['signature'] {
  let body;
  try {
    body = pinned ? openCheckpoint(checkpoint.note, checkpoint.origin, pinned) : parseCheckpointText(checkpoint.note.slice(0, checkpoint.note.lastIndexOf('\n\n') + 1));
  } catch (error) {
    if (error instanceof NoteVerificationError) throw invalidCheckpoint(`the checkpoint of tree size ${checkpoint.treeSize} does not verify: ${error.message}`, { treeSize: checkpoint.treeSize });
    throw error;
  }
  if (body.treeSize !== checkpoint.treeSize || body.rootHash.toString('hex') !== checkpoint.rootHash) {
    throw invalidCheckpoint(`the checkpoint note says tree size ${body.treeSize} and root ${body.rootHash.toString('hex')}, but the reply says ${checkpoint.treeSize} and ${checkpoint.rootHash}`);
  }
  if (!pinned) return { verified: false, reason: 'no pinned audit key: give --key <public.pem> or pin one with forgeone audit key --pin' };
  const keyId = keyIdOf(pinned);
  return { verified: true, keyId };
}

/** Verifies an inclusion proof as served for row `sequence`: leaf, path, and the checkpoint (with `pinned`, its signature). */
export function verifyInclusionReply(sequence: number, proof: AuditInclusionProofReply, pinned?: KeyObject): ProofReport {
  let leaf: Record<string, unknown>;
  try {
    leaf = JSON.parse(proof.leaf) as Record<string, unknown>;
  } catch {
    throw invalidProof(`the leaf of row ${sequence} is not JSON`);
  }
  if (leaf['sequence'] !== sequence) throw invalidProof(`the proof is for stream sequence ${String(leaf['sequence'])}, not ${sequence}`);
  const computed = leafHash(proof.leaf);
  if (computed.toString('hex') !== proof.leafHash) throw invalidProof(`the leaf of row ${sequence} hashes to ${computed.toString('hex')}, not to the stated ${proof.leafHash}`);
  if (proof.treeSize !== proof.checkpoint.treeSize) throw invalidProof(`the proof is for tree size ${proof.treeSize} but the checkpoint is of size ${proof.checkpoint.treeSize}`);
  const signature = checkCheckpoint(proof.checkpoint, pinned);
  try {
    verifyInclusion(proof.leafIndex, proof.treeSize, computed, proof.path.map((h) => Buffer.from(h, 'hex')), Buffer.from(proof.checkpoint.rootHash, 'hex'));
  } catch (error) {
    if (error instanceof ProofVerificationError) throw invalidProof(`row ${sequence} is not proven in the checkpoint of tree size ${proof.treeSize}: ${error.message}`, { sequence, treeSize: proof.treeSize });
    throw error;
  }
  return { sequence, leafIndex: proof.leafIndex, treeSize: proof.treeSize, rootHash: proof.checkpoint.rootHash, origin: proof.checkpoint.origin, signature, leaf };
}
