import type { KeyObject } from 'node:crypto';
import type { CloudEvent } from '@forgeone/contracts';
import { nodeHash, NoteVerificationError, openCheckpoint, ProofVerificationError, verifyConsistency } from '@forgeone/signing';
import { MoreThan, type DataSource } from 'typeorm';
import { AuditLogEntity, type AuditLogRow } from '../entities/read-model.entities.js';
import { auditCheckpoints, auditConsistencyProof, type AuditCheckpoint } from '../queries/transparency-log.queries.js';
import { forgedAuditEvent } from '../writer/forged-event.writer.js';
import { auditHash, GENESIS_HASH } from './audit-chain.js';
import { auditEntryForgedMark, auditEntryToEvent } from './audit-chain.verifier.js';
import { auditEventDigest, auditLeafHash } from './audit-leaf.js';

/** How the first differing row or checkpoint differs. */
export type TransparencyLogFault =
  | 'changed'
  | 'missing'
  | 'inserted'
  | 'reordered'
  | 'checkpoint-signature-invalid'
  | 'checkpoint-root-mismatch'
  | 'checkpoint-inconsistent';

export interface TransparencyLogReport {
  readonly ok: boolean;
  readonly rows: number;
  readonly checkpoints: number;
  readonly fault?: { readonly kind: TransparencyLogFault; readonly sequence?: number; readonly treeSize?: number; readonly message: string };
}

/** A stream message as JetStream holds it, or undefined when the stream has none at that sequence. */
export type StreamMessageReader = (sequence: number) => Promise<Uint8Array | undefined>;

const decoder = new TextDecoder();

/**
 * Verifies the whole audit log as an outsider would, reading rows in pages (memory: one page, the
 * O(log n) frontier of the Merkle tree and a counter per tenant): the hash chain, each row's leaf
 * and per-tenant sequence recomputed, the root at every stored checkpoint's size against the
 * checkpoint, each checkpoint's signature with the pinned key, each stored consistency proof
 * between consecutive checkpoints, and (given `stream`) each row against the stream message at its
 * sequence by event id and digest. Stops at the first fault and names it.
 */
export async function verifyTransparencyLog(
  ds: DataSource,
  options: { readonly publicKey: KeyObject; readonly stream?: StreamMessageReader; readonly batchSize?: number },
): Promise<TransparencyLogReport> {
  const batchSize = options.batchSize ?? 500;
  const repository = ds.getRepository(AuditLogEntity);
  const frontier: { level: number; hash: Buffer }[] = [];
  const tenants = new Map<string, number>();
  let prevHash = GENESIS_HASH;
  let lastSequence = 0;
  let rows = 0;
  let checkpointsSeen = 0;
  let pending: AuditCheckpoint[] = await auditCheckpoints(ds.manager, 0, 100);
  let previousCheckpoint: AuditCheckpoint | undefined;
  const fail = (kind: TransparencyLogFault, message: string, at: { sequence?: number; treeSize?: number } = {}): TransparencyLogReport => ({
    ok: false,
    rows,
    checkpoints: checkpointsSeen,
    fault: { kind, message, ...at },
  });

  const checkCheckpoint = async (checkpoint: AuditCheckpoint): Promise<TransparencyLogReport | undefined> => {
    const root = rootOf(frontier).toString('hex');
    const at = { treeSize: checkpoint.treeSize, sequence: checkpoint.sequence };
    try {
      const body = openCheckpoint(checkpoint.note, checkpoint.origin, options.publicKey);
      if (body.treeSize !== checkpoint.treeSize || body.rootHash.toString('hex') !== checkpoint.rootHash) {
        return fail('checkpoint-signature-invalid', `the signed note of checkpoint ${checkpoint.treeSize} says size ${body.treeSize} and root ${body.rootHash.toString('hex')}, not what is recorded`, at);
      }
    } catch (error) {
      if (error instanceof NoteVerificationError) return fail('checkpoint-signature-invalid', `checkpoint ${checkpoint.treeSize}: ${error.message}`, at);
      throw error;
    }
    if (root !== checkpoint.rootHash) {
      return fail('checkpoint-root-mismatch', `the rows up to leaf ${checkpoint.treeSize - 1} hash to root ${root}, but checkpoint ${checkpoint.treeSize} signed ${checkpoint.rootHash}`, at);
    }
    if (previousCheckpoint) {
      const proof = await auditConsistencyProof(ds, { from: previousCheckpoint.treeSize, to: checkpoint.treeSize });
      try {
        verifyConsistency(previousCheckpoint.treeSize, checkpoint.treeSize, Buffer.from(previousCheckpoint.rootHash, 'hex'), Buffer.from(checkpoint.rootHash, 'hex'), proof.proof.map((h) => Buffer.from(h, 'hex')));
      } catch (error) {
        if (error instanceof ProofVerificationError) return fail('checkpoint-inconsistent', `checkpoint ${checkpoint.treeSize} is not consistent with checkpoint ${previousCheckpoint.treeSize}: ${error.message}`, at);
        throw error;
      }
    }
    previousCheckpoint = checkpoint;
    checkpointsSeen += 1;
    return undefined;
  };

  for (;;) {
    const batch = await repository.find({ where: { sequence: MoreThan(lastSequence) }, order: { sequence: 'ASC' }, take: batchSize });
    if (batch.length === 0) break;
    for (const row of batch) {
      const at = { sequence: row.sequence };
      if (options.stream && row.sequence !== lastSequence + 1) {
        return fail('missing', `the stream's event at sequence ${lastSequence + 1} has no audit row (the next row is at ${row.sequence})`, { sequence: lastSequence + 1 });
      }
      if (row.prevHash !== prevHash) return fail('inserted', `row ${row.sequence} does not link to the row before (prev_hash): a row was removed or inserted before it`, at);
      const event = auditEntryToEvent(row);
      const mark = auditEntryForgedMark(row);
      if (auditHash(prevHash, row.sequence, event, mark) !== row.hash) return fail('changed', `row ${row.sequence} does not match its chain hash: it was changed`, at);
      const tenantSequence = (tenants.get(row.tenant) ?? 0) + 1;
      if (row.leafIndex !== rows || row.tenantSequence !== tenantSequence) {
        return fail('reordered', `row ${row.sequence} is leaf ${row.leafIndex} with tenant sequence ${row.tenantSequence}; in stream order it is leaf ${rows} with tenant sequence ${tenantSequence}`, at);
      }
      const digest = auditEventDigest(event, mark);
      const leaf = auditLeafHash({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence, digest });
      if (leaf !== row.leafHash) return fail('changed', `row ${row.sequence}'s leaf hash is not the hash of its canonical leaf`, at);
      if (options.stream) {
        const fault = await compareWithStream(options.stream, row, digest);
        if (fault) return fail(fault.kind, fault.message, at);
      }
      tenants.set(row.tenant, tenantSequence);
      push(frontier, Buffer.from(leaf, 'hex'));
      prevHash = row.hash;
      lastSequence = row.sequence;
      rows += 1;
      while (pending[0] && pending[0].treeSize <= rows) {
        const checkpoint = pending.shift()!;
        if (checkpoint.treeSize < rows) return fail('checkpoint-root-mismatch', `checkpoint ${checkpoint.treeSize} was passed unchecked`, { treeSize: checkpoint.treeSize });
        const fault = await checkCheckpoint(checkpoint);
        if (fault) return fault;
        if (pending.length === 0) pending = await auditCheckpoints(ds.manager, checkpoint.treeSize, 100);
      }
    }
  }
  if (pending.length > 0) {
    return fail('checkpoint-root-mismatch', `checkpoint ${pending[0]!.treeSize} covers more rows than the audit log holds (${rows}): rows were removed`, { treeSize: pending[0]!.treeSize });
  }
  return { ok: true, rows, checkpoints: checkpointsSeen };
}

