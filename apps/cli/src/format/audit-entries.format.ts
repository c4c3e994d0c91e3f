import type { AuditEntry } from '../api-client.js';
import { eventLabel, formatTable, formatTime } from './table.js';

const field = (data: unknown, key: string): string | undefined => {
  if (typeof data !== 'object' || data === null) return undefined;
  const value = (data as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
};

function versionColumn(data: unknown): string | undefined {
  const from = field(data, 'fromVersion');
  const to = field(data, 'version');
  return from && to ? `${from} → ${to}` : to;
}

/** Audit entries as a table, oldest first as the API returns them; a REASON column when any entry has one (rollback, revocation). */
export function formatAuditEntries(entries: readonly AuditEntry[], options: { readonly withPlugin: boolean }): string {
  const withReason = entries.some((entry) => field(entry.data, 'reason') !== undefined);
  const headers = ['SEQ', 'TIME', 'EVENT', ...(options.withPlugin ? ['PLUGIN'] : []), 'VERSION', 'ENVIRONMENT', 'ACTOR', ...(withReason ? ['REASON'] : [])];
  const rows = entries.map((entry) => [
    entry.sequence,
    formatTime(entry.occurredAt),
    eventLabel(entry.type),
    ...(options.withPlugin ? [field(entry.data, 'name') ?? entry.subject] : []),
    versionColumn(entry.data),
    field(entry.data, 'environment'),
    entry.actor,
    ...(withReason ? [field(entry.data, 'reason')] : []),
  ]);
  return formatTable(headers, rows);
}
