import type { CloudEvent } from '@forgeone/contracts';
import { dataField, type SiemEvent } from './siem-event.js';
import { ocsfSeverityId, severityOf } from './severity.js';
import { eventTitle } from './cef.format.js';

/** The OCSF schema version the events follow. */
export const OCSF_VERSION = '1.3.0';

/** One OCSF class: its uid, category and what the platform's event is as an activity of it. */
export interface OcsfClass {
  readonly classUid: number;
  readonly className: string;
  readonly categoryUid: number;
  readonly categoryName: string;
  /** `activity_id` of the event in its class (99: Other, named by `activity_name`). */
  readonly activityId: number;
}

const API_ACTIVITY = { classUid: 6003, className: 'API Activity', categoryUid: 6, categoryName: 'Application Activity' } as const;
const APPLICATION_LIFECYCLE = { classUid: 6002, className: 'Application Lifecycle', categoryUid: 6, categoryName: 'Application Activity' } as const;
const DETECTION_FINDING = { classUid: 2004, className: 'Detection Finding', categoryUid: 2, categoryName: 'Findings' } as const;
const ENTITY_MANAGEMENT = { classUid: 3004, className: 'Entity Management', categoryUid: 3, categoryName: 'Identity & Access Management' } as const;

/**
 * The class of each event type (docs/siem.md has the table). Activity ids are the class's own:
 * API Activity 1 Create, 2 Read, 3 Update, 4 Delete; Application Lifecycle 1 Install, 2 Remove,
 * 5 Update; Detection Finding 1 Create; Entity Management 1 Create, 4 Delete (revoke).
 */
export const OCSF_CLASS_OF_TYPE: Readonly<Record<string, OcsfClass>> = {
  'io.forgeone.plugin.version_published.v1': { ...APPLICATION_LIFECYCLE, activityId: 99 },
  'io.forgeone.plugin.installed.v1': { ...APPLICATION_LIFECYCLE, activityId: 1 },
  'io.forgeone.plugin.upgraded.v1': { ...APPLICATION_LIFECYCLE, activityId: 5 },
  'io.forgeone.plugin.rolled_back.v1': { ...APPLICATION_LIFECYCLE, activityId: 5 },
  'io.forgeone.plugin.removed.v1': { ...APPLICATION_LIFECYCLE, activityId: 2 },
  'io.forgeone.plugin.sandbox_violation.v1': { ...DETECTION_FINDING, activityId: 1 },
  'io.forgeone.signature.rejected.v1': { ...DETECTION_FINDING, activityId: 1 },
  'io.forgeone.signature.runner_rejected.v1': { ...DETECTION_FINDING, activityId: 1 },
  'io.forgeone.platform.nats_insecure_start.v1': { ...DETECTION_FINDING, activityId: 1 },
  'io.forgeone.siem.forged_event.v1': { ...DETECTION_FINDING, activityId: 1 },
  'io.forgeone.key.trusted.v1': { ...ENTITY_MANAGEMENT, activityId: 1 },
  'io.forgeone.key.revoked.v1': { ...ENTITY_MANAGEMENT, activityId: 4 },
  'io.forgeone.identity.token_issued.v1': { ...ENTITY_MANAGEMENT, activityId: 1 },
  'io.forgeone.identity.token_revoked.v1': { ...ENTITY_MANAGEMENT, activityId: 4 },
};

/** Every type the table does not name (commands, decisions, denials, settings, invocations, checkpoints) is API Activity. */
export function ocsfClassOf(type: string): OcsfClass {
  return OCSF_CLASS_OF_TYPE[type] ?? { ...API_ACTIVITY, activityId: 99 };
}

/**
 * One event as an OCSF object: base attributes (class, category, activity, type_uid, severity,
 * time, status), `metadata.uid` the event id (the de-duplication key) with the stream sequence
 * and tenant, `actor`, and the class's own object (`api`, `app`, `finding_info` or `entity`). The
 * event's data travels as it is in `unmapped`.
 */
export function renderOcsf({ sequence, event }: SiemEvent): Record<string, unknown> {
  const cls = ocsfClassOf(event.type);
  const severity = severityOf(event);
  const title = eventTitle(event.type);
  const denied = event.type === 'io.forgeone.policy.decision_recorded.v1' && (event.data as { decision?: unknown } | null)?.decision === 'deny';
  const base: Record<string, unknown> = {
    class_uid: cls.classUid,
    class_name: cls.className,
    category_uid: cls.categoryUid,
    category_name: cls.categoryName,
    activity_id: cls.activityId,
    activity_name: title,
    type_uid: cls.classUid * 100 + cls.activityId,
    severity_id: ocsfSeverityId(severity),
    severity: severity === 'high' ? 'High' : severity === 'medium' ? 'Medium' : 'Low',
    time: Date.parse(event.time),
    message: title,
    status_id: denied ? 2 : 1,
    status: denied ? 'Failure' : 'Success',
    metadata: {
      version: OCSF_VERSION,
      uid: event.id,
      sequence,
      tenant_uid: event.tenant,
      log_name: event.type,
      product: { name: 'ForgeOne Platform', vendor_name: 'ForgeOne', version: '1' },
    },
    actor: { user: { uid: event.actor } },
    unmapped: { subject: event.subject, source: event.source, data: event.data ?? null },
  };
  return { ...base, ...classObject(cls, event, title) };
}

function classObject(cls: OcsfClass, event: CloudEvent, title: string): Record<string, unknown> {
  const plugin = dataField(event, 'name', 'plugin');
  switch (cls.classUid) {
    case 2004:
      return { finding_info: { uid: event.id, title, types: [event.type], ...(plugin ? { desc: `plugin ${plugin}` } : {}) } };
    case 3004:
      return { entity: { uid: dataField(event, 'keyId', 'tokenId') ?? event.subject, name: dataField(event, 'keyId', 'tokenId', 'name') ?? event.subject, type: event.type.split('.')[2] } };
    case 6002:
      return { app: { name: plugin ?? event.subject, ...(dataField(event, 'version', 'to') ? { version: dataField(event, 'version', 'to') } : {}) } };
    default:
      return { api: { operation: event.type } };
  }
}

/** The Splunk HEC envelope of one OCSF event (`/services/collector/event`): time in seconds, the event as `event`. */
export function hecEnvelope(siemEvent: SiemEvent, ocsf: Record<string, unknown>, host: string): string {
  return JSON.stringify({ time: Date.parse(siemEvent.event.time) / 1000, host, source: 'forgeone', sourcetype: 'ocsf', event: ocsf });
}
