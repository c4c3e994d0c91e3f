import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The http allow-list entries naming refused addresses that a version's publisher was allowed
 * (publish-private-egress). Versions projected before this column existed were published before
 * such entries were recorded, so they have none.
 */
export class AddVersionPrivateEgress1795780600003 implements MigrationInterface {
  readonly name = 'AddVersionPrivateEgress1795780600003';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE plugin_versions ADD COLUMN private_egress text[] NOT NULL DEFAULT '{}'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE plugin_versions DROP COLUMN private_egress`);
  }
}
