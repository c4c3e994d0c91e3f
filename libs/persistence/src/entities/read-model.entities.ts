import type { ForgeryReason } from '@forgeone/contracts';
import { EntitySchema } from 'typeorm';
import type { InstallationRow } from '../projections/installations.projection.js';
import type { PluginVersionRow } from '../projections/plugin-versions.projection.js';
import type { PluginRow } from '../projections/plugins.projection.js';
import { bigintAsNumber, timestampAsIso } from './column.transformers.js';

// Mappings only: the tables themselves are created by the migrations (synchronize is never used).

export interface CheckpointRow {
  readonly projector: string;
  readonly lastSequence: number;
  readonly updatedAt: string;
}

export interface AuditLogRow {
  readonly sequence: number;
  readonly eventId: string;
  readonly specVersion: string;
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  /** The envelope's `time` exactly as received (part of the hashed event). */
  readonly eventTime: string;
  readonly occurredAt: string;
  readonly dataContentType: string;
  readonly schemaVersion: string;
  readonly actor: string;
  readonly tenant: string;
  readonly plugin: string | null;
  readonly data: unknown;
  readonly traceparent: string | null;
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hash: string;
  /** Why the event was refused as not written by its aggregate's owner; null for a genuine event. */
  readonly forged: ForgeryReason | null;
  /** The writer the message named and its NATS subject (hashed), and what was wrong (not hashed); null when genuine. */
  readonly forgedDetail: ForgedDetail | null;
  /** Position of the row's leaf in the audit log's Merkle tree (0 for the first row). */
  readonly leafIndex: number;
  /** 1, 2, 3… per tenant, contiguous. */
  readonly tenantSequence: number;
  /** RFC 6962 leaf hash (hex) of the row's canonical leaf form. */
  readonly leafHash: string;
}

/** What a forged audit row records about the message besides its content. */
export interface ForgedDetail {
  readonly writer: string | null;
  readonly subject: string;
  readonly message: string;
}

/** One security finding (at most a bounded number per kind, writer and hour; the counts hold all). */
export interface SecurityFindingRow {
  readonly id: number;
  readonly kind: string;
  readonly writer: string;
  readonly sequence: number;
  readonly subject: string;
  readonly eventId: string | null;
  readonly eventType: string | null;
  readonly tenant: string | null;
  readonly detail: string;
  readonly recordedAt: string;
}

export interface SecurityFindingCountRow {
  readonly kind: string;
  readonly writer: string;
  readonly windowStart: string;
  readonly total: number;
}

const text = { type: 'text' } as const;
const bigint = { type: 'bigint', transformer: bigintAsNumber } as const;
const timestamptz = { type: 'timestamptz', transformer: timestampAsIso } as const;

export const CheckpointEntity = new EntitySchema<CheckpointRow>({
  name: 'ProjectionCheckpoint',
  tableName: 'projection_checkpoint',
  columns: {
    projector: { ...text, primary: true },
    lastSequence: { ...bigint, name: 'last_sequence' },
    updatedAt: { ...timestamptz, name: 'updated_at' },
  },
});

export const PluginEntity = new EntitySchema<PluginRow>({
  name: 'Plugin',
  tableName: 'plugins',
  columns: {
    tenant: { ...text, primary: true },
    name: { ...text, primary: true },
    latestVersion: { ...text, name: 'latest_version' },
    versionsCount: { type: 'integer', name: 'versions_count' },
    createdAt: { ...timestamptz, name: 'created_at' },
    updatedAt: { ...timestamptz, name: 'updated_at' },
    lastSequence: { ...bigint, name: 'last_sequence' },
  },
});

export const PluginVersionEntity = new EntitySchema<PluginVersionRow>({
  name: 'PluginVersion',
  tableName: 'plugin_versions',
  columns: {
    tenant: { ...text, primary: true },
    name: { ...text, primary: true },
    version: { ...text, primary: true },
    digest: text,
    sizeBytes: { ...bigint, name: 'size_bytes' },
    manifestDigest: { ...text, name: 'manifest_digest' },
    manifest: { type: 'jsonb' },
    publisher: text,
    publishedAt: { ...timestamptz, name: 'published_at' },
    publishedSequence: { ...bigint, name: 'published_sequence' },
    signatureEnvelopeDigest: { ...text, name: 'signature_envelope_digest', nullable: true },
    signedAt: { ...timestamptz, name: 'signed_at', nullable: true },
    privateEgress: { type: 'text', array: true, name: 'private_egress' },
  },
});

export const InstallationEntity = new EntitySchema<InstallationRow>({
  name: 'Installation',
  tableName: 'installations',
  columns: {
    tenant: { ...text, primary: true },
    name: { ...text, primary: true },
    environment: { ...text, primary: true },
    version: text,
    digest: text,
    status: text,
    installedAt: { ...timestamptz, name: 'installed_at' },
    updatedAt: { ...timestamptz, name: 'updated_at' },
    lastSequence: { ...bigint, name: 'last_sequence' },
  },
});

export const AuditLogEntity = new EntitySchema<AuditLogRow>({
  name: 'AuditLog',
  tableName: 'audit_log',
  columns: {
    sequence: { ...bigint, primary: true },
    eventId: { ...text, name: 'event_id' },
    specVersion: { ...text, name: 'spec_version' },
    type: text,
    source: text,
    subject: text,
    eventTime: { ...text, name: 'event_time' },
    occurredAt: { ...timestamptz, name: 'occurred_at' },
    dataContentType: { ...text, name: 'data_content_type' },
    schemaVersion: { ...text, name: 'schema_version' },
    actor: text,
    tenant: text,
    plugin: { ...text, nullable: true },
    data: { type: 'jsonb' },
    traceparent: { ...text, nullable: true },
    recordedAt: { ...timestamptz, name: 'recorded_at' },
    prevHash: { ...text, name: 'prev_hash' },
    hash: text,
    forged: { ...text, nullable: true },
    forgedDetail: { type: 'jsonb', name: 'forged_detail', nullable: true },
    leafIndex: { ...bigint, name: 'leaf_index' },
    tenantSequence: { ...bigint, name: 'tenant_sequence' },
    leafHash: { ...text, name: 'leaf_hash' },
  },
});

export const SecurityFindingEntity = new EntitySchema<SecurityFindingRow>({
  name: 'SecurityFinding',
  tableName: 'security_findings',
  columns: {
    id: { ...bigint, primary: true, generated: 'increment' },
    kind: text,
    writer: text,
    sequence: bigint,
    subject: text,
    eventId: { ...text, name: 'event_id', nullable: true },
    eventType: { ...text, name: 'event_type', nullable: true },
    tenant: { ...text, nullable: true },
    detail: text,
    recordedAt: { ...timestamptz, name: 'recorded_at' },
  },
});

export const SecurityFindingCountEntity = new EntitySchema<SecurityFindingCountRow>({
  name: 'SecurityFindingCount',
  tableName: 'security_finding_counts',
  columns: {
    kind: { ...text, primary: true },
    writer: { ...text, primary: true },
    windowStart: { ...timestamptz, name: 'window_start', primary: true },
    total: bigint,
  },
});

/** Every entity of the read model, for `entities` in DataSource options. */
export const PERSISTENCE_ENTITIES = [CheckpointEntity, PluginEntity, PluginVersionEntity, InstallationEntity, AuditLogEntity, SecurityFindingEntity, SecurityFindingCountEntity];
