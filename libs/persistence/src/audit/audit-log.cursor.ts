import type { EntityManager } from 'typeorm';
import { AuditLogConflictError } from '../writer/projection.errors.js';
import { rootNodes } from '@forgeone/signing';
import { insertMerkleNodes, readStoredNodes, type MerkleNodeRows } from './merkle-node.store.js';

/** The chain's last row: what the next row links to. */
export interface AuditChainTip {
  readonly sequence: number;
  readonly hash: string;
  readonly leafIndex: number;
}

/**
 * What the audit log holds as seen from inside one projector transaction (which holds the
 * checkpoint lock, so no one else appends): the chain's tip, each tenant's last sequence, the
 * Merkle nodes written so far and the genuine rows of the event ids in hand. Each is read from the
 * database once and then carried in memory as rows are appended, so a batch of events pays no
 * per-event reads for them. It lives and dies with its transaction.
 *
 * When the log ends before the batch ({@link prefetch}), rows and Merkle nodes are not
 * inserted one by one but kept until {@link flush}, which inserts them in a few statements: nothing
 * in the transaction reads them back before (the tip, tenant sequences and replays are answered
 * from memory). A rebuild (rows already there) keeps the row-by-row path and its identity check.
 */
export class AuditLogCursor {
  private tip: AuditChainTip | null | undefined;
  private readonly tenants = new Map<string, number>();
  private readonly genuine = new Map<string, number[]>();
  /** Complete subtrees written in this transaction, or read as the frontier new leaves build on, by `level:index`. */
  readonly merkleNodes = new Map<string, Buffer>();
  private deferring = false;
  private readonly rows: { readonly sequence: number; readonly eventId: string; readonly values: unknown[] }[] = [];
  private readonly nodes: MerkleNodeRows = { levels: [], indexes: [], hashes: [] };

  /**
   * Reads in one query what a batch asks of the log: the genuine rows holding any of `eventIds`
   * ({@link genuineElsewhere}), each of `tenants`' last per-tenant sequence ({@link nextTenantSequence})
   * and, given `appendFrom` (the batch's first new sequence), the log's last row. If that row is
   * before `appendFrom`, inserts are deferred to {@link flush}, the row is the chain's tip, and the
   * Merkle tree's frontier (the complete subtrees every new leaf's left siblings come from) is read
   * in one more query, so appending the batch reads nothing row by row. Answers whether it defers.
   */
  async prefetch(manager: EntityManager, wanted: { readonly eventIds: readonly string[]; readonly tenants: readonly string[]; readonly appendFrom?: number }): Promise<boolean> {
    const ids = [...new Set(wanted.eventIds)].filter((id) => !this.genuine.has(id));
    const tenants = [...new Set(wanted.tenants)].filter((t) => !this.tenants.has(t));
    const tip = wanted.appendFrom !== undefined;
    if (ids.length === 0 && tenants.length === 0 && !tip) return this.deferring;
    // A subquery per tenant, so each max is one descent of the (tenant, tenant_sequence) index.
    const rows: { kind: 'event' | 'tenant' | 'tip'; key: string | null; n: string | null; hash: string | null; leaf: string | null }[] = await manager.query(
      `SELECT 'event' AS kind, event_id AS key, sequence AS n, NULL::text AS hash, NULL::bigint AS leaf FROM audit_log WHERE event_id = ANY($1::text[]) AND forged IS NULL
       UNION ALL SELECT 'tenant', w.tenant, (SELECT max(tenant_sequence) FROM audit_log a WHERE a.tenant = w.tenant), NULL, NULL FROM unnest($2::text[]) AS w(tenant)
       UNION ALL (SELECT 'tip', NULL, sequence, hash, leaf_index FROM audit_log WHERE $3::boolean ORDER BY sequence DESC LIMIT 1)`,
      [ids, tenants, tip],
    );
    for (const id of ids) this.genuine.set(id, []);
    let last: AuditChainTip | null = null;
    for (const row of rows) {
      if (row.kind === 'event') this.genuine.get(row.key!)!.push(Number(row.n));
      else if (row.kind === 'tenant') this.tenants.set(row.key!, Number(row.n ?? 0));
      else last = { sequence: Number(row.n), hash: row.hash!, leafIndex: Number(row.leaf) };
    }
    if (!tip) return this.deferring;
    this.deferring = last === null || last.sequence < wanted.appendFrom!;
    if (!this.deferring) return false;
    this.tip = last;
    if (last) {
      const frontier = rootNodes(last.leafIndex + 1).filter((id) => !this.merkleNodes.has(`${id.level}:${id.index}`));
      // A node missing here is looked up again when a leaf needs it, which names it as missing.
      const found = frontier.length ? await readStoredNodes(manager, frontier) : [];
      for (const node of found) this.merkleNodes.set(`${node.level}:${node.index}`, node.hash);
    }
    return true;
  }

  /** Whether appended rows wait for {@link flush}. */
  get defers(): boolean {
    return this.deferring;
  }

  /** Keeps a row (the insert's 22 values, in column order) and its Merkle nodes for {@link flush}. */
  defer(sequence: number, eventId: string, values: unknown[], nodes: MerkleNodeRows): void {
    this.rows.push({ sequence, eventId, values });
    this.nodes.levels.push(...nodes.levels);
    this.nodes.indexes.push(...nodes.indexes);
    this.nodes.hashes.push(...nodes.hashes);
  }

