import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The installations index of "list --env" gets the plugin name before the status. Without
 * statistics on the table (a fresh or rebuilt database before its first ANALYZE) the planner read a
 * projector batch's rows by (tenant, environment) through the old index and filtered the name,
 * scanning every installation of the environment per key: a batch cost grew with the table. With
 * the name in it, any index the planner picks finds a key in one descent, and a listing by
 * environment still comes out ordered by name.
 */
export class InstallationsEnvironmentIndexWithName1795781090000 implements MigrationInterface {
  readonly name = 'InstallationsEnvironmentIndexWithName1795781090000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX installations_tenant_environment_idx`);
    await db.query(`CREATE INDEX installations_tenant_environment_idx ON installations (tenant, environment, name, status)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX installations_tenant_environment_idx`);
    await db.query(`CREATE INDEX installations_tenant_environment_idx ON installations (tenant, environment, status)`);
  }
}
