export { createDataSource, databaseReadiness, migrateAtStart, persistenceOptions, runMigrations, PERSISTENCE_MIGRATIONS, MIGRATIONS_TABLE, type PersistenceOptions } from './postgres.data-source.js';
export {
  PERSISTENCE_ENTITIES,
  CheckpointEntity,
  PluginEntity,
  PluginVersionEntity,
  InstallationEntity,
  AuditLogEntity,
  SecurityFindingEntity,
  SecurityFindingCountEntity,
  type AuditLogRow,
  type CheckpointRow,
  type ForgedDetail,
  type SecurityFindingRow,
  type SecurityFindingCountRow,
} from './entities/read-model.entities.js';

export type { Projection, ProjectableEvent, PluginCloudEvent, RecordedEvent } from './projections/projection.types.js';
export { pluginsProjection, type PluginRow, type PluginKey } from './projections/plugins.projection.js';
export { pluginVersionsProjection, type PluginVersionRow, type PluginVersionKey } from './projections/plugin-versions.projection.js';
export { installationsProjection, type InstallationRow, type InstallationKey, type InstallationStatus } from './projections/installations.projection.js';

export {
  advanceCheckpoint,
  applyEvent,
  applyEventIn,
  openProjectorCursor,
  resetProjections,
  type ApplyEventOptions,
  type ApplyResult,
  type ProjectorCursor,
} from './writer/projection.writer.js';
export { applyEvents, isProjectionHalt, type ApplyEventsOptions, type ProjectionBatchItem, type ProjectionHaltError } from './writer/projection-batch.writer.js';
export { recordForgedEvent, recordForgedEventIn, forgedAuditEvent, type ForgedMessage } from './writer/forged-event.writer.js';
export { SECURITY_FINDINGS_PER_WINDOW } from './writer/security-finding.writer.js';
export { ProjectionGapError, PoisonEventError, AuditLogConflictError } from './writer/projection.errors.js';
export { checkEvent, type CheckedEvent } from './writer/event.checker.js';

export { canonicalJson } from '@forgeone/contracts';
export { auditHash, GENESIS_HASH, pluginOf, type ForgedMark } from './audit/audit-chain.js';
export { verifyAuditChain, auditEntryToEvent, auditEntryForgedMark, REPORTED_FORGED_SEQUENCES, type AuditChainReport } from './audit/audit-chain.verifier.js';

export { listPlugins, getPlugin, type PluginListItem, type PluginDetails } from './queries/plugin.queries.js';
export { auditLog, pluginHistory, AUDIT_LOG_MAX_LIMIT, type AuditEntry, type AuditLogQuery } from './queries/audit-log.queries.js';
export { checkpoint, type ProjectorCheckpoint } from './queries/checkpoint.queries.js';
export { securityFindings, type SecurityFindingsReport } from './queries/security-findings.queries.js';

export { auditEventDigest, auditLeafText, auditLeafHash, AUDIT_LEAF_FORMAT, type AuditLeaf } from './audit/audit-leaf.js';
export {
  auditTreeSize,
  auditTreeRoot,
  auditLeavesBesides,
  auditCheckpoint,
  auditCheckpoints,
  auditInclusionProof,
  auditConsistencyProof,
  type AuditCheckpoint,
  type AuditInclusionProof,
  type AuditConsistencyProof,
} from './queries/transparency-log.queries.js';
export {
  createProjectionSchema,
  currentProjectionSchema,
  dropProjectionSchema,
  isProjectionRebuild,
  quoteName,
  rebuildDataSource,
  PROJECTION_REBUILD_SETTING,
  type SqlRunner,
} from './rebuild/projection-schema.js';
export {
  compareProjectionSchemas,
  inequalityReason,
  type AuditTip,
  type ProjectionComparison,
  type TableComparison,
  type TableDigest,
} from './rebuild/projection-schema.comparison.js';
export { swapProjectionSchemas, type CatchUp, type SwapOptions, type SwapOutcome } from './rebuild/projection-schema.swap.js';
export type { StreamRecord, TableProjection } from './projections/table-projection.types.js';
export { callWindowsProjection, type CallWindowRow } from './projections/call-windows.projection.js';
export { pluginCallsDailyProjection, type PluginCallsDailyRow } from './projections/plugin-calls-daily.projection.js';
export { pluginReviewsProjection, reviewNoticesProjection, type PluginReviewRow, type ReviewNoticeRow } from './projections/reviews.projection.js';
export { complianceRecordsProjection, type ComplianceRecordRow, type ComplianceKind } from './projections/compliance-records.projection.js';
export { readReport, REPORT_MAX_ROWS, type ReportResult, type ReportValue } from './queries/report.queries.js';
export { REPORTING_SCHEMA, REPORTING_ROLE, REPORTING_VIEWS, reportingViewStatements } from './migrations/reporting-views.sql.js';
export { verifyTransparencyLog, type ExternalCheckpoint, type TransparencyLogReport, type TransparencyLogFault, type TransparencyLogVerifyOptions, type StreamMessage, type StreamMessageReader } from './audit/transparency-log.verifier.js';
export { pluginTestRunsProjection, type PluginTestRunRow } from './projections/plugin-test-runs.projection.js';
export { listTestRuns } from './queries/test-run.queries.js';
export { CONTROL_MAP, EVIDENCE_QUERIES, queriesOf, type EvidenceControl, type EvidenceQuery, type EvidenceQueryId } from './evidence/control-map.js';
export { writeEvidenceExport, UNPAGED_MAX_ROWS, type EvidenceExportInput, type EvidenceSink } from './evidence/evidence-export.writer.js';
