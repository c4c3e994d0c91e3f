import type { EvidenceFramework } from '@forgeone/contracts';

/**
 * The evidence control map: which query evidences which control of each framework. It is the one
 * place to read (and to change) what an export holds; docs/evidence.md explains it for auditors.
 *
 * Every query reads the projections (the audit log and the views of the `reporting` schema,
 * docs/reporting.md) of one tenant in one period: `$1` is the tenant, `$2` the period's start
 * (inclusive) and `$3` its end (exclusive). A query with `sequence` in its first column is paged by
 * stream sequence (flat memory whatever the size) and its rows can be proven in the audit log's
 * Merkle tree; the others (platform-wide rows that belong to no tenant's log) are read whole.
 */
export interface EvidenceQuery {
  readonly title: string;
  /** An exception query: its rows are what an auditor looks at first (highlighted in index.html). */
  readonly exception: boolean;
  readonly sql: string;
  /** False: the rows are the same for every tenant (no `$1`) and carry no tenant's audit row to prove. */
  readonly perTenant: boolean;
}

/** One control: its id in the framework, older ids it answers to, what it asks for, and its queries. */
export interface EvidenceControl {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly title: string;
  readonly queries: readonly EvidenceQueryId[];
  readonly exceptions: readonly EvidenceQueryId[];
}

const PERIOD = `tenant = $1 AND occurred_at >= $2 AND occurred_at < $3`;
const events = (types: readonly string[], extra = '') =>
  `SELECT sequence, tenant_sequence, occurred_at, type, actor, plugin, subject, data FROM audit_log WHERE ${PERIOD} AND type IN (${types.map((t) => `'${t}'`).join(', ')})${extra}`;
const view = (name: string, columns: string, extra = '') => `SELECT ${columns} FROM reporting.${name} WHERE ${PERIOD}${extra}`;

const PLUGIN_CHANGES = [
  'io.forgeone.plugin.version_published.v1',
  'io.forgeone.plugin.installed.v1',
  'io.forgeone.plugin.upgraded.v1',
  'io.forgeone.plugin.rolled_back.v1',
  'io.forgeone.plugin.removed.v1',
  'io.forgeone.plugin.test_run_recorded.v1',
];

