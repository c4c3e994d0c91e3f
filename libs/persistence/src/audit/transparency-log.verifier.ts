import type { KeyObject } from 'node:crypto';
import { canonicalJson, type CloudEvent } from '@forgeone/contracts';
import { nodeHash, NoteVerificationError, openCheckpoint, ProofVerificationError, rootNodes, verifyConsistency } from '@forgeone/signing';
import { LessThan, type DataSource } from 'typeorm';
import { AuditLogEntity, type AuditLogRow } from '../entities/read-model.entities.js';
import { auditCheckpoint, auditCheckpoints, auditConsistencyProof, auditTreeRoot, type AuditCheckpoint } from '../queries/transparency-log.queries.js';
import { readNodes } from './merkle-node.store.js';
import { forgedAuditEvent } from '../writer/forged-event.writer.js';
import { auditHashOfCanonical, GENESIS_HASH, type ForgedMark } from './audit-chain.js';
import { auditEntryForgedMark, auditEntryToEvent } from './audit-chain.verifier.js';
import { auditEventDigestOfCanonical, auditLeafHash } from './audit-leaf.js';

/** How the first differing row or checkpoint differs. */
export type TransparencyLogFault =
  | 'changed'
  | 'missing'
  | 'inserted'
  | 'reordered'
  | 'checkpoint-signature-invalid'
  | 'checkpoint-root-mismatch'
  | 'checkpoint-inconsistent'
  | 'forged';

export interface TransparencyLogReport {
  readonly ok: boolean;
  /** Rows checked (within `from`..`to`). */
  readonly rows: number;
  /** Stored checkpoints whose root, signature and consistency were checked. */
  readonly checkpoints: number;
  /** Checkpoints kept outside the platform (given by the caller) that were checked. */
  readonly externalCheckpoints: number;
  /** Stream sequences of the first and last row checked; absent when no row was in range. */
  readonly range?: { readonly from: number; readonly to: number };
  readonly fault?: { readonly kind: TransparencyLogFault; readonly sequence?: number; readonly treeSize?: number; readonly message: string };
}

/** A stream message's payload as JetStream holds it and, when the reader verified it, whether its aggregate's owner wrote it. */
export interface StreamMessage {
  readonly data: Uint8Array;
  /** The reader's verdict with the pinned event-writer keys (the check every event reader makes before parsing). */
  readonly authorship?: { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };
}

/** The stream message at a sequence, or undefined when the stream has none there. */
export type StreamMessageReader = (sequence: number) => Promise<StreamMessage | undefined>;

/** A signed checkpoint kept outside the platform (as `audit checkpoint --json` prints it): its note is checked with the pinned key. */
export interface ExternalCheckpoint {
  readonly origin: string;
  readonly note: string;
}

export interface TransparencyLogVerifyOptions {
  /** The pinned audit key: never one read from the platform being verified. */
  readonly publicKey: KeyObject;
  /** Compare every row with the stream's message at its sequence (event id and digest). */
  readonly stream?: StreamMessageReader;
  /**
   * Every stream message must carry the reader's authorship verdict: a genuine row's message must be
   * its owner's, a row recorded as forged must be refused for the reason recorded (a replay is a genuine
   * message seen again, so it must verify). A message without a verdict is an error.
   */
  readonly authorship?: boolean;
  /** Rows a page (default 2000): the next page is read while one is checked. */
  readonly batchSize?: number;
  /** First stream sequence to check (default 1): the chain, tree and tenant counts before it are taken from the rows and tree nodes stored before it. */
  readonly from?: number;
  /** Last stream sequence to check (default: the last row). */
  readonly to?: number;
  readonly external?: readonly ExternalCheckpoint[];
  /** Called after each page with the rows checked so far and the last sequence checked. */
  readonly onProgress?: (progress: { readonly rows: number; readonly sequence: number }) => void;
}

const decoder = new TextDecoder();

/**
 * Verifies the audit log as an outsider would, reading rows in pages (memory: one page, the
 * O(log n) frontier of the Merkle tree and a counter per tenant): the hash chain, each row's leaf
 * and per-tenant sequence recomputed, the root at every stored checkpoint's size against the
 * checkpoint, each checkpoint's signature with the pinned key, each stored consistency proof
 * between consecutive checkpoints, every checkpoint kept outside the platform (`external`) against
 * the recomputed root at its size, and (given `stream`) each row against the stream message at its
 * sequence by event id and digest and (with `authorship`) by who wrote it. Stops at the first fault and names it.
 */
