import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Marks the columns whose value comes from the clock when an event is projected rather than from the
 * event, so that comparing a rebuild with the live projections leaves them out. Columns whose default
 * calls now() or nextval() are recognised without a mark; these are computed in code.
 */
export class MarkProjectionTimeColumns1795780900000 implements MigrationInterface {
  readonly name = 'MarkProjectionTimeColumns1795780900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `COMMENT ON COLUMN security_finding_counts.window_start IS 'forgeone:projection-time: the hour the finding was projected in, not the hour the event was stored'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`COMMENT ON COLUMN security_finding_counts.window_start IS NULL`);
  }
}