export const EVIDENCE_QUERIES = {
  'audit-rows': {
    title: "Every row of the tenant's audit log in the period (hash-chained, each a leaf of the signed Merkle tree)",
    exception: false,
    perTenant: true,
    sql: `SELECT sequence, tenant_sequence, occurred_at, type, actor, plugin, event_id, leaf_hash FROM audit_log WHERE ${PERIOD}`,
  },
  'forged-rows': {
    title: 'Audit rows marked forged: messages whose writer was not the owner of their aggregate, or replays',
    exception: true,
    perTenant: true,
    sql: `SELECT sequence, tenant_sequence, occurred_at, type, forged, forged_detail FROM audit_log WHERE ${PERIOD} AND forged IS NOT NULL`,
  },
  'audit-checkpoints': {
    title: "Signed checkpoints of the audit log's Merkle tree (platform-wide; they name no tenant's data)",
    exception: false,
    perTenant: false,
    sql: `SELECT sequence, tree_size, root_hash, key_id, signed_at FROM audit_checkpoints WHERE signed_at >= $2 AND signed_at < $3`,
  },
  'evidence-exports': {
    title: 'Evidence exports made of this tenant before',
    exception: false,
    perTenant: true,
    sql: events(['io.forgeone.audit.evidence_exported.v1']),
  },
  'access-tokens': {
    title: 'API tokens issued and revoked (principal, role, expiry; never a secret)',
    exception: false,
    perTenant: true,
    sql: view('token_events_v1', 'sequence, occurred_at, token_id, change, principal, role, expires_at, changed_by, reason'),
  },
  'policy-set-versions': {
    title: 'Cedar policy set versions applied',
    exception: false,
    perTenant: true,
    sql: view('policy_set_versions_v1', 'sequence, occurred_at, version, sha256, applied_by, policies'),
  },
  'access-decisions': {
    title: 'Authorisation decisions recorded by policy (every denial, allows as configured) and counted authentication failures',
    exception: false,
    perTenant: true,
    sql: events(['io.forgeone.policy.decision_recorded.v1', 'io.forgeone.policy.authentication_failures_counted.v1']),
  },
  'policy-denials': {
    title: 'Requests policy denied',
    exception: true,
    perTenant: true,
    sql: view('policy_denials_v1', 'sequence, occurred_at, principal, action, resource_type, resource_id, environment, reason, policy_version, policy_ids'),
  },
  'key-trust-changes': {
    title: 'Signing keys trusted and revoked',
    exception: false,
    perTenant: true,
    sql: view('key_trust_changes_v1', 'sequence, occurred_at, key_id, change, publisher, changed_by, reason'),
  },
  'signature-results': {
    title: 'Plugin signature verifications and rejections, by the registry and by runners',
    exception: false,
    perTenant: true,
    sql: view('signature_results_v1', 'sequence, occurred_at, plugin, version, environment, stage, mode, verified, flagged, reason, key_ids'),
  },
  'unsigned-or-rejected': {
    title: 'Versions that failed signature verification, or were let in unsigned and flagged (an environment in flag mode, e.g. staging)',
    exception: true,
    perTenant: true,
    sql: view('signature_results_v1', 'sequence, occurred_at, plugin, version, environment, stage, mode, verified, flagged, reason', ' AND (flagged OR NOT verified)'),
  },
  'sandbox-violations': {
    title: 'Sandbox limits broken and host hooks refused',
    exception: true,
    perTenant: true,
    sql: view('sandbox_violations_v1', 'sequence, occurred_at, plugin, version, environment, principal, limit_broken, code, hook'),
  },
  'invocation-failures': {
    title: 'Plugin calls that failed',
    exception: false,
    perTenant: true,
    sql: events(['io.forgeone.plugin.invocation_failed.v1']),
  },
  'plugin-calls-daily': {
    title: 'Calls and failed calls per plugin, environment and UTC day',
    exception: false,
    perTenant: true,
    sql: `SELECT day::text AS day, plugin, environment, calls, failed FROM reporting.plugin_calls_daily_v1 WHERE tenant = $1 AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day < ($3::timestamptz AT TIME ZONE 'UTC')::date`,
  },
  'lost-call-windows': {
    title: "Call windows a runner numbered but never recorded (a runner killed before it wrote them); runners' numbers name no tenant",
    exception: true,
    perTenant: false,
    sql: `SELECT runner, missing_from, missing_to, missing_count FROM reporting.call_window_gaps_v1`,
  },
  'plugin-changes': {
    title: 'Plugin versions published, installed, upgraded, rolled back, removed, and their test runs',
    exception: false,
    perTenant: true,
    sql: events(PLUGIN_CHANGES),
  },
  'emergency-changes': {
    title: 'Emergency installs and upgrades into gated environments (with their reason)',
    exception: true,
    perTenant: true,
    sql: events(['io.forgeone.plugin.installed.v1', 'io.forgeone.plugin.upgraded.v1'], ` AND data ? 'emergency'`),
  },
  'environment-changes': {
    title: 'Environment settings changed (signature mode, gating, approvals, soak, caps)',
    exception: false,
    perTenant: true,
    sql: events(['io.forgeone.environment.settings_changed.v1', 'io.forgeone.environment.weakening_proposed.v1', 'io.forgeone.environment.weakening_confirmed.v1']),
  },
  'environment-weakenings': {
    title: 'Gated environments weakened: proposals and their confirmation by a second administrator',
    exception: true,
    perTenant: true,
    sql: events(['io.forgeone.environment.weakening_proposed.v1', 'io.forgeone.environment.weakening_confirmed.v1']),
  },
  'configuration-changes': {
    title: 'Plugin configuration set and unset per environment, and changes of gated environments proposed, approved or rejected (secret values are stored encrypted)',
    exception: false,
    perTenant: true,
    sql: events([
      'io.forgeone.plugin_config.value_set.v1',
      'io.forgeone.plugin_config.value_unset.v1',
      'io.forgeone.plugin_config.change_proposed.v1',
      'io.forgeone.plugin_config.change_rejected.v1',
    ]),
  },
  'call-recording-settings': {
    title: 'How plugin calls are recorded (window summaries or every call), as set by administrators',
    exception: false,
    perTenant: true,
    sql: events(['io.forgeone.policy.call_recording_set.v1']),
  },
} as const satisfies Record<string, EvidenceQuery>;

export type EvidenceQueryId = keyof typeof EVIDENCE_QUERIES;

const control = (id: string, aliases: readonly string[], title: string, queries: readonly EvidenceQueryId[], exceptions: readonly EvidenceQueryId[] = []): EvidenceControl => ({
  id,
  aliases,
  title,
  queries,
  exceptions,
});