export async function verifyTransparencyLog(ds: DataSource, options: TransparencyLogVerifyOptions): Promise<TransparencyLogReport> {
  const batchSize = options.batchSize ?? 2000;
  const from = options.from ?? 1;
  const to = options.to ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(from) || from < 1) throw new RangeError(`from must be a stream sequence, 1 or more; got ${from}`);
  if (!Number.isSafeInteger(to) || to < from) throw new RangeError(`to must be a stream sequence at or after from (${from}); got ${to}`);
  const repository = ds.getRepository(AuditLogEntity);

  // Where the range starts: the row before it gives the chain, the stored nodes the tree, the rows before it the tenant counts.
  const before = from > 1 ? await repository.findOne({ where: { sequence: LessThan(from) }, order: { sequence: 'DESC' } }) : null;
  let leaves = before ? before.leafIndex + 1 : 0;
  const startLeaves = leaves;
  const frontier = await frontierAt(ds, leaves);
  const tenants = new Map<string, number>();
  if (before) {
    const counts: { tenant: string; last: string }[] = await ds.query(`SELECT tenant, max(tenant_sequence) AS last FROM audit_log WHERE sequence < $1 GROUP BY tenant`, [from]);
    for (const { tenant, last } of counts) tenants.set(tenant, Number(last));
  }
  let prevHash = before?.hash ?? GENESIS_HASH;
  let lastSequence = before?.sequence ?? 0;
  let rows = 0;
  let firstSequence: number | undefined;
  let checkpointsSeen = 0;
  let externalSeen = 0;

  const report = (extra: Partial<Pick<TransparencyLogReport, 'ok' | 'fault'>>): TransparencyLogReport => ({
    ok: true,
    rows,
    checkpoints: checkpointsSeen,
    externalCheckpoints: externalSeen,
    ...(firstSequence !== undefined ? { range: { from: firstSequence, to: lastSequence } } : {}),
    ...extra,
  });
  const fail = (kind: TransparencyLogFault, message: string, at: { sequence?: number; treeSize?: number } = {}): TransparencyLogReport =>
    report({ ok: false, fault: { kind, message, ...at } });

  // Checkpoints kept outside: each signature first (a note the pinned key did not sign proves nothing).
  const external: { treeSize: number; rootHash: string }[] = [];
  for (const [i, kept] of (options.external ?? []).entries()) {
    try {
      const body = openCheckpoint(kept.note, kept.origin, options.publicKey);
      external.push({ treeSize: body.treeSize, rootHash: body.rootHash.toString('hex') });
    } catch (error) {
      if (error instanceof NoteVerificationError) return fail('checkpoint-signature-invalid', `the checkpoint kept outside the platform (${i + 1} of ${options.external!.length}) does not verify with the pinned key: ${error.message}`);
      throw error;
    }
  }
  external.sort((a, b) => a.treeSize - b.treeSize);
  const checkExternal = (root: () => Promise<string> | string, size: number): Promise<TransparencyLogReport | undefined> | undefined => {
    const due = external.filter((e) => e.treeSize === size);
    if (due.length === 0) return undefined;
    return (async () => {
      const actual = await root();
      for (const kept of due) {
        if (kept.rootHash !== actual) {
          return fail('checkpoint-root-mismatch', `the log's first ${size} rows hash to root ${actual}, but the checkpoint kept outside the platform signed ${kept.rootHash}: the log was rewritten`, { treeSize: size });
        }
        externalSeen += 1;
      }
      return undefined;
    })();
  };
  // Kept checkpoints at or before the range's start are checked against the stored tree (the range trusts it up to there).
  for (const size of new Set(external.filter((e) => e.treeSize <= startLeaves).map((e) => e.treeSize))) {
    const fault = await checkExternal(() => auditTreeRoot(ds.manager, size), size);
    if (fault) return fault;
  }

  let previousCheckpoint: AuditCheckpoint | undefined = startLeaves > 0 ? await latestCheckpointUpTo(ds, startLeaves) : undefined;
  let pending: AuditCheckpoint[] = await auditCheckpoints(ds.manager, startLeaves, 100);

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
      const since = previousCheckpoint?.treeSize ?? 0;
      return fail(
        'checkpoint-root-mismatch',
        `the rows up to leaf ${checkpoint.treeSize - 1} hash to root ${root}, but checkpoint ${checkpoint.treeSize} signed ${checkpoint.rootHash}: a row among leaves ${since}..${checkpoint.treeSize - 1} was rewritten with its chain (compare with the event stream to locate it)`,
        at,
      );
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

  // The next page is read while this one is checked (keyset pages: each starts after the last sequence of the one before).
  const readPage = (after: number): Promise<AuditLogRow[]> => auditRowsAfter(ds, after, to, batchSize);
  let nextPage = readPage(lastSequence);
  for (;;) {
    const batch = await nextPage;
    if (batch.length === 0) break;
    nextPage = batch.length === batchSize ? readPage(batch[batch.length - 1]!.sequence) : Promise.resolve([]);
    for (const row of batch) {
      const at = { sequence: row.sequence };
      const skipped = row.sequence - lastSequence - 1;
      // A row deleted: the sequence and the leaf index both jump past it, and the chain no longer links.
      if (skipped > 0 && (options.stream || (row.leafIndex === leaves + skipped && row.prevHash !== prevHash))) {
        await settle(nextPage);
        return fail('missing', `the event at sequence ${lastSequence + 1} has no audit row (the next row is at ${row.sequence})`, { sequence: lastSequence + 1 });
      }
      const tenantSequence = (tenants.get(row.tenant) ?? 0) + 1;
      if (row.leafIndex !== leaves || row.tenantSequence !== tenantSequence) {
        await settle(nextPage);
        return fail('reordered', `row ${row.sequence} is leaf ${row.leafIndex} with tenant sequence ${row.tenantSequence}; in stream order it is leaf ${leaves} with tenant sequence ${tenantSequence}`, at);
      }
      if (row.prevHash !== prevHash) {
        await settle(nextPage);
        return fail('inserted', `row ${row.sequence} does not link to the row before (prev_hash): a row was inserted before it`, at);
      }
      // The event is put in canonical form once: the chain hash and the leaf's digest both hash that text.
      const mark = auditEntryForgedMark(row);
      const canonical = canonicalJson(auditEntryToEvent(row));
      if (auditHashOfCanonical(prevHash, row.sequence, canonical, mark) !== row.hash) {
        await settle(nextPage);
        return fail('changed', `row ${row.sequence} does not match its chain hash: it was changed`, at);
      }
      const digest = auditEventDigestOfCanonical(canonical, mark);
      const leaf = auditLeafHash({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence, digest });
      if (leaf !== row.leafHash) {
        await settle(nextPage);
        return fail('changed', `row ${row.sequence}'s leaf hash is not the hash of its canonical leaf`, at);
      }
      if (options.stream) {
        const fault = await compareWithStream(options.stream, row, canonical, mark, options.authorship ?? false);
        if (fault) {
          await settle(nextPage);
          return fail(fault.kind, fault.message, at);
        }
      }
      tenants.set(row.tenant, tenantSequence);
      push(frontier, Buffer.from(leaf, 'hex'));
      prevHash = row.hash;
      lastSequence = row.sequence;
      firstSequence ??= row.sequence;
      leaves += 1;
      rows += 1;
      while (pending[0] && pending[0].treeSize <= leaves) {
        const checkpoint = pending.shift()!;
        if (checkpoint.treeSize < leaves) {
          await settle(nextPage);
          return fail('checkpoint-root-mismatch', `checkpoint ${checkpoint.treeSize} was passed unchecked`, { treeSize: checkpoint.treeSize });
        }
        const fault = await checkCheckpoint(checkpoint);
        if (fault) {
          await settle(nextPage);
          return fault;
        }
        if (pending.length === 0) pending = await auditCheckpoints(ds.manager, checkpoint.treeSize, 100);
      }
      const externalFault = await checkExternal(() => rootOf(frontier).toString('hex'), leaves);
      if (externalFault) {
        await settle(nextPage);
        return externalFault;
      }
    }
    options.onProgress?.({ rows, sequence: lastSequence });
  }
  const reachedEnd = to === Number.MAX_SAFE_INTEGER;
  if (reachedEnd && pending.length > 0) {
    return fail('checkpoint-root-mismatch', `checkpoint ${pending[0]!.treeSize} covers more rows than the audit log holds (${leaves}): rows were removed`, { treeSize: pending[0]!.treeSize });
  }
  const beyond = external.find((e) => e.treeSize > leaves);
  if (reachedEnd && beyond) {
    return fail('missing', `a checkpoint kept outside the platform covers ${beyond.treeSize} rows, but the audit log holds ${leaves}: rows were removed`, { treeSize: beyond.treeSize });
  }
  return report({});
}

