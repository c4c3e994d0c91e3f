import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Projection checkpoints and the plugin read model (plugins, versions, installations). */
export class CreateReadModel1795780600000 implements MigrationInterface {
  readonly name = 'CreateReadModel1795780600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE projection_checkpoint (
        projector     text PRIMARY KEY,
        last_sequence bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE plugins (
        tenant          text NOT NULL,
        name            text NOT NULL,
        latest_version  text NOT NULL,
        versions_count  integer NOT NULL CHECK (versions_count > 0),
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        last_sequence   bigint NOT NULL,
        PRIMARY KEY (tenant, name)
      )`);
    await db.query(`
      CREATE TABLE plugin_versions (
        tenant             text NOT NULL,
        name               text NOT NULL,
        version            text NOT NULL,
        digest             text NOT NULL,
        size_bytes         bigint NOT NULL,
        manifest_digest    text NOT NULL,
        manifest           jsonb NOT NULL,
        publisher          text NOT NULL,
        published_at       timestamptz NOT NULL,
        published_sequence bigint NOT NULL,
        PRIMARY KEY (tenant, name, version)
      )`);
    await db.query(`
      CREATE TABLE installations (
        tenant        text NOT NULL,
        name          text NOT NULL,
        environment   text NOT NULL,
        version       text NOT NULL,
        digest        text NOT NULL,
        status        text NOT NULL CHECK (status IN ('installed', 'removed')),
        installed_at  timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL,
        last_sequence bigint NOT NULL,
        PRIMARY KEY (tenant, name, environment)
      )`);
    // The primary keys serve list/show by tenant and name; this one serves "list --env".
    await db.query(`CREATE INDEX installations_tenant_environment_idx ON installations (tenant, environment, status)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE installations`);
    await db.query(`DROP TABLE plugin_versions`);
    await db.query(`DROP TABLE plugins`);
    await db.query(`DROP TABLE projection_checkpoint`);
  }
}