/** SOC 2 (2017 Trust Services Criteria), ISO/IEC 27001:2022 Annex A (2013 clauses as aliases), GDPR articles. */
export const CONTROL_MAP: Readonly<Record<EvidenceFramework, readonly EvidenceControl[]>> = {
  soc2: [
    control('CC6.1', [], 'Logical access security: identities, credentials and the policy that governs access', ['access-tokens', 'policy-set-versions', 'access-decisions'], ['policy-denials']),
    control('CC6.2', [], 'Users are registered and authorised before credentials are issued, and removed when no longer needed', ['access-tokens']),
    control('CC6.3', [], 'Access is granted, changed and removed by role, with least privilege', ['policy-set-versions', 'access-tokens'], ['policy-denials']),
    control('CC6.6', [], 'Access from outside the system boundary is restricted (credentials checked, failures counted)', ['access-decisions'], ['policy-denials']),
    control('CC6.8', [], 'Unauthorised or malicious software is prevented or detected (signatures, trusted keys, the sandbox)', ['signature-results', 'key-trust-changes'], ['unsigned-or-rejected', 'sandbox-violations']),
    control('CC7.2', [], 'System components are monitored for anomalies (complete, signed audit log; call accounting)', ['audit-rows', 'audit-checkpoints', 'plugin-calls-daily', 'invocation-failures'], ['forged-rows', 'lost-call-windows', 'sandbox-violations']),
    control('CC7.3', [], 'Security events are evaluated', ['sandbox-violations', 'policy-denials'], ['forged-rows', 'sandbox-violations', 'policy-denials']),
    control('CC8.1', [], 'Changes are authorised, tested, approved and recorded', ['plugin-changes', 'environment-changes', 'configuration-changes'], ['emergency-changes', 'environment-weakenings', 'unsigned-or-rejected']),
  ],
  iso27001: [
    control('A.5.15', ['A.9.1.1', 'A.9.1.2'], 'Access control: rules to control access are established and applied', ['policy-set-versions', 'access-decisions'], ['policy-denials']),
    control('A.5.18', ['A.9.2.1', 'A.9.2.2', 'A.9.2.5', 'A.9.2.6'], 'Access rights are provisioned, reviewed, modified and removed', ['access-tokens'], ['policy-denials']),
    control('A.8.2', ['A.9.2.3'], 'Privileged access rights are restricted and managed', ['policy-set-versions', 'access-tokens', 'environment-changes'], ['environment-weakenings']),
    control('A.8.15', ['A.12.4.1', 'A.12.4.2', 'A.12.4.3'], 'Logging: logs of activities are produced, protected and analysed', ['audit-rows', 'audit-checkpoints', 'evidence-exports'], ['forged-rows', 'lost-call-windows']),
    control('A.8.16', ['A.12.4.1'], 'Monitoring activities: anomalous behaviour is detected', ['plugin-calls-daily', 'invocation-failures', 'access-decisions'], ['sandbox-violations', 'policy-denials', 'lost-call-windows']),
    control('A.8.25', ['A.14.2.1'], 'Secure development life cycle (signed, tested releases)', ['signature-results', 'plugin-changes'], ['unsigned-or-rejected']),
    control('A.8.32', ['A.12.1.2', 'A.14.2.2'], 'Change management', ['plugin-changes', 'environment-changes', 'configuration-changes'], ['emergency-changes', 'environment-weakenings']),
  ],
  gdpr: [
    control('Art.5(1)(f)', [], 'Integrity and confidentiality: processing secured against unauthorised access and accidental loss', ['audit-checkpoints', 'access-decisions', 'audit-rows'], ['policy-denials', 'forged-rows', 'sandbox-violations']),
    control('Art.25', [], 'Data protection by design and by default (deny by default, recording settings)', ['policy-set-versions', 'call-recording-settings', 'configuration-changes']),
    control('Art.30', [], 'Records of processing activities (record-of-processing.json, generated from what the platform holds)', ['access-tokens']),
    control('Art.32', [], 'Security of processing: integrity of systems, testing of measures', ['signature-results', 'key-trust-changes', 'audit-checkpoints'], ['unsigned-or-rejected', 'sandbox-violations']),
  ],
};

/** The queries one framework's controls use, each once, in a stable order. */
export function queriesOf(framework: EvidenceFramework): EvidenceQueryId[] {
  const ids = new Set<EvidenceQueryId>();
  for (const c of CONTROL_MAP[framework]) for (const q of [...c.queries, ...c.exceptions]) ids.add(q);
  return [...ids];
}
