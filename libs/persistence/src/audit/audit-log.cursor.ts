import type { EntityManager } from 'typeorm';

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
 */
export class AuditLogCursor {
  private tip: AuditChainTip | null | undefined;
  private readonly tenants = new Map<string, number>();
  private readonly genuine = new Map<string, number[]>();
  /** Complete subtrees written in this transaction, by `level:index`. */
  readonly merkleNodes = new Map<string, Buffer>();

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

  /**
   * Reads in one query the sequences of the genuine rows holding any of `eventIds`, so that
   * {@link genuineSequences} answers them from memory.
   */
  async prefetchEventIds(manager: EntityManager, eventIds: readonly string[]): Promise<void> {
    const wanted = [...new Set(eventIds)].filter((id) => !this.genuine.has(id));
    if (wanted.length === 0) return;
    for (const id of wanted) this.genuine.set(id, []);
    const rows: { event_id: string; sequence: string }[] = await manager.query(
      `SELECT event_id, sequence FROM audit_log WHERE event_id = ANY($1::text[]) AND forged IS NULL`,
      [wanted],
    );
    for (const row of rows) this.genuine.get(row.event_id)!.push(Number(row.sequence));
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
