export { createDataSource, persistenceOptions, runMigrations, PERSISTENCE_MIGRATIONS, MIGRATIONS_TABLE, type PersistenceOptions } from './postgres.data-source.js';
export {
  PERSISTENCE_ENTITIES,
  CheckpointEntity,
  PluginEntity,
  PluginVersionEntity,
  InstallationEntity,
  AuditLogEntity,
  type AuditLogRow,
  type CheckpointRow,
} from './entities/read-model.entities.js';

export type { Projection, ProjectableEvent, PluginCloudEvent, RecordedEvent } from './projections/projection.types.js';
export { pluginsProjection, type PluginRow, type PluginKey } from './projections/plugins.projection.js';
export { pluginVersionsProjection, type PluginVersionRow, type PluginVersionKey } from './projections/plugin-versions.projection.js';
export { installationsProjection, type InstallationRow, type InstallationKey, type InstallationStatus } from './projections/installations.projection.js';

export { applyEvent, resetProjections, type ApplyEventOptions, type ApplyResult } from './writer/projection.writer.js';
export { ProjectionGapError, PoisonEventError, AuditLogConflictError } from './writer/projection.errors.js';
export { checkEvent, type CheckedEvent } from './writer/event.checker.js';

export { canonicalJson } from '@forgeone/contracts';
export { auditHash, GENESIS_HASH, pluginOf } from './audit/audit-chain.js';
export { verifyAuditChain, auditEntryToEvent, type AuditChainReport } from './audit/audit-chain.verifier.js';

export { listPlugins, getPlugin, type PluginListItem, type PluginDetails } from './queries/plugin.queries.js';
export { auditLog, pluginHistory, AUDIT_LOG_MAX_LIMIT, type AuditEntry, type AuditLogQuery } from './queries/audit-log.queries.js';
export { checkpoint, type ProjectorCheckpoint } from './queries/checkpoint.queries.js';
