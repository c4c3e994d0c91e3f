import { createHash } from 'node:crypto';
import type { CloudEvent, ForgeryReason } from '@forgeone/contracts';
import { canonicalJson } from '@forgeone/contracts';
import { auditEventDigestOfCanonical } from './audit-leaf.js';

/** `prev_hash` of the first audit row. */
export const GENESIS_HASH = '0'.repeat(64);

/** What marks an audit row as forged, inside its hash: the reason, the writer the message named and its NATS subject. */
export interface ForgedMark {
  readonly reason: ForgeryReason;
  readonly writer: string | null;
  readonly subject: string;
}

/**
 * The chained hash of one audit row: hex sha256 over the previous row's hash (hex) followed by the
 * canonical JSON of `{ sequence, event }`, or `{ sequence, event, forged }` for a forged row (so the
 * mark cannot be taken off without breaking the chain). `event` is the CloudEvent exactly as it was
 * stored in the stream, so a row can be checked against JetStream and a rebuild yields the same chain.
 */
export function auditHash(prevHash: string, sequence: number, event: CloudEvent, forged?: ForgedMark): string {
  const hashed = forged ? { sequence, event, forged: { reason: forged.reason, writer: forged.writer, subject: forged.subject } } : { sequence, event };
  return createHash('sha256').update(prevHash).update(canonicalJson(hashed)).digest('hex');
}

/**
 * {@link auditHash} of an event given as its canonical JSON text, for a verifier that puts each event in
 * canonical form once: canonical JSON of an object is its members' canonical texts in key order, so
 * the text is composed rather than the event walked again.
 */
export function auditHashOfCanonical(prevHash: string, sequence: number, canonicalEvent: string, forged?: ForgedMark): string {
  const text = forged
    ? `{"event":${canonicalEvent},"forged":${canonicalJson({ reason: forged.reason, writer: forged.writer, subject: forged.subject })},"sequence":${canonicalJson(sequence)}}`
    : `{"event":${canonicalEvent},"sequence":${canonicalJson(sequence)}}`;
  return createHash('sha256').update(prevHash).update(text).digest('hex');
}

/**
 * {@link auditHash} and the leaf's {@link auditEventDigest} of one row together, the event put in
 * canonical form once. Equal to the two functions by construction and by test.
 */
export function auditHashAndDigest(prevHash: string, sequence: number, event: CloudEvent, forged?: ForgedMark): { readonly hash: string; readonly digest: string } {
  const canonicalEvent = canonicalJson(event);
  return { hash: auditHashOfCanonical(prevHash, sequence, canonicalEvent, forged), digest: auditEventDigestOfCanonical(canonicalEvent, forged) };
}

// Event families whose data names the plugin in `name`: plugin lifecycle, signature verification results, approvals and reviews.
const PLUGIN_TYPE_PREFIXES = ['io.forgeone.plugin.', 'io.forgeone.signature.', 'io.forgeone.approval.', 'io.forgeone.review.'];

/** The plugin an audited event concerns, so history can be queried per plugin whatever the subject looks like. */
export function pluginOf(event: CloudEvent): string | null {
  if (!PLUGIN_TYPE_PREFIXES.some((prefix) => event.type.startsWith(prefix))) return null;
  const name = (event.data as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : null;
}
