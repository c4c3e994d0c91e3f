import type { DataSource } from 'typeorm';

/**
 * A GDPR Art. 30 record of processing for one tenant, generated from what the platform holds:
 * which categories of personal data reach it, where, for what purpose, and how long they are kept.
 * The counts come from the tenant's audit log and projections at the time of the export.
 */
export async function recordOfProcessing(ds: DataSource, tenant: string, now: Date) {
  const [counts]: Record<string, string>[] = await ds.query(
    `SELECT
       (SELECT count(DISTINCT actor) FROM audit_log WHERE tenant = $1) AS actors,
       (SELECT count(*) FROM reporting.token_events_v1 WHERE tenant = $1 AND change = 'issued') AS tokens_issued,
       (SELECT count(DISTINCT principal) FROM reporting.token_events_v1 WHERE tenant = $1) AS token_principals,
       (SELECT count(*) FROM audit_log WHERE tenant = $1 AND (data ? 'reason' OR data ? 'emergency' OR data ? 'note')) AS free_text_rows,
       (SELECT count(*) FROM audit_log WHERE tenant = $1) AS audit_rows,
       (SELECT count(DISTINCT name) FROM installations WHERE tenant = $1 AND status = 'installed') AS installed_plugins,
       (SELECT min(occurred_at) FROM audit_log WHERE tenant = $1) AS first_row`,
    [tenant],
  );
  const n = (key: string) => Number(counts?.[key] ?? 0);
  return {
    format: 'forgeone.gdpr.art30.v1',
    controller: `tenant ${tenant} (the organisation operating it fills in its name and contact)`,
    processor: 'ForgeOne platform operator',
    generatedAt: now.toISOString(),
    processingActivities: [
      {
        activity: 'Authenticating and authorising people and services that use the platform',
        purposes: ['access control', 'security of processing (Art. 32)'],
        dataSubjects: 'employees and contractors of the tenant holding API tokens',
        personalData: ['principal ids (chosen by the tenant, may be names or e-mail addresses)', 'token metadata: role, issue and expiry times, who issued or revoked it (never the secret)'],
        heldIn: ['event stream (token_issued, token_revoked, decision_recorded)', 'audit_log', 'reporting.token_events_v1', 'reporting.policy_denials_v1'],
        counts: { principalsWithTokens: n('token_principals'), tokensIssued: n('tokens_issued') },
        retention: 'kept for the life of the platform: the stream and the audit log are append-only and cannot be erased (deny_delete, deny_purge, triggers)',
      },
      {
        activity: 'Recording what was done on the platform (the audit log)',
        purposes: ['accountability', 'evidence for audits', 'detecting misuse'],
        dataSubjects: 'every principal that acted (actors)',
        personalData: ['actor principal ids on every event', 'client addresses of failed authentications (bounded per window)', 'free-text reasons and notes given with changes (rollbacks, revocations, emergencies, approvals)'],
        heldIn: ['event stream', 'audit_log', 'audit_merkle_nodes (hashes only)'],
        counts: { distinctActors: n('actors'), auditRows: n('audit_rows'), rowsWithFreeText: n('free_text_rows'), firstRow: counts?.['first_row'] ? new Date(counts['first_row']).toISOString() : null },
        retention: 'kept for the life of the platform and cannot be erased: free-text fields must not hold personal data beyond what the reason needs',
      },
      {
        activity: "Running the tenant's plugins",
        purposes: ["the tenant's own purposes, for which the tenant is controller"],
        dataSubjects: "whoever the tenant's plugins process data about",
        personalData: ['call inputs and outputs pass through memory only and are not stored', 'plugin key/value storage (per plugin, environment and tenant, within quotas)', 'caller principal ids in call-window summaries'],
        heldIn: ['NATS key/value bucket of plugin storage', 'call_windows, plugin_calls_daily (counts only)'],
        counts: { installedPlugins: n('installed_plugins') },
        retention: "plugin storage: until the plugin or the tenant deletes it; call summaries: kept with the audit log",
      },
    ],
    recipients: ['the tenant\'s auditors (read-audit, export-evidence)', 'the platform operator', 'a SIEM when one is configured'],
    transfersToThirdCountries: 'none by the platform; depends on where the operator runs it',
    securityMeasures: ['deny-by-default Cedar policies', 'signed plugins and trusted keys', 'WebAssembly sandbox with fuel and memory limits', 'hash-chained audit log with signed Merkle checkpoints', 'secrets of plugin configuration encrypted (AES-256-GCM)'],
  };
}