async function compareWithStream(stream: StreamMessageReader, row: AuditLogRow, digest: string): Promise<{ kind: TransparencyLogFault; message: string } | undefined> {
  const payload = await stream(row.sequence);
  if (!payload) return { kind: 'inserted', message: `row ${row.sequence} has no message in the stream at that sequence: it was inserted` };
  const mark = auditEntryForgedMark(row);
  let streamed: CloudEvent;
  if (mark) streamed = forgedAuditEvent(row.sequence, payload);
  else {
    try {
      streamed = JSON.parse(decoder.decode(payload)) as CloudEvent;
    } catch {
      return { kind: 'changed', message: `row ${row.sequence} is a genuine event, but the stream's message there is not JSON` };
    }
  }
  if (streamed.id !== row.eventId) {
    const next = await stream(row.sequence + 1);
    const nextId = next ? safeId(next) : undefined;
    return nextId === row.eventId
      ? { kind: 'reordered', message: `row ${row.sequence} holds event ${row.eventId}, which the stream has at sequence ${row.sequence + 1}` }
      : { kind: 'inserted', message: `row ${row.sequence} holds event ${row.eventId}, but the stream has event ${streamed.id} there` };
  }
  if (auditEventDigest(streamed, mark) !== digest) return { kind: 'changed', message: `row ${row.sequence} (event ${row.eventId}) differs from the stream's event at that sequence: it was changed` };
  return undefined;
}

function safeId(payload: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(decoder.decode(payload)) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

// The compact frontier of an append-only RFC 6962 tree: complete subtrees, largest (leftmost) first.
function push(frontier: { level: number; hash: Buffer }[], leaf: Buffer): void {
  let node = { level: 0, hash: leaf };
  while (frontier.length && frontier[frontier.length - 1]!.level === node.level) {
    const left = frontier.pop()!;
    node = { level: node.level + 1, hash: nodeHash(left.hash, node.hash) };
  }
  frontier.push(node);
}

function rootOf(frontier: readonly { level: number; hash: Buffer }[]): Buffer {
  let acc = frontier[frontier.length - 1]!.hash;
  for (let i = frontier.length - 2; i >= 0; i -= 1) acc = nodeHash(frontier[i]!.hash, acc);
  return acc;
}
