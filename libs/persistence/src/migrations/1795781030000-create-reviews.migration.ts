import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reviews of plugins and the incidents and regulation changes that make them due: one row per event,
 * written once. Where each plugin's review stands is computed by the registry from the event stream
 * with the same function the upgrade gate uses (docs/reviews.md); these tables serve history and reports.
 */
export class CreateReviews1795781030000 implements MigrationInterface {
  readonly name = 'CreateReviews1795781030000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE plugin_reviews (
        sequence     bigint PRIMARY KEY,
        tenant       text NOT NULL,
        plugin       text NOT NULL,
        review_id    uuid NOT NULL,
        outcome      text NOT NULL CHECK (outcome IN ('approved', 'changes-required')),
        notes        text NOT NULL,
        reviewed_by  text NOT NULL,
        reviewed_at  timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX plugin_reviews_tenant_plugin_idx ON plugin_reviews (tenant, plugin, reviewed_at)`);
    await db.query(`
      CREATE TABLE review_notices (
        sequence       bigint PRIMARY KEY,
        tenant         text NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('incident', 'regulation')),
        notice_id      uuid NOT NULL,
        severity       text CHECK (severity IN ('minor', 'major')),
        summary        text NOT NULL,
        all_plugins    boolean NOT NULL,
        plugins        jsonb NOT NULL,
        forces_review  boolean NOT NULL,
        recorded_by    text NOT NULL,
        recorded_at    timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX review_notices_tenant_time_idx ON review_notices (tenant, recorded_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE review_notices`);
    await db.query(`DROP TABLE plugin_reviews`);
  }
}