  /**
   * Inserts the deferred rows and nodes, in one statement. A row the log refuses (an event id already recorded as
   * genuine) is an {@link AuditLogConflictError} naming the first such sequence.
   */
  async flush(manager: EntityManager): Promise<void> {
    if (this.rows.length > 0) {
      // One typed array per column: a single plan whatever the batch size, where a VALUES list of
      // 22 parameters a row cost PostgreSQL more to parse and plan than to insert. The rows' Merkle
      // nodes go in the same statement; a refused row throws below and the transaction rolls back.
      const columns = AUDIT_INSERT_TYPES.map((_, c) => this.rows.map((row) => row.values[c]));
      const n = AUDIT_INSERT_TYPES.length;
      const inserted: { sequence: string }[] = await manager.query(
        `WITH inserted AS (
           INSERT INTO audit_log (${AUDIT_INSERT_COLUMNS}) SELECT * FROM unnest(${AUDIT_INSERT_TYPES.map((type, c) => `$${c + 1}::${type}[]`).join(', ')}) ON CONFLICT DO NOTHING RETURNING sequence
         ), nodes AS (
           INSERT INTO audit_merkle_nodes (level, index, hash) SELECT * FROM unnest($${n + 1}::smallint[], $${n + 2}::bigint[], $${n + 3}::text[])
         )
         SELECT sequence FROM inserted`,
        [...columns, this.nodes.levels, this.nodes.indexes, this.nodes.hashes],
      );
      if (inserted.length !== this.rows.length) {
        const done = new Set(inserted.map((row) => Number(row.sequence)));
        const refused = this.rows.find((row) => !done.has(row.sequence))!;
        throw new AuditLogConflictError(refused.sequence, refused.eventId, 'the audit row could not be inserted: the audit log already holds its event id or sequence');
      }
    } else {
      await insertMerkleNodes(manager, this.nodes);
    }
    this.rows.length = 0;
    this.nodes.levels.length = 0;
    this.nodes.indexes.length = 0;
    this.nodes.hashes.length = 0;
  }

  /** The row the next row at `sequence` links to (null: the log is empty). */
  async previous(manager: EntityManager, sequence: number): Promise<AuditChainTip | null> {
    if (this.tip !== undefined && (this.tip === null || this.tip.sequence < sequence)) return this.tip;
    const [row]: { sequence: string; hash: string; leaf_index: string }[] = await manager.query(
      `SELECT sequence, hash, leaf_index FROM audit_log WHERE sequence < $1 ORDER BY sequence DESC LIMIT 1`,
      [sequence],
    );
    // Every later call follows an append (which moves the tip) or a row found already there (which forgets it).
    this.tip = row ? { sequence: Number(row.sequence), hash: row.hash, leafIndex: Number(row.leaf_index) } : null;
    return this.tip;
  }

  /** The tenant's next per-tenant sequence. */
  async nextTenantSequence(manager: EntityManager, tenant: string): Promise<number> {
    let last = this.tenants.get(tenant);
    if (last === undefined) {
      const [row]: { last: string | null }[] = await manager.query(`SELECT max(tenant_sequence) AS last FROM audit_log WHERE tenant = $1`, [tenant]);
      last = Number(row?.last ?? 0);
      this.tenants.set(tenant, last);
    }
    return last + 1;
  }

  /** A genuine row's sequence other than `sequence` holding `eventId` (a replay's original), if any. */
  async genuineElsewhere(manager: EntityManager, eventId: string, sequence: number): Promise<number | undefined> {
    const known = this.genuine.get(eventId);
    if (known) return known.find((s) => s !== sequence);
    const [row]: { sequence: string }[] = await manager.query(
      `SELECT sequence FROM audit_log WHERE event_id = $1 AND forged IS NULL AND sequence <> $2 LIMIT 1`,
      [eventId, sequence],
    );
    return row ? Number(row.sequence) : undefined;
  }

  /** Records a row this transaction inserted. */
  appended(row: AuditChainTip & { readonly tenant: string; readonly tenantSequence: number; readonly eventId: string; readonly genuine: boolean }): void {
    this.tip = { sequence: row.sequence, hash: row.hash, leafIndex: row.leafIndex };
    if (this.tenants.has(row.tenant)) this.tenants.set(row.tenant, row.tenantSequence);
    if (row.genuine) this.genuine.get(row.eventId)?.push(row.sequence);
  }

  /** Forgets the tip after a row was found already there (a rebuild): the next row reads it again. */
  forgetTip(): void {
    this.tip = undefined;
  }
}

/** The audit row's columns in the order of the insert's values. */
export const AUDIT_INSERT_COLUMNS = `sequence, event_id, spec_version, type, source, subject, event_time, occurred_at,
  data_content_type, schema_version, actor, tenant, plugin, data, traceparent, prev_hash, hash,
  forged, forged_detail, leaf_index, tenant_sequence, leaf_hash`;

/** The column types of {@link AUDIT_INSERT_COLUMNS}, in order. */
const AUDIT_INSERT_TYPES = ['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'jsonb', 'bigint', 'bigint', 'text'] as const;
