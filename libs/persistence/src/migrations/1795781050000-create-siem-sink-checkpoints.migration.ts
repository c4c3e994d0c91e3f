import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isProjectionRebuild } from '../rebuild/projection-schema.js';

/**
 * The SIEM forwarder's per-sink checkpoints, in schema `siem`: they record deliveries, not a
 * projection of the stream, so they live outside the projection schema a rebuild compares and
 * swaps (and a rebuild schema does not get them).
 */
export class CreateSiemSinkCheckpoints1795781050000 implements MigrationInterface {
  readonly name = 'CreateSiemSinkCheckpoints1795781050000';

  async up(db: QueryRunner): Promise<void> {
    if (await isProjectionRebuild(db)) return;
    await db.query(`CREATE SCHEMA IF NOT EXISTS siem`);
    await db.query(`
      CREATE TABLE siem.sink_checkpoints (
        sink text PRIMARY KEY,
        last_sequence bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
        last_event_id text,
        delivered_at timestamptz,
        last_error text,
        last_error_at timestamptz
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE siem.sink_checkpoints`);
    await db.query(`DROP SCHEMA IF EXISTS siem`);
  }
}
