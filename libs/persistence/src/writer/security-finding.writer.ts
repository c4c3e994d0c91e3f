import type { ForgeryReason } from '@forgeone/contracts';
import type { EntityManager } from 'typeorm';

/** Findings kept in full per kind, writer and hour; beyond it only the count grows. */
export const SECURITY_FINDINGS_PER_WINDOW = 100;

/** One refused event as a security finding. */
export interface SecurityFindingInput {
  readonly reason: ForgeryReason;
  /** The writer the message named, or null when it named none. */
  readonly writer: string | null;
  readonly sequence: number;
  /** The NATS subject the message was published on. */
  readonly subject: string;
  readonly eventId?: string | null;
  readonly eventType?: string | null;
  readonly tenant?: string | null;
  readonly detail: string;
}

/**
 * Counts the finding in its hour's window (kind `event.<reason>`, per claimed writer) and keeps its
 * details only while the window holds fewer than {@link SECURITY_FINDINGS_PER_WINDOW}, so a flood of
 * forged publishes cannot grow the table without bound. Runs in the caller's transaction.
 */
export async function recordSecurityFinding(manager: EntityManager, finding: SecurityFindingInput): Promise<void> {
  const kind = `event.${finding.reason}`;
  const writer = finding.writer ?? '(none)';
  const [counted]: { total: string }[] = await manager.query(
    `INSERT INTO security_finding_counts (kind, writer, window_start, total) VALUES ($1, $2, date_trunc('hour', now()), 1)
     ON CONFLICT (kind, writer, window_start) DO UPDATE SET total = security_finding_counts.total + 1
     RETURNING total`,
    [kind, writer],
  );
  if (Number(counted.total) > SECURITY_FINDINGS_PER_WINDOW) return;
  await manager.query(
    `INSERT INTO security_findings (kind, writer, sequence, subject, event_id, event_type, tenant, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [kind, writer, finding.sequence, finding.subject, finding.eventId ?? null, finding.eventType ?? null, finding.tenant ?? null, finding.detail],
  );
}
