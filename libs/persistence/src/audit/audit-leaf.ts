import { createHash } from 'node:crypto';
import type { CloudEvent } from '@forgeone/contracts';
import { canonicalJson } from '@forgeone/contracts';
import { leafHash } from '@forgeone/signing';
import type { ForgedMark } from './audit-chain.js';

/** The format tag of a leaf's canonical form; a new layout gets a new tag. */
export const AUDIT_LEAF_FORMAT = 'forgeone.audit.leaf.v1';

/** What one leaf of the audit log's Merkle tree binds. */
export interface AuditLeaf {
  /** JetStream sequence of the event. */
  readonly sequence: number;
  readonly eventId: string;
  /** The event's CloudEvents `subject`. */
  readonly subject: string;
  readonly tenant: string;
  /** 1, 2, 3… per tenant, contiguous: a tenant can tell that none of its rows is missing before the last it knows. */
  readonly tenantSequence: number;
  /** Hex {@link auditEventDigest} of the event (and its forged mark). */
  readonly digest: string;
}

/**
 * sha256 (hex) of the event as the hash chain hashes it: the canonical JSON of `{ event }`, or of
 * `{ event, forged }` for a forged row, so the mark is bound into the leaf too.
 */
export function auditEventDigest(event: CloudEvent, forged?: ForgedMark): string {
  const hashed = forged ? { event, forged: { reason: forged.reason, writer: forged.writer, subject: forged.subject } } : { event };
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex');
}

/** {@link auditEventDigest} of an event given as its canonical JSON text (see `auditHashOfCanonical`). */
export function auditEventDigestOfCanonical(canonicalEvent: string, forged?: ForgedMark): string {
  const text = forged ? `{"event":${canonicalEvent},"forged":${canonicalJson({ reason: forged.reason, writer: forged.writer, subject: forged.subject })}}` : `{"event":${canonicalEvent}}`;
  return createHash('sha256').update(text).digest('hex');
}

/** The leaf's canonical form: canonical JSON (sorted keys, no white space) of the leaf and its format tag. */
export function auditLeafText(leaf: AuditLeaf): string {
  return canonicalJson({
    format: AUDIT_LEAF_FORMAT,
    sequence: leaf.sequence,
    eventId: leaf.eventId,
    subject: leaf.subject,
    tenant: leaf.tenant,
    tenantSequence: leaf.tenantSequence,
    digest: leaf.digest,
  });
}

/** RFC 6962 leaf hash (hex) of the canonical form: sha256(0x00 ‖ UTF-8 text). */
export function auditLeafHash(leaf: AuditLeaf): string {
  return leafHash(auditLeafText(leaf)).toString('hex');
}
