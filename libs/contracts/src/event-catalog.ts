import type { z } from 'zod';
import {
  PLUGIN_EVENT_TYPES,
  PluginInstalledSchema,
  PluginRemovedSchema,
  PluginRolledBackSchema,
  PluginTestRunRecordedSchema,
  PluginUpgradedSchema,
  PluginVersionPublishedSchema,
} from './plugin.events.js';
import {
  AuthenticationFailuresCountedSchema,
  DecisionRecordedSchema,
  IDENTITY_EVENT_TYPES,
  PolicySetAppliedSchema,
  POLICY_EVENT_TYPES,
  TokenIssuedSchema,
  TokenRevokedSchema,
} from './authz.js';
import { INVOCATION_EVENT_TYPES, InvocationFailedSchema, InvocationRecordedSchema, InvocationsRecordedSchema, SandboxViolationSchema } from './invocation.js';
import { NatsInsecureStartSchema, PLATFORM_EVENT_TYPES } from './platform.events.js';
import { AUDIT_CHECKPOINT_EVENT_TYPES, AuditCheckpointSignedSchema } from './audit-checkpoint.events.js';
import { PROJECTION_EVENT_TYPES, RebuildCompletedSchema, RebuildStartedSchema } from './projection-rebuild.js';
import { CALL_RECORDING_EVENT_TYPES, CallRecordingSetSchema } from './call-recording.js';
import {
  ENVIRONMENT_EVENT_TYPES,
  EnvironmentSettingsChangedSchema,
  EnvironmentWeakeningConfirmedSchema,
  EnvironmentWeakeningProposedSchema,
} from './environment.js';
import { EVIDENCE_EXPORT_EVENT_TYPES, EvidenceExportedSchema } from './evidence-export.js';
import { PLUGIN_CONFIG_EVENT_TYPES, PluginConfigChangeProposedSchema, PluginConfigChangeRejectedSchema, PluginConfigValueSetSchema, PluginConfigValueUnsetSchema } from './plugin-config.js';
import { SIEM_SINK_EVENT_TYPES, SiemSinkAddedSchema, SiemSinkRemovedSchema } from './siem-sink.js';
import { WATCH_EVENT_TYPES, DropRejectedSchema } from './watch.js';
import { APPROVAL_EVENT_TYPES, VersionApprovedSchema, VersionRejectedSchema } from './promotion.js';
import { REVIEW_EVENT_TYPES, REVIEW_NOTICE_EVENT_TYPES, ReviewRecordedSchema, IncidentRecordedSchema, RegulationRecordedSchema } from './review.js';
import { KEY_EVENT_TYPES, KeyRevokedSchema, KeyTrustedSchema, RUNNER_SIGNATURE_EVENT_TYPES, SIGNATURE_EVENT_TYPES, SignatureResultSchema } from './signing.js';

/** Data schema of every event type the platform writes; readers refuse types not listed here. */
export const EVENT_DATA_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  [PLUGIN_EVENT_TYPES.versionPublished]: PluginVersionPublishedSchema,
  [PLUGIN_EVENT_TYPES.installed]: PluginInstalledSchema,
  [PLUGIN_EVENT_TYPES.upgraded]: PluginUpgradedSchema,
  [PLUGIN_EVENT_TYPES.rolledBack]: PluginRolledBackSchema,
  [PLUGIN_EVENT_TYPES.removed]: PluginRemovedSchema,
  [PLUGIN_EVENT_TYPES.testRunRecorded]: PluginTestRunRecordedSchema,
  [IDENTITY_EVENT_TYPES.tokenIssued]: TokenIssuedSchema,
  [IDENTITY_EVENT_TYPES.tokenRevoked]: TokenRevokedSchema,
  [POLICY_EVENT_TYPES.policySetApplied]: PolicySetAppliedSchema,
  [POLICY_EVENT_TYPES.decisionRecorded]: DecisionRecordedSchema,
  [POLICY_EVENT_TYPES.authenticationFailuresCounted]: AuthenticationFailuresCountedSchema,
  [INVOCATION_EVENT_TYPES.invocationFailed]: InvocationFailedSchema,
  [INVOCATION_EVENT_TYPES.sandboxViolation]: SandboxViolationSchema,
  [INVOCATION_EVENT_TYPES.invocationsRecorded]: InvocationsRecordedSchema,
  [INVOCATION_EVENT_TYPES.invocationRecorded]: InvocationRecordedSchema,
  [KEY_EVENT_TYPES.trusted]: KeyTrustedSchema,
  [KEY_EVENT_TYPES.revoked]: KeyRevokedSchema,
  [SIGNATURE_EVENT_TYPES.verified]: SignatureResultSchema,
  [SIGNATURE_EVENT_TYPES.rejected]: SignatureResultSchema,
  [RUNNER_SIGNATURE_EVENT_TYPES.verified]: SignatureResultSchema,
  [RUNNER_SIGNATURE_EVENT_TYPES.rejected]: SignatureResultSchema,
  [PLATFORM_EVENT_TYPES.natsInsecureStart]: NatsInsecureStartSchema,
  [AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned]: AuditCheckpointSignedSchema,
  [PROJECTION_EVENT_TYPES.rebuildStarted]: RebuildStartedSchema,
  [PROJECTION_EVENT_TYPES.rebuildCompleted]: RebuildCompletedSchema,
  [CALL_RECORDING_EVENT_TYPES.set]: CallRecordingSetSchema,
  [ENVIRONMENT_EVENT_TYPES.settingsChanged]: EnvironmentSettingsChangedSchema,
  [ENVIRONMENT_EVENT_TYPES.weakeningProposed]: EnvironmentWeakeningProposedSchema,
  [ENVIRONMENT_EVENT_TYPES.weakeningConfirmed]: EnvironmentWeakeningConfirmedSchema,
  [PLUGIN_CONFIG_EVENT_TYPES.valueSet]: PluginConfigValueSetSchema,
  [PLUGIN_CONFIG_EVENT_TYPES.valueUnset]: PluginConfigValueUnsetSchema,
  [PLUGIN_CONFIG_EVENT_TYPES.changeProposed]: PluginConfigChangeProposedSchema,
  [PLUGIN_CONFIG_EVENT_TYPES.changeRejected]: PluginConfigChangeRejectedSchema,
  [WATCH_EVENT_TYPES.dropRejected]: DropRejectedSchema,
  [APPROVAL_EVENT_TYPES.approved]: VersionApprovedSchema,
  [APPROVAL_EVENT_TYPES.rejected]: VersionRejectedSchema,
  [REVIEW_EVENT_TYPES.recorded]: ReviewRecordedSchema,
  [REVIEW_NOTICE_EVENT_TYPES.incidentRecorded]: IncidentRecordedSchema,
  [REVIEW_NOTICE_EVENT_TYPES.regulationRecorded]: RegulationRecordedSchema,
  [EVIDENCE_EXPORT_EVENT_TYPES.exported]: EvidenceExportedSchema,
  [SIEM_SINK_EVENT_TYPES.added]: SiemSinkAddedSchema,
  [SIEM_SINK_EVENT_TYPES.removed]: SiemSinkRemovedSchema,
};

export function isKnownEventType(type: string): boolean {
  return Object.hasOwn(EVENT_DATA_SCHEMAS, type);
}
