import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hash-chained, append-only audit log. Triggers refuse UPDATE, DELETE and TRUNCATE for every
 * role; the table owner (and a superuser) could still disable them, so services must connect as a
 * role that does not own the table (see the package README).
 */
export class CreateAuditLog1795780600001 implements MigrationInterface {
  readonly name = 'CreateAuditLog1795780600001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_log (
        sequence          bigint PRIMARY KEY CHECK (sequence > 0),
        event_id          text NOT NULL UNIQUE,
        spec_version      text NOT NULL,
        type              text NOT NULL,
        source            text NOT NULL,
        subject           text NOT NULL,
        event_time        text NOT NULL,
        occurred_at       timestamptz NOT NULL,
        data_content_type text NOT NULL,
        schema_version    text NOT NULL,
        actor             text NOT NULL,
        tenant            text NOT NULL,
        plugin            text,
        data              jsonb NOT NULL,
        traceparent       text,
        recorded_at       timestamptz NOT NULL DEFAULT now(),
        prev_hash         text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash              text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
      )`);
    await db.query(`CREATE INDEX audit_log_tenant_sequence_idx ON audit_log (tenant, sequence)`);
    await db.query(`CREATE INDEX audit_log_tenant_plugin_sequence_idx ON audit_log (tenant, plugin, sequence) WHERE plugin IS NOT NULL`);
    await db.query(`CREATE INDEX audit_log_tenant_occurred_at_idx ON audit_log (tenant, occurred_at)`);
    await db.query(`
      CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'audit rows are never changed or removed; record a new event instead';
      END
      $$`);
    await db.query(`
      CREATE TRIGGER audit_log_refuse_update_delete
        BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`);
    await db.query(`
      CREATE TRIGGER audit_log_refuse_truncate
        BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`);
    await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_log`);
    await db.query(`DROP FUNCTION audit_log_refuse_change()`);
  }
}
