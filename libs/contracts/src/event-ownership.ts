import { DECISION_AGGREGATE, IDENTITY_EVENT_TYPES, POLICY_AGGREGATE, POLICY_EVENT_TYPES, TOKEN_AGGREGATE } from './authz.js';
import { CALL_RECORDING_AGGREGATE, CALL_RECORDING_EVENT_TYPES } from './call-recording.js';
import { EVENT_DATA_SCHEMAS } from './event-catalog.js';
import { INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES } from './invocation.js';
import { PLATFORM_AGGREGATE, PLATFORM_EVENT_TYPES } from './platform.events.js';
import { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES } from './audit-checkpoint.events.js';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES } from './plugin.events.js';
import { PROJECTION_AGGREGATE, PROJECTION_EVENT_TYPES } from './projection-rebuild.js';
import {
  KEY_AGGREGATE,
  KEY_EVENT_TYPES,
  RUNNER_SIGNATURE_AGGREGATE,
  RUNNER_SIGNATURE_EVENT_TYPES,
  SIGNATURE_AGGREGATE,
  SIGNATURE_EVENT_TYPES,
} from './signing.js';
import type { ServiceName } from './subjects.js';
import { ENVIRONMENT_AGGREGATE, ENVIRONMENT_EVENT_TYPES } from './environment.js';
import { PLUGIN_CONFIG_AGGREGATE, PLUGIN_CONFIG_EVENT_TYPES } from './plugin-config.js';
import { WATCH_AGGREGATE, WATCH_EVENT_TYPES } from './watch.js';
import { APPROVAL_AGGREGATE, APPROVAL_EVENT_TYPES } from './promotion.js';
import { REVIEW_AGGREGATE, REVIEW_EVENT_TYPES, REVIEW_NOTICE_AGGREGATE, REVIEW_NOTICE_EVENT_TYPES } from './review.js';
import { EVIDENCE_EXPORT_AGGREGATE, EVIDENCE_EXPORT_EVENT_TYPES } from './evidence-export.js';
import { SIEM_SINK_AGGREGATE, SIEM_SINK_EVENT_TYPES } from './siem-sink.js';

/** One aggregate of the event stream: the one service that may write it, and the event types it holds. */
export interface AggregateOwnership {
  readonly owner: ServiceName;
  readonly types: readonly string[];
}

/**
 * Who writes history. Every aggregate (`forgeone.evt.<aggregate>.<id>`) has exactly one owning
 * service, which alone may publish its subjects; every event type belongs to exactly one
 * aggregate. NATS permissions and the readers' authorship check are both derived from this table,
 * so a new event type is written by nobody until it is placed here.
 */
