import { DataSource, type DataSourceOptions } from 'typeorm';
import { PERSISTENCE_ENTITIES } from './entities/read-model.entities.js';
import { CreateReadModel1795780600000 } from './migrations/1795780600000-create-read-model.migration.js';
import { CreateAuditLog1795780600001 } from './migrations/1795780600001-create-audit-log.migration.js';
import { AddVersionSignature1795780600002 } from './migrations/1795780600002-add-version-signature.migration.js';
import { AddVersionPrivateEgress1795780600003 } from './migrations/1795780600003-add-version-private-egress.migration.js';
import { RecordForgedEvents1795780600004 } from './migrations/1795780600004-record-forged-events.migration.js';
import { AddAuditMerkleTree1795780700000 } from './migrations/1795780700000-add-audit-merkle-tree.migration.js';
import { CreateCallAccounting1795780800000 } from './migrations/1795780800000-create-call-accounting.migration.js';
import { CreateReportingViews1795780800001 } from './migrations/1795780800001-create-reporting-views.migration.js';
import { MarkProjectionTimeColumns1795780900000 } from './migrations/1795780900000-mark-projection-time-columns.migration.js';
import { CreatePluginTestRuns1795781010000 } from './migrations/1795781010000-create-plugin-test-runs.migration.js';
import { CreateReviews1795781030000 } from './migrations/1795781030000-create-reviews.migration.js';
import { CreateSiemSinkCheckpoints1795781050000 } from './migrations/1795781050000-create-siem-sink-checkpoints.migration.js';
import { InstallationsEnvironmentIndexWithName1795781090000 } from './migrations/1795781090000-installations-environment-index-with-name.migration.js';

/** Every migration, oldest first. */
export const PERSISTENCE_MIGRATIONS = [
  CreateReadModel1795780600000,
  CreateAuditLog1795780600001,
  AddVersionSignature1795780600002,
  AddVersionPrivateEgress1795780600003,
  RecordForgedEvents1795780600004,
  AddAuditMerkleTree1795780700000,
  CreateCallAccounting1795780800000,
  CreateReportingViews1795780800001,
  MarkProjectionTimeColumns1795780900000,
  CreatePluginTestRuns1795781010000,
  CreateReviews1795781030000,
  CreateSiemSinkCheckpoints1795781050000,
  InstallationsEnvironmentIndexWithName1795781090000,
];

/** Table that records which migrations have run. */
export const MIGRATIONS_TABLE = 'forgeone_migrations';

export interface PersistenceOptions {
  /** Shown in `pg_stat_activity`, e.g. the service name. */
  readonly applicationName: string;
  /** Connections in the pool (pg's default is 10). */
  readonly poolSize?: number;
  /** Settings every connection starts with, as PostgreSQL's `options` parameter (e.g. `-c search_path=x`). */
  readonly connectionOptions?: string;
}

/**
 * TypeORM options for the ForgeOne read model: Postgres at `url`, every entity and migration,
 * `synchronize: false` and `migrationsRun: false` always (the schema changes by migrations only,
 * run explicitly with {@link runMigrations}). Useful where a framework builds the DataSource itself.
 */
export function persistenceOptions(url: string, options: PersistenceOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    applicationName: options.applicationName,
    ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    ...(options.connectionOptions ? { extra: { options: options.connectionOptions } } : {}),
    entities: PERSISTENCE_ENTITIES,
    migrations: PERSISTENCE_MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'all',
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };
}

/** A DataSource over {@link persistenceOptions}; not yet initialized: call `initialize()`. */
export function createDataSource(url: string, options: PersistenceOptions): DataSource {
  return new DataSource(persistenceOptions(url, options));
}

// Any 64-bit constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK = 7_462_001_913;

/**
 * Runs pending migrations in one transaction and returns the names of those it ran. A session
 * advisory lock lets several services start at once: the first migrates, the others wait and find
 * nothing left to do.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const ran = await ds.runMigrations({ transaction: 'all' });
      return ran.map((m) => m.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await lock.release();
  }
}

/** Runs the pending migrations when a service starts, and logs the ones that ran. */
export async function migrateAtStart(ds: DataSource, logger: { info(fields: object, message: string): void }): Promise<void> {
  const ran = await runMigrations(ds);
  if (ran.length) logger.info({ migrations: ran }, 'migrations applied');
}

/** A service's readiness check of its database: ready when it answers a query, else what went wrong. */
export async function databaseReadiness(ds: DataSource): Promise<{ database: { ok: boolean; detail?: string } }> {
  try {
    await ds.query('select 1');
    return { database: { ok: true } };
  } catch (error) {
    return { database: { ok: false, detail: (error as Error).message } };
  }
}
