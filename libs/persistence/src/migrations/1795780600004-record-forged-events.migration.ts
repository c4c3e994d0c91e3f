import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events their aggregate's owner did not write: an audit row marked `forged` (with the reason, and
 * the claimed writer and NATS subject in `forged_detail`) stays in the hash chain; the event id is
 * unique among genuine rows only, so a replayed copy of a genuine event can be recorded as forged
 * beside it. Security findings are bounded per kind, claimed writer and hour, with a count of all.
 */
export class RecordForgedEvents1795780600004 implements MigrationInterface {
  readonly name = 'RecordForgedEvents1795780600004';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE audit_log
        ADD COLUMN forged text CHECK (forged IN ('unsigned', 'unknown-writer', 'wrong-writer', 'bad-signature', 'wrong-aggregate', 'replayed')),
        ADD COLUMN forged_detail jsonb,
        ADD CONSTRAINT audit_log_forged_detail_check CHECK ((forged IS NULL) = (forged_detail IS NULL))`);
    await db.query(`ALTER TABLE audit_log DROP CONSTRAINT audit_log_event_id_key`);
    await db.query(`CREATE UNIQUE INDEX audit_log_genuine_event_id_idx ON audit_log (event_id) WHERE forged IS NULL`);
    await db.query(`CREATE INDEX audit_log_forged_sequence_idx ON audit_log (sequence) WHERE forged IS NOT NULL`);
    await db.query(`
      CREATE TABLE security_findings (
        id           bigserial PRIMARY KEY,
        kind         text NOT NULL,
        writer       text NOT NULL,
        sequence     bigint NOT NULL,
        subject      text NOT NULL,
        event_id     text,
        event_type   text,
        tenant       text,
        detail       text NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX security_findings_kind_recorded_at_idx ON security_findings (kind, recorded_at)`);
    await db.query(`
      CREATE TABLE security_finding_counts (
        kind          text NOT NULL,
        writer        text NOT NULL,
        window_start  timestamptz NOT NULL,
        total         bigint NOT NULL CHECK (total > 0),
        PRIMARY KEY (kind, writer, window_start)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE security_finding_counts`);
    await db.query(`DROP TABLE security_findings`);
    await db.query(`DROP INDEX audit_log_forged_sequence_idx`);
    await db.query(`DROP INDEX audit_log_genuine_event_id_idx`);
    await db.query(`ALTER TABLE audit_log ADD CONSTRAINT audit_log_event_id_key UNIQUE (event_id)`);
    await db.query(`ALTER TABLE audit_log DROP CONSTRAINT audit_log_forged_detail_check, DROP COLUMN forged_detail, DROP COLUMN forged`);
  }
}