/** The compact frontier of the tree of the first `size` leaves, from the stored nodes (empty for 0). */
async function frontierAt(ds: DataSource, size: number): Promise<{ level: number; hash: Buffer }[]> {
  if (size === 0) return [];
  const ids = rootNodes(size);
  const lookup = await readNodes(ds.manager, ids);
  return ids.map((id) => ({ level: id.level, hash: Buffer.from(lookup(id.level, id.index)) }));
}

const AUDIT_ROW_COLUMNS = `sequence, event_id, spec_version, type, source, subject, event_time, data_content_type, schema_version,
  actor, tenant, data, traceparent, prev_hash, hash, forged, forged_detail, leaf_index, tenant_sequence, leaf_hash`;

/** The rows after `after` up to `to`, at most `limit`, in sequence order: the columns the verifier checks, without the entity layer. */
async function auditRowsAfter(ds: DataSource, after: number, to: number, limit: number): Promise<AuditLogRow[]> {
  const rows: Record<string, unknown>[] = await ds.query(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_log WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3`, [after, to, limit]);
  return rows.map((r) => ({
    sequence: Number(r['sequence']),
    eventId: r['event_id'] as string,
    specVersion: r['spec_version'] as string,
    type: r['type'] as string,
    source: r['source'] as string,
    subject: r['subject'] as string,
    eventTime: r['event_time'] as string,
    occurredAt: '',
    dataContentType: r['data_content_type'] as string,
    schemaVersion: r['schema_version'] as string,
    actor: r['actor'] as string,
    tenant: r['tenant'] as string,
    plugin: null,
    data: r['data'],
    traceparent: r['traceparent'] as string | null,
    recordedAt: '',
    prevHash: r['prev_hash'] as string,
    hash: r['hash'] as string,
    forged: r['forged'] as AuditLogRow['forged'],
    forgedDetail: r['forged_detail'] as AuditLogRow['forgedDetail'],
    leafIndex: Number(r['leaf_index']),
    tenantSequence: Number(r['tenant_sequence']),
    leafHash: r['leaf_hash'] as string,
  }));
}

/** Waits for a page read that is no longer wanted, so no query outlives the verification. */
async function settle(page: Promise<unknown>): Promise<void> {
  await page.catch(() => undefined);
}

async function latestCheckpointUpTo(ds: DataSource, size: number): Promise<AuditCheckpoint | undefined> {
  const [row]: { tree_size: string }[] = await ds.query(`SELECT tree_size FROM audit_checkpoints WHERE tree_size <= $1 ORDER BY tree_size DESC LIMIT 1`, [size]);
  return row ? auditCheckpoint(ds.manager, Number(row.tree_size)) : undefined;
}

async function compareWithStream(stream: StreamMessageReader, row: AuditLogRow, canonical: string, mark: ForgedMark | undefined, authorship: boolean): Promise<{ kind: TransparencyLogFault; message: string } | undefined> {
  const message = await stream(row.sequence);
  if (!message) return { kind: 'inserted', message: `row ${row.sequence} has no message in the stream at that sequence: it was inserted` };
  let streamed: CloudEvent;
  // Who wrote the message is settled before its payload is parsed.
  const unauthored = authorship ? authorshipFault(row, mark, message) : undefined;
  if (unauthored) return unauthored;
  const payload = message.data;
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
    const nextId = next ? safeId(next.data) : undefined;
    return nextId === row.eventId
      ? { kind: 'reordered', message: `row ${row.sequence} holds event ${row.eventId}, which the stream has at sequence ${row.sequence + 1}` }
      : { kind: 'inserted', message: `row ${row.sequence} holds event ${row.eventId}, but the stream has event ${streamed.id} there` };
  }
  // Same canonical text, same digest: comparing the text spares a hash per row.
  if (canonicalJson(streamed) !== canonical) return { kind: 'changed', message: `row ${row.sequence} (event ${row.eventId}) differs from the stream's event at that sequence: it was changed` };
  return undefined;
}

// The projector records a refused message as forged with the reason, and a genuine message whose id it applied before as
// replayed; with the same pinned keys and cut-over the reader must come to the same verdict.
function authorshipFault(row: AuditLogRow, mark: ForgedMark | undefined, message: StreamMessage): { kind: TransparencyLogFault; message: string } | undefined {
  const verdict = message.authorship;
  if (!verdict) throw new Error(`the stream reader gave no authorship verdict for sequence ${row.sequence}; give it the pinned event-writer keys`);
  const expected = mark && mark.reason !== 'replayed' ? mark.reason : undefined;
  if (verdict.ok) {
    if (expected === undefined) return undefined;
    return { kind: 'forged', message: `row ${row.sequence} records the stream's message as forged (${expected}), but it verifies as written by its aggregate's owner` };
  }
  if (expected === undefined) {
    return { kind: 'forged', message: `row ${row.sequence} records event ${row.eventId} as ${mark ? 'replayed' : 'genuine'}, but the stream's message at that sequence is not its aggregate owner's (${verdict.reason}): ${verdict.message}` };
  }
  if (verdict.reason !== expected) return { kind: 'forged', message: `row ${row.sequence} records the stream's message as forged (${expected}), but it is refused as ${verdict.reason}: ${verdict.message}` };
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
