import type { MigrationInterface, QueryRunner } from 'typeorm';
import { auditEntryForgedMark, auditEntryToEvent } from '../audit/audit-chain.verifier.js';
import { auditEventDigest, auditLeafHash } from '../audit/audit-leaf.js';
import { appendMerkleLeaf } from '../audit/merkle-node.store.js';
import { AuditLogEntity } from '../entities/read-model.entities.js';

/**
 * The audit log as an RFC 6962 transparency log: every row gets its leaf index (its position in the
 * log), a per-tenant sequence and its leaf hash; `audit_merkle_nodes` holds the hash of every
 * complete subtree, and `audit_checkpoints` the signed checkpoints. Rows already there are given
 * theirs here, in stream order, with the append-only trigger off for this transaction only.
 */
export class AddAuditMerkleTree1795780700000 implements MigrationInterface {
  readonly name = 'AddAuditMerkleTree1795780700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE audit_log ADD COLUMN leaf_index bigint, ADD COLUMN tenant_sequence bigint, ADD COLUMN leaf_hash text`);
    await db.query(`
      CREATE TABLE audit_merkle_nodes (
        level  smallint NOT NULL CHECK (level >= 0 AND level < 64),
        index  bigint NOT NULL CHECK (index >= 0),
        hash   text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        PRIMARY KEY (level, index)
      )`);
    await db.query(`
      CREATE TABLE audit_checkpoints (
        tree_size    bigint PRIMARY KEY CHECK (tree_size > 0),
        root_hash    text NOT NULL CHECK (root_hash ~ '^[0-9a-f]{64}$'),
        origin       text NOT NULL,
        key_id       text NOT NULL,
        public_key   text NOT NULL,
        note         text NOT NULL,
        signed_at    timestamptz NOT NULL,
        sequence     bigint NOT NULL UNIQUE,
        recorded_at  timestamptz NOT NULL DEFAULT now()
      )`);

    await db.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_update_delete`);
    const repository = db.manager.getRepository(AuditLogEntity);
    const tenantSequences = new Map<string, number>();
    let leafIndex = 0;
    let after = 0;
    for (;;) {
      const rows = await repository.createQueryBuilder('a').where('a.sequence > :after', { after }).orderBy('a.sequence', 'ASC').take(500).getMany();
      if (rows.length === 0) break;
      for (const row of rows) {
        const tenantSequence = (tenantSequences.get(row.tenant) ?? 0) + 1;
        tenantSequences.set(row.tenant, tenantSequence);
        const digest = auditEventDigest(auditEntryToEvent(row), auditEntryForgedMark(row));
        const hash = auditLeafHash({ sequence: row.sequence, eventId: row.eventId, subject: row.subject, tenant: row.tenant, tenantSequence, digest });
        await db.query(`UPDATE audit_log SET leaf_index = $2, tenant_sequence = $3, leaf_hash = $4 WHERE sequence = $1`, [row.sequence, leafIndex, tenantSequence, hash]);
        await appendMerkleLeaf(db.manager, leafIndex, hash);
        leafIndex += 1;
        after = row.sequence;
      }
    }
    await db.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_update_delete`);

    await db.query(`
      ALTER TABLE audit_log
        ALTER COLUMN leaf_index SET NOT NULL,
        ALTER COLUMN tenant_sequence SET NOT NULL,
        ALTER COLUMN leaf_hash SET NOT NULL,
        ADD CONSTRAINT audit_log_leaf_index_check CHECK (leaf_index >= 0),
        ADD CONSTRAINT audit_log_tenant_sequence_check CHECK (tenant_sequence > 0),
        ADD CONSTRAINT audit_log_leaf_hash_check CHECK (leaf_hash ~ '^[0-9a-f]{64}$'),
        ADD CONSTRAINT audit_log_leaf_index_key UNIQUE (leaf_index),
        ADD CONSTRAINT audit_log_tenant_sequence_key UNIQUE (tenant, tenant_sequence)`);

    // The tree and the checkpoints are as append-only as the rows they are made of.
    for (const table of ['audit_merkle_nodes', 'audit_checkpoints']) {
      await db.query(`CREATE TRIGGER ${table}_refuse_update_delete BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`);
      await db.query(`CREATE TRIGGER ${table}_refuse_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`);
      await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${table} FROM PUBLIC`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_checkpoints`);
    await db.query(`DROP TABLE audit_merkle_nodes`);
    await db.query(`
      ALTER TABLE audit_log
        DROP CONSTRAINT audit_log_tenant_sequence_key, DROP CONSTRAINT audit_log_leaf_index_key,
        DROP COLUMN leaf_hash, DROP COLUMN tenant_sequence, DROP COLUMN leaf_index`);
  }
}
