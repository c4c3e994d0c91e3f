import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isProjectionRebuild } from '../rebuild/projection-schema.js';
import { REPORTING_SCHEMA, reportingViewStatements } from './reporting-views.sql.js';

/**
 * The SQL reporting contract (docs/reporting.md): schema `reporting` with versioned views over the
 * call accounting and compliance tables, readable by the NOLOGIN role `forgeone_reporting` and by
 * nobody else through PUBLIC. Views run with their owner's rights, so the role needs no grant on
 * the tables underneath (and gets none).
 */
export class CreateReportingViews1795780800001 implements MigrationInterface {
  readonly name = 'CreateReportingViews1795780800001';

  async up(db: QueryRunner): Promise<void> {
    // A rebuild schema gets the projection tables only: the views read the live schema's tables and
    // are re-pointed at the rebuilt ones when they are swapped in.
    if (await isProjectionRebuild(db)) return;
    for (const statement of reportingViewStatements()) await db.query(statement);
  }

  async down(db: QueryRunner): Promise<void> {
    // The role stays: it belongs to the cluster, and other databases of it may use it.
    await db.query(`DROP SCHEMA ${REPORTING_SCHEMA} CASCADE`);
  }
}
