import { PLUGIN_EVENT_TYPES } from '@forgeone/contracts';
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

// A signature result says where it was checked, and an audit-mode acceptance of a failure must stand out;
// so must an event its owner did not write, which changed nothing.
function eventColumn(entry: AuditEntry): string {
  const forged = entry.forged ? `FORGED (${entry.forged}) ` : '';
  // The runner's results have types of their own; the stage already says it was the runner.
  const label = forged + eventLabel(entry.type).replace(/^signature\.runner_/, 'signature.');
  const flagged = typeof entry.data === 'object' && entry.data !== null && (entry.data as { flagged?: unknown }).flagged === true;
  // A test run says how it ended, and a run with operational regressions stands out.
  const passed = typeof entry.data === 'object' && entry.data !== null ? (entry.data as { passed?: unknown }).passed : undefined;
  if (entry.type === PLUGIN_EVENT_TYPES.testRunRecorded && typeof passed === 'boolean') return `${label} (${passed ? 'passed' : 'FAILED'}${flagged ? ', FLAGGED' : ''})`;
  const stage = field(entry.data, 'stage');
  if (!stage) return label;
  return `${label} (${stage}${flagged ? ', FLAGGED' : ''})`;
}

/**
 * Audit entries as a table, oldest first as the API returns them; a REASON column when any entry has
 * one (rollback, revocation, a signature's failure). Signature results name their stage and show
 * FLAGGED when audit mode let a failure through; events their owner did not write show FORGED and why.
 */
export function formatAuditEntries(entries: readonly AuditEntry[], options: { readonly withPlugin: boolean }): string {
  const withReason = entries.some((entry) => field(entry.data, 'reason') !== undefined);
  const headers = ['SEQ', 'TIME', 'EVENT', ...(options.withPlugin ? ['PLUGIN'] : []), 'VERSION', 'ENVIRONMENT', 'ACTOR', ...(withReason ? ['REASON'] : [])];
  const rows = entries.map((entry) => [
    entry.sequence,
    formatTime(entry.occurredAt),
    eventColumn(entry),
    ...(options.withPlugin ? [field(entry.data, 'name') ?? entry.subject] : []),
    versionColumn(entry.data),
    field(entry.data, 'environment'),
    entry.actor,
    ...(withReason ? [field(entry.data, 'reason')] : []),
  ]);
  return formatTable(headers, rows);
}