export const EVENT_OWNERSHIP = {
  [PLUGIN_AGGREGATE]: { owner: 'registry', types: Object.values(PLUGIN_EVENT_TYPES) },
  [SIGNATURE_AGGREGATE]: { owner: 'registry', types: Object.values(SIGNATURE_EVENT_TYPES) },
  [KEY_AGGREGATE]: { owner: 'signer', types: Object.values(KEY_EVENT_TYPES) },
  [POLICY_AGGREGATE]: { owner: 'policy', types: [POLICY_EVENT_TYPES.policySetApplied] },
  [DECISION_AGGREGATE]: { owner: 'policy', types: [POLICY_EVENT_TYPES.decisionRecorded, POLICY_EVENT_TYPES.authenticationFailuresCounted] },
  [TOKEN_AGGREGATE]: { owner: 'policy', types: Object.values(IDENTITY_EVENT_TYPES) },
  [INVOCATION_AGGREGATE]: { owner: 'sandbox-runner', types: Object.values(INVOCATION_EVENT_TYPES) },
  [RUNNER_SIGNATURE_AGGREGATE]: { owner: 'sandbox-runner', types: Object.values(RUNNER_SIGNATURE_EVENT_TYPES) },
  [PLATFORM_AGGREGATE]: { owner: 'policy', types: Object.values(PLATFORM_EVENT_TYPES) },
  [AUDIT_CHECKPOINT_AGGREGATE]: { owner: 'audit-projector', types: Object.values(AUDIT_CHECKPOINT_EVENT_TYPES) },
  [PROJECTION_AGGREGATE]: { owner: 'audit-projector', types: Object.values(PROJECTION_EVENT_TYPES) },
  [CALL_RECORDING_AGGREGATE]: { owner: 'policy', types: Object.values(CALL_RECORDING_EVENT_TYPES) },
  // The registry enforces environment settings (signature mode and threshold at install) and holds plugin configuration.
  [ENVIRONMENT_AGGREGATE]: { owner: 'registry', types: Object.values(ENVIRONMENT_EVENT_TYPES) },
  [PLUGIN_CONFIG_AGGREGATE]: { owner: 'registry', types: Object.values(PLUGIN_CONFIG_EVENT_TYPES) },
  // The plugins/ directory watcher is a client: the registry records the drops it refused (watch.drop-rejected).
  [WATCH_AGGREGATE]: { owner: 'registry', types: Object.values(WATCH_EVENT_TYPES) },
  // The registry decides promotions, so it keeps the approvals they count.
  [APPROVAL_AGGREGATE]: { owner: 'registry', types: Object.values(APPROVAL_EVENT_TYPES) },
  // The registry decides plugin commands and must know where reviews stand to refuse the upgrade of an overdue plugin.
  [REVIEW_AGGREGATE]: { owner: 'registry', types: Object.values(REVIEW_EVENT_TYPES) },
  [REVIEW_NOTICE_AGGREGATE]: { owner: 'registry', types: Object.values(REVIEW_NOTICE_EVENT_TYPES) },
  // The audit-projector holds the audit key that signs an export's manifest, and records the export once signed.
  [EVIDENCE_EXPORT_AGGREGATE]: { owner: 'audit-projector', types: Object.values(EVIDENCE_EXPORT_EVENT_TYPES) },
  // Tenant configuration is the registry's, and it seals secrets; the siem-forwarder owns no events and only reads these.
  [SIEM_SINK_AGGREGATE]: { owner: 'registry', types: Object.values(SIEM_SINK_EVENT_TYPES) },
} as const satisfies Readonly<Record<string, AggregateOwnership>>;

export type OwnedAggregate = keyof typeof EVENT_OWNERSHIP;

/** The owning service of an aggregate, or undefined for an aggregate nobody may write. */
export function aggregateOwner(aggregate: string): ServiceName | undefined {
  return Object.hasOwn(EVENT_OWNERSHIP, aggregate) ? (EVENT_OWNERSHIP as Record<string, AggregateOwnership>)[aggregate].owner : undefined;
}

// Built once: every append and every event read looks its type up.
const AGGREGATE_OF_TYPE = new Map<string, string>();
for (const [aggregate, { types }] of Object.entries(EVENT_OWNERSHIP as Record<string, AggregateOwnership>)) {
  for (const type of types) if (!AGGREGATE_OF_TYPE.has(type)) AGGREGATE_OF_TYPE.set(type, aggregate);
}

/** The aggregate an event type belongs to, or undefined for a type outside the table. */
export function aggregateOfEventType(type: string): string | undefined {
  return AGGREGATE_OF_TYPE.get(type);
}

/** The aggregates a service owns (and so the event subjects it alone may publish). */
export function aggregatesOwnedBy(service: ServiceName): string[] {
  return Object.entries(EVENT_OWNERSHIP as Record<string, AggregateOwnership>)
    .filter(([, ownership]) => ownership.owner === service)
    .map(([aggregate]) => aggregate);
}

/** Problems with the table itself (a type in two aggregates, a catalogued type with no owner); empty when sound. */
export function ownershipProblems(): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [aggregate, { types }] of Object.entries(EVENT_OWNERSHIP as Record<string, AggregateOwnership>)) {
    for (const type of types) {
      const other = seen.get(type);
      if (other) problems.push(`event type ${type} is in both ${other} and ${aggregate}`);
      seen.set(type, aggregate);
      if (!Object.hasOwn(EVENT_DATA_SCHEMAS, type)) problems.push(`event type ${type} (aggregate ${aggregate}) has no data schema in EVENT_DATA_SCHEMAS`);
    }
  }
  for (const type of Object.keys(EVENT_DATA_SCHEMAS)) {
    if (!seen.has(type)) problems.push(`event type ${type} has no owning aggregate in EVENT_OWNERSHIP`);
  }
  return problems;
}
