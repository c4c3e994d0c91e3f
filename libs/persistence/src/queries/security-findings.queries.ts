import { MoreThanOrEqual, type DataSource } from 'typeorm';
import { SecurityFindingCountEntity, SecurityFindingEntity, type SecurityFindingCountRow, type SecurityFindingRow } from '../entities/read-model.entities.js';

export interface SecurityFindingsReport {
  /** The kept findings, newest first. */
  readonly findings: SecurityFindingRow[];
  /** Every finding counted per kind, claimed writer and hour, newest window first (kept or not). */
  readonly counts: SecurityFindingCountRow[];
}

/** Security findings recorded since `since` (default: all), at most `limit` of them (default 100). */
export async function securityFindings(ds: DataSource, query: { readonly since?: Date; readonly limit?: number } = {}): Promise<SecurityFindingsReport> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RangeError(`limit must be an integer from 1 to 1000, got ${limit}`);
  const since = query.since?.toISOString();
  const findings = await ds.getRepository(SecurityFindingEntity).find({
    where: since ? { recordedAt: MoreThanOrEqual(since) } : {},
    order: { id: 'DESC' },
    take: limit,
  });
  // A window counts from its hour's start, so one that began before `since` may still hold findings after it.
  const counts = await ds.getRepository(SecurityFindingCountEntity).find({
    where: since ? { windowStart: MoreThanOrEqual(new Date(Math.floor(Date.parse(since) / 3_600_000) * 3_600_000).toISOString()) } : {},
    order: { windowStart: 'DESC', kind: 'ASC', writer: 'ASC' },
  });
  return { findings, counts };
}
