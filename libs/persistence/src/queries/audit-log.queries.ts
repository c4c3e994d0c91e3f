import { AUDIT_LOG_MAX_LIMIT, ForgeOneError } from '@forgeone/contracts';
import { In, MoreThan, MoreThanOrEqual, type DataSource, type FindOptionsWhere } from 'typeorm';
import { AuditLogEntity, type AuditLogRow } from '../entities/read-model.entities.js';

/** One audit log row: the recorded event, where it sits in the stream and in the hash chain. */
export type AuditEntry = AuditLogRow;

// The bound lives in the contracts, where the HTTP contract's query schema reads it too.
export { AUDIT_LOG_MAX_LIMIT };

export interface AuditLogQuery {
  readonly tenant: string;
  /** Only events about this plugin (`acme/pii-redactor`). */
  readonly plugin?: string;
  /** Only events that occurred at or after this time. */
  readonly since?: Date;
  /** Only rows after this stream sequence: pass the last sequence of a page to get the next page. */
  readonly afterSequence?: number;
  /** 1 to {@link AUDIT_LOG_MAX_LIMIT}. */
  readonly limit: number;
}

/** The tenant's audit rows in stream order; throws `QUERY.INVALID` for a bad limit, date or cursor. */
export async function auditLog(ds: DataSource, query: AuditLogQuery): Promise<AuditEntry[]> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > AUDIT_LOG_MAX_LIMIT) {
    throw new ForgeOneError('QUERY.INVALID', `limit must be an integer from 1 to ${AUDIT_LOG_MAX_LIMIT}, got ${query.limit}`, { limit: query.limit });
  }
  if (query.since !== undefined && Number.isNaN(query.since.getTime())) {
    throw new ForgeOneError('QUERY.INVALID', 'since is not a valid date: pass an ISO-8601 time such as 2026-03-01T00:00:00Z');
  }
  const after = query.afterSequence ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new ForgeOneError('QUERY.INVALID', `afterSequence must be a non-negative integer, got ${query.afterSequence}`);
  }
  const where: FindOptionsWhere<AuditLogRow> = {
    tenant: query.tenant,
    sequence: MoreThan(after),
    ...(query.plugin !== undefined ? { plugin: query.plugin } : {}),
    ...(query.since !== undefined ? { occurredAt: MoreThanOrEqual(query.since.toISOString()) } : {}),
  };
  return ds.getRepository(AuditLogEntity).find({ where, order: { sequence: 'ASC' }, take: query.limit });
}

/** Every audit row about one plugin of the tenant, in stream order. */
export async function pluginHistory(ds: DataSource, query: { tenant: string; name: string }): Promise<AuditEntry[]> {
  // Incidents and regulation changes name several plugins (or all): their rows are found through review_notices.
  const notices: { sequence: string }[] = await ds.query(
    `SELECT sequence FROM review_notices WHERE tenant = $1 AND (all_plugins OR plugins ? $2)`,
    [query.tenant, query.name],
  );
  const sequences = notices.map((n) => Number(n.sequence));
  const repository = ds.getRepository(AuditLogEntity);
  const where: FindOptionsWhere<AuditLogRow>[] = [{ tenant: query.tenant, plugin: query.name }];
  if (sequences.length > 0) where.push({ tenant: query.tenant, sequence: In(sequences) as unknown as number });
  return repository.find({ where, order: { sequence: 'ASC' } });
}
