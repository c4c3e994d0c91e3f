import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which envelope a version was published with (null when it was published unsigned). Rows projected
 * before this column existed are filled from their version_published entry in the audit log, so an
 * upgraded installation shows the same as a new one.
 */
export class AddVersionSignature1795780600002 implements MigrationInterface {
  readonly name = 'AddVersionSignature1795780600002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE plugin_versions ADD COLUMN signature_envelope_digest text, ADD COLUMN signed_at timestamptz`);
    await db.query(`
      UPDATE plugin_versions v
         SET signature_envelope_digest = a.data->'signature'->>'envelopeDigest',
             signed_at = (a.data->'signature'->>'signedAt')::timestamptz
        FROM audit_log a
       WHERE a.sequence = v.published_sequence
         AND a.type = 'io.forgeone.plugin.version_published.v1'
         AND a.data ? 'signature'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE plugin_versions DROP COLUMN signed_at, DROP COLUMN signature_envelope_digest`);
  }
}
