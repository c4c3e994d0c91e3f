/**
 * The SQL reporting contract: views in schema `reporting`, each name versioned like an event type
 * (a column change makes a `_v2` beside the `_v1`). Kept here rather than only inline in the
 * migration so that whoever rebuilds the projection tables can recreate the views
 * (`reportingViewStatements`): a view stops working when its table is dropped.
 */
export const REPORTING_SCHEMA = 'reporting';
/** NOLOGIN role an operator grants to a login for platform-level reporting: it reads the views and nothing else. */
export const REPORTING_ROLE = 'forgeone_reporting';

export const REPORTING_VIEWS: ReadonlyArray<{ readonly name: string; readonly sql: string }> = [
  {
    name: 'plugin_calls_daily_v1',
    sql: `SELECT tenant, plugin, environment, day, calls, failed FROM public.plugin_calls_daily`,
  },
  {
    name: 'call_windows_v1',
    sql: `SELECT runner, window_sequence, part, parts, tenant, plugin, version, environment, principal, window_start, window_end,
                 calls, failed, failures, duration_p50_ms, duration_p95_ms, duration_p99_ms, duration_max_ms, fuel_total, bytes_in, bytes_out
          FROM public.call_windows`,
  },
  {
    // Numbers a runner took for a window whose summary never arrived (a runner killed, an append lost):
    // every number from 1 up to the highest recorded one is accounted for, or listed here as a range.
    name: 'call_window_gaps_v1',
    sql: `WITH numbers AS (SELECT DISTINCT runner, window_sequence FROM public.call_windows),
               ordered AS (SELECT runner, window_sequence, lag(window_sequence, 1, 0::bigint) OVER (PARTITION BY runner ORDER BY window_sequence) AS previous FROM numbers)
          SELECT runner, previous + 1 AS missing_from, window_sequence - 1 AS missing_to, window_sequence - previous - 1 AS missing_count
          FROM ordered WHERE window_sequence > previous + 1`,
  },
  {
    // Windows of which only some parts (groups) were recorded.
    name: 'call_windows_incomplete_v1',
    sql: `SELECT runner, window_sequence, max(parts) AS parts, count(*) AS parts_recorded
          FROM public.call_windows GROUP BY runner, window_sequence HAVING count(*) < max(parts)`,
  },
  {
    name: 'policy_denials_v1',
    sql: `SELECT sequence, tenant, occurred_at, detail->>'principal' AS principal, detail->>'action' AS action,
                 detail->>'resourceType' AS resource_type, detail->>'resourceId' AS resource_id, detail->>'environment' AS environment,
                 detail->>'reason' AS reason, (detail->>'policyVersion')::integer AS policy_version, detail->'policyIds' AS policy_ids
          FROM public.compliance_records WHERE kind = 'policy-denial'`,
  },
  {
    name: 'signature_results_v1',
    sql: `SELECT sequence, tenant, occurred_at, plugin, detail->>'version' AS version, detail->>'environment' AS environment,
                 detail->>'stage' AS stage, detail->>'mode' AS mode, (detail->>'verified')::boolean AS verified,
                 (detail->>'flagged')::boolean AS flagged, detail->>'reason' AS reason, detail->'keyIds' AS key_ids
          FROM public.compliance_records WHERE kind = 'signature-result'`,
  },
  {
    name: 'sandbox_violations_v1',
    sql: `SELECT sequence, tenant, occurred_at, plugin, detail->>'version' AS version, detail->>'environment' AS environment,
                 detail->>'principal' AS principal, detail->>'limit' AS limit_broken, detail->>'code' AS code, detail->>'hook' AS hook
          FROM public.compliance_records WHERE kind = 'sandbox-violation'`,
  },
  {
    name: 'key_trust_changes_v1',
    sql: `SELECT sequence, tenant, occurred_at, detail->>'keyId' AS key_id, detail->>'change' AS change, detail->>'publisher' AS publisher,
                 detail->>'by' AS changed_by, detail->>'reason' AS reason
          FROM public.compliance_records WHERE kind = 'key-trust-change'`,
  },
  {
    name: 'policy_set_versions_v1',
    sql: `SELECT sequence, tenant, occurred_at, (detail->>'version')::integer AS version, detail->>'sha256' AS sha256,
                 detail->>'by' AS applied_by, (detail->>'policies')::integer AS policies
          FROM public.compliance_records WHERE kind = 'policy-set-version'`,
  },
  {
    name: 'token_events_v1',
    sql: `SELECT sequence, tenant, occurred_at, detail->>'tokenId' AS token_id, detail->>'change' AS change, detail->>'principal' AS principal,
                 detail->>'role' AS role, detail->>'expiresAt' AS expires_at, detail->>'by' AS changed_by, detail->>'reason' AS reason
          FROM public.compliance_records WHERE kind = 'token-event'`,
  },
];

/** Statements that (re)create the schema, every view and the read-only role's grants; safe to run again. */
export function reportingViewStatements(): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${REPORTING_SCHEMA}`,
    // Roles belong to the cluster, so another database of it may have made this one already, or be making it now.
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${REPORTING_ROLE}') THEN
         BEGIN CREATE ROLE ${REPORTING_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
       END IF;
     END $$`,
    `REVOKE ALL ON SCHEMA ${REPORTING_SCHEMA} FROM PUBLIC`,
    ...REPORTING_VIEWS.map((v) => `CREATE OR REPLACE VIEW ${REPORTING_SCHEMA}.${v.name} AS ${v.sql}`),
    `GRANT USAGE ON SCHEMA ${REPORTING_SCHEMA} TO ${REPORTING_ROLE}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${REPORTING_SCHEMA} TO ${REPORTING_ROLE}`,
  ];
}
