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

/** Audit entries as a table, oldest first as the API returns them. */
export function formatAuditEntries(entries: readonly AuditEntry[], options: { readonly withPlugin: boolean }): string {
  const headers = ['SEQ', 'TIME', 'EVENT', ...(options.withPlugin ? ['PLUGIN'] : []), 'VERSION', 'ENVIRONMENT', 'ACTOR'];
  const rows = entries.map((entry) => [
    entry.sequence,
    formatTime(entry.occurredAt),
    eventLabel(entry.type),
    ...(options.withPlugin ? [field(entry.data, 'name') ?? entry.subject] : []),
    versionColumn(entry.data),
    field(entry.data, 'environment'),
    entry.actor,
  ]);
  return formatTable(headers, rows);
}
