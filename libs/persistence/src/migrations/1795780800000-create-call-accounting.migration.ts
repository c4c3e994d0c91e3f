import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Call accounting and compliance records: each runner's window summaries (one row per window part,
 * so a missing window number or part can be listed), plugin calls per day, and one row per
 * compliance-relevant event (policy denials, signature results, sandbox violations, key trust
 * changes, policy set versions, token issue and revoke).
 */
export class CreateCallAccounting1795780800000 implements MigrationInterface {
  readonly name = 'CreateCallAccounting1795780800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE call_windows (
        runner           text NOT NULL,
        window_sequence  bigint NOT NULL CHECK (window_sequence > 0),
        part             integer NOT NULL CHECK (part > 0),
        parts            integer NOT NULL CHECK (parts >= part),
        tenant           text NOT NULL,
        plugin           text NOT NULL,
        version          text,
        environment      text NOT NULL,
        principal        text NOT NULL,
        window_start     timestamptz NOT NULL,
        window_end       timestamptz NOT NULL,
        calls            integer NOT NULL CHECK (calls > 0),
        failed           integer NOT NULL CHECK (failed >= 0),
        failures         jsonb NOT NULL,
        duration_p50_ms  double precision,
        duration_p95_ms  double precision,
        duration_p99_ms  double precision,
        duration_max_ms  double precision,
        fuel_total       bigint NOT NULL,
        bytes_in         bigint NOT NULL,
        bytes_out        bigint NOT NULL,
        sequence         bigint NOT NULL,
        PRIMARY KEY (runner, window_sequence, part)
      )`);
    await db.query(`CREATE INDEX call_windows_tenant_start_idx ON call_windows (tenant, window_start)`);
    await db.query(`
      CREATE TABLE plugin_calls_daily (
        tenant         text NOT NULL,
        plugin         text NOT NULL,
        environment    text NOT NULL,
        day            date NOT NULL,
        calls          bigint NOT NULL CHECK (calls >= 0),
        failed         bigint NOT NULL CHECK (failed >= 0),
        last_sequence  bigint NOT NULL,
        PRIMARY KEY (tenant, plugin, environment, day)
      )`);
    await db.query(`
      CREATE TABLE compliance_records (
        sequence     bigint PRIMARY KEY,
        kind         text NOT NULL CHECK (kind IN ('policy-denial', 'signature-result', 'sandbox-violation', 'key-trust-change', 'policy-set-version', 'token-event')),
        tenant       text NOT NULL,
        occurred_at  timestamptz NOT NULL,
        event_type   text NOT NULL,
        actor        text NOT NULL,
        plugin       text,
        detail       jsonb NOT NULL
      )`);
    await db.query(`CREATE INDEX compliance_records_kind_tenant_time_idx ON compliance_records (kind, tenant, occurred_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE compliance_records`);
    await db.query(`DROP TABLE plugin_calls_daily`);
    await db.query(`DROP TABLE call_windows`);
  }
}
