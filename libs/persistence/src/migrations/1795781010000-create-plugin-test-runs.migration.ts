import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Test runs of plugin versions in environments (`test_run_recorded`), one row per run, so queries and
 * evidence can list them: each vector's result and measures, the totals, the comparison with the
 * previous version's run and the regressions that flagged it.
 */
export class CreatePluginTestRuns1795781010000 implements MigrationInterface {
  readonly name = 'CreatePluginTestRuns1795781010000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE plugin_test_runs (
        run_id         uuid PRIMARY KEY,
        tenant         text NOT NULL,
        plugin         text NOT NULL,
        version        text NOT NULL,
        digest         text NOT NULL,
        environment    text NOT NULL,
        trigger        text NOT NULL CHECK (trigger IN ('command', 'install')),
        runner         text NOT NULL,
        actor          text NOT NULL,
        started_at     timestamptz NOT NULL,
        completed_at   timestamptz NOT NULL,
        passed         boolean NOT NULL,
        flagged        boolean NOT NULL,
        vectors        jsonb NOT NULL,
        totals         jsonb NOT NULL,
        compared_with  jsonb,
        limit_factor   double precision NOT NULL,
        regressions    jsonb NOT NULL,
        sequence       bigint NOT NULL
      )`);
    await db.query(`CREATE INDEX plugin_test_runs_plugin_idx ON plugin_test_runs (tenant, plugin, environment, sequence)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE plugin_test_runs`);
  }
}
