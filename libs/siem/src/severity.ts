import type { CloudEvent } from '@forgeone/contracts';

/** How much a SOC should care about an event: violations and signature rejections high, denials medium, lifecycle low. */
export type SiemSeverity = 'low' | 'medium' | 'high';

export const SIEM_SEVERITIES: readonly SiemSeverity[] = ['low', 'medium', 'high'];

const HIGH = new Set([
  'io.forgeone.plugin.sandbox_violation.v1',
  'io.forgeone.signature.rejected.v1',
  'io.forgeone.signature.runner_rejected.v1',
  'io.forgeone.platform.nats_insecure_start.v1',
  // The forwarder's own record of a message that failed authorship verification (a tampering attempt).
  'io.forgeone.siem.forged_event.v1',
]);

const MEDIUM = new Set([
  'io.forgeone.policy.authentication_failures_counted.v1',
  'io.forgeone.plugin.invocation_failed.v1',
  'io.forgeone.key.revoked.v1',
  'io.forgeone.identity.token_revoked.v1',
  'io.forgeone.environment.weakening_proposed.v1',
  'io.forgeone.environment.weakening_confirmed.v1',
]);

/** The severity of one event: by type, and for policy decisions by outcome (a denial is medium, an allow low). */
export function severityOf(event: Pick<CloudEvent, 'type' | 'data'>): SiemSeverity {
  if (HIGH.has(event.type)) return 'high';
  if (MEDIUM.has(event.type)) return 'medium';
  if (event.type === 'io.forgeone.policy.decision_recorded.v1') {
    const decision = (event.data as { decision?: unknown } | null)?.decision;
    return decision === 'deny' ? 'medium' : 'low';
  }
  return 'low';
}

/** The rank of a severity, to compare with a sink's minimum. */
export function severityRank(severity: SiemSeverity): number {
  return SIEM_SEVERITIES.indexOf(severity);
}

/** CEF's 0-10 scale (ArcSight reads 0-3 low, 4-6 medium, 7-8 high, 9-10 very high). */
export function cefSeverity(severity: SiemSeverity): number {
  return severity === 'high' ? 8 : severity === 'medium' ? 5 : 3;
}

/** RFC 5424 severity: critical (2), warning (4), informational (6). */
export function syslogSeverity(severity: SiemSeverity): number {
  return severity === 'high' ? 2 : severity === 'medium' ? 4 : 6;
}

/** OCSF `severity_id`: Low (2), Medium (3), High (4). */
export function ocsfSeverityId(severity: SiemSeverity): number {
  return severity === 'high' ? 4 : severity === 'medium' ? 3 : 2;
}
