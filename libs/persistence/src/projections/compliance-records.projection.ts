import {
  DecisionRecordedSchema,
  IDENTITY_EVENT_TYPES,
  INVOCATION_EVENT_TYPES,
  KEY_EVENT_TYPES,
  POLICY_EVENT_TYPES,
  RUNNER_SIGNATURE_EVENT_TYPES,
  SIGNATURE_EVENT_TYPES,
  type KeyEvent,
  type PolicySetApplied,
  type TokenIssued,
  type TokenRevoked,
  type CloudEvent,
} from '@forgeone/contracts';
import type { z } from 'zod';
import { iso, num, type TableProjection } from './table-projection.types.js';

export type ComplianceKind = 'policy-denial' | 'signature-result' | 'sandbox-violation' | 'key-trust-change' | 'policy-set-version' | 'token-event';

/** One compliance-relevant event, its facts flattened into `detail` (what the reporting views read). */
export interface ComplianceRecordRow extends Record<string, unknown> {
  readonly sequence: number;
  readonly kind: ComplianceKind;
  readonly tenant: string;
  readonly occurred_at: string;
  readonly event_type: string;
  readonly actor: string;
  readonly plugin: string | null;
  readonly detail: Record<string, unknown>;
}

type Decision = z.infer<typeof DecisionRecordedSchema>;
interface SignatureResult {
  name: string;
  version: string;
  environment: string | null;
  stage: string;
  mode: string;
  keyIds: string[];
  reason: string | null;
  flagged: boolean;
}
interface Violation {
  plugin: string;
  version: string;
  environment: string;
  principal: string;
  limit: string;
  code: string;
  hook?: string;
}

// Absent facts are left out rather than stored as null, so a view's column reads NULL either way.
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/** What a record says of an event, or null when the event is none of the compliance kinds. */
function recordOf(event: CloudEvent): { kind: ComplianceKind; plugin: string | null; detail: Record<string, unknown> } | null {
  switch (event.type) {
    case POLICY_EVENT_TYPES.decisionRecorded: {
      const d = event.data as Decision;
      if (d.decision !== 'deny') return null;
      return {
        kind: 'policy-denial',
        plugin: d.resource.type === 'Plugin' ? d.resource.id : null,
        detail: defined({ principal: d.principal, action: d.action, resourceType: d.resource.type, resourceId: d.resource.id, environment: d.environment, reason: d.reason, policyVersion: d.policyVersion, policyIds: d.policyIds }),
      };
    }
    case SIGNATURE_EVENT_TYPES.verified:
    case SIGNATURE_EVENT_TYPES.rejected:
    case RUNNER_SIGNATURE_EVENT_TYPES.verified:
    case RUNNER_SIGNATURE_EVENT_TYPES.rejected: {
      const d = event.data as SignatureResult;
      const verified = event.type === SIGNATURE_EVENT_TYPES.verified || event.type === RUNNER_SIGNATURE_EVENT_TYPES.verified;
      return { kind: 'signature-result', plugin: d.name, detail: defined({ version: d.version, environment: d.environment, stage: d.stage, mode: d.mode, verified, flagged: d.flagged, reason: d.reason, keyIds: d.keyIds }) };
    }
    case INVOCATION_EVENT_TYPES.sandboxViolation: {
      const d = event.data as Violation;
      return { kind: 'sandbox-violation', plugin: d.plugin, detail: defined({ version: d.version, environment: d.environment, principal: d.principal, limit: d.limit, code: d.code, hook: d.hook }) };
    }
    case KEY_EVENT_TYPES.trusted:
    case KEY_EVENT_TYPES.revoked: {
      const e = { type: event.type, data: event.data } as KeyEvent;
      return e.type === KEY_EVENT_TYPES.trusted
        ? { kind: 'key-trust-change', plugin: null, detail: defined({ keyId: e.data.keyId, change: 'trusted', publisher: e.data.publisher, by: e.data.trustedBy }) }
        : { kind: 'key-trust-change', plugin: null, detail: defined({ keyId: e.data.keyId, change: 'revoked', by: e.data.revokedBy, reason: e.data.reason }) };
    }
    case POLICY_EVENT_TYPES.policySetApplied: {
      const d = event.data as PolicySetApplied['data'];
      return { kind: 'policy-set-version', plugin: null, detail: { version: d.version, sha256: d.sha256, by: d.appliedBy, policies: Object.keys(d.policies).length } };
    }
    case IDENTITY_EVENT_TYPES.tokenIssued: {
      // The secret's hash stays in the event: a report has no use for it.
      const d = event.data as TokenIssued['data'];
      return { kind: 'token-event', plugin: null, detail: defined({ tokenId: d.tokenId, change: 'issued', principal: d.principal, role: d.role, expiresAt: d.expiresAt, by: d.issuedBy }) };
    }
    case IDENTITY_EVENT_TYPES.tokenRevoked: {
      const d = event.data as TokenRevoked['data'];
      return { kind: 'token-event', plugin: null, detail: defined({ tokenId: d.tokenId, change: 'revoked', by: d.revokedBy, reason: d.reason }) };
    }
    default:
      return null;
  }
}

export const complianceRecordsProjection: TableProjection<ComplianceRecordRow> = {
  name: 'compliance-records',
  table: 'compliance_records',

  keyOf({ sequence, event }) {
    return recordOf(event) === null ? null : { sequence };
  },

  // One row per stream sequence: written once, never changed.
  evolve(row, { sequence, event }) {
    if (row) return row;
    const record = recordOf(event);
    if (record === null) return null;
    return { sequence, kind: record.kind, tenant: event.tenant, occurred_at: iso(event.time), event_type: event.type, actor: event.actor, plugin: record.plugin, detail: record.detail };
  },

  fromDb(raw) {
    return { ...(raw as unknown as ComplianceRecordRow), sequence: num(raw.sequence), occurred_at: iso(raw.occurred_at) };
  },
};
