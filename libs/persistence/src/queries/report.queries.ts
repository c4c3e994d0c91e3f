import type { ReportName, ReportRange } from '@forgeone/contracts';
import type { DataSource } from 'typeorm';

/** One report: the view it reads, its columns in order, and how it is scoped. */
interface ReportView {
  readonly view: string;
  readonly columns: readonly string[];
  /** The column the range applies to; null: the report has no time range. */
  readonly time: string | null;
  /** False: rows carry no tenant's data (call-window numbers are the runner's), so they are not filtered by tenant. */
  readonly perTenant: boolean;
  readonly order: string;
}

const REPORT_VIEWS: Readonly<Record<ReportName, ReportView>> = {
  'plugin-calls': { view: 'plugin_calls_daily_v1', columns: ['day', 'plugin', 'environment', 'calls', 'failed'], time: 'day', perTenant: true, order: 'day, plugin, environment' },
  'call-windows': { view: 'call_window_gaps_v1', columns: ['runner', 'missing_from', 'missing_to', 'missing_count'], time: null, perTenant: false, order: 'runner, missing_from' },
  'policy-denials': {
    view: 'policy_denials_v1',
    columns: ['occurred_at', 'principal', 'action', 'resource_type', 'resource_id', 'environment', 'reason', 'policy_version', 'sequence'],
    time: 'occurred_at',
    perTenant: true,
    order: 'sequence',
  },
  'signature-results': {
    view: 'signature_results_v1',
    columns: ['occurred_at', 'plugin', 'version', 'environment', 'stage', 'mode', 'verified', 'flagged', 'reason', 'sequence'],
    time: 'occurred_at',
    perTenant: true,
    order: 'sequence',
  },
  'sandbox-violations': {
    view: 'sandbox_violations_v1',
    columns: ['occurred_at', 'plugin', 'version', 'environment', 'principal', 'limit_broken', 'code', 'hook', 'sequence'],
    time: 'occurred_at',
    perTenant: true,
    order: 'sequence',
  },
  'key-trust-changes': { view: 'key_trust_changes_v1', columns: ['occurred_at', 'key_id', 'change', 'publisher', 'changed_by', 'reason', 'sequence'], time: 'occurred_at', perTenant: true, order: 'sequence' },
  'policy-set-versions': { view: 'policy_set_versions_v1', columns: ['occurred_at', 'version', 'sha256', 'applied_by', 'policies', 'sequence'], time: 'occurred_at', perTenant: true, order: 'sequence' },
  'token-events': { view: 'token_events_v1', columns: ['occurred_at', 'token_id', 'change', 'principal', 'role', 'expires_at', 'changed_by', 'reason', 'sequence'], time: 'occurred_at', perTenant: true, order: 'sequence' },
};

/** At most this many rows per report; the reply says when more matched. */
export const REPORT_MAX_ROWS = 10_000;

export type ReportValue = string | number | boolean | null;

export interface ReportResult {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<Record<string, ReportValue>>;
  readonly truncated: boolean;
}

/**
 * One report of one tenant from the reporting views, in the range given. Reports whose rows hold
 * no tenant's data (call-window gaps) are the same for every tenant and have no range.
 */
export async function readReport(ds: DataSource, name: ReportName, tenant: string, range: ReportRange): Promise<ReportResult> {
  const r = REPORT_VIEWS[name];
  const where: string[] = [];
  const params: unknown[] = [];
  if (r.perTenant) {
    params.push(tenant);
    where.push(`tenant = $${params.length}`);
  }
  if (r.time !== null && range.from !== undefined) {
    params.push(range.from.toISOString());
    where.push(r.time === 'day' ? `day >= ($${params.length}::timestamptz AT TIME ZONE 'UTC')::date` : `${r.time} >= $${params.length}::timestamptz`);
  }
  if (r.time !== null && range.before !== undefined) {
    params.push(range.before.toISOString());
    where.push(r.time === 'day' ? `day < ($${params.length}::timestamptz AT TIME ZONE 'UTC')::date` : `${r.time} < $${params.length}::timestamptz`);
  }
  const select = r.columns.map((c) => (c === 'day' ? `day::text AS day` : c)).join(', ');
  const rows: Record<string, unknown>[] = await ds.query(
    `SELECT ${select} FROM reporting.${r.view} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${r.order} LIMIT ${REPORT_MAX_ROWS + 1}`,
    params,
  );
  return { columns: r.columns, rows: rows.slice(0, REPORT_MAX_ROWS).map((row) => normalise(r.columns, row)), truncated: rows.length > REPORT_MAX_ROWS };
}

// bigint columns come back as strings: numbers where they fit, times as ISO strings.
function normalise(columns: readonly string[], row: Record<string, unknown>): Record<string, ReportValue> {
  const out: Record<string, ReportValue> = {};
  for (const c of columns) {
    const v = row[c];
    if (v instanceof Date) out[c] = v.toISOString();
    else if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && c !== 'token_id' && c !== 'key_id') out[c] = Number(v);
    else if (v === undefined) out[c] = null;
    else if (typeof v === 'object' && v !== null) out[c] = JSON.stringify(v);
    else out[c] = v as ReportValue;
  }
  return out;
}
