/**
 * Why a stored event was refused as not written by its aggregate's owner. Readers never apply a
 * refused event; the audit-projector records it in the audit log marked with one of these.
 */
export const FORGERY_REASONS = [
  /** No writer or signature header, at a stream sequence after the cut-over. */
  'unsigned',
  /** The writer header names a service with no pinned public key. */
  'unknown-writer',
  /** The writer does not own the aggregate of the event's subject (or the subject names no aggregate). */
  'wrong-writer',
  /** The signature is missing, malformed or does not verify under the writer's pinned key. */
  'bad-signature',
  /** The event's type belongs to another aggregate than the one its subject names. */
  'wrong-aggregate',
  /** An event with this id was already applied at another stream sequence. */
  'replayed',
] as const;

export type ForgeryReason = (typeof FORGERY_REASONS)[number];

export function isForgeryReason(value: unknown): value is ForgeryReason {
  return typeof value === 'string' && (FORGERY_REASONS as readonly string[]).includes(value);
}

/** Environment variables of event authorship, named in one place for services, `npm start` and docs. */
export const EVENT_AUTHORSHIP_ENV = {
  /** The writing service's own Ed25519 private key: PKCS#8 DER, base64. */
  signingKey: 'FORGEONE_EVENT_SIGNING_KEY',
  /** JSON `{ "<service>": "<base64 SPKI DER Ed25519 public key>" }` of every writing service. */
  writerKeys: 'FORGEONE_EVENT_WRITER_KEYS',
  /** Unsigned events are accepted only at stream sequences at or below this one (default 0). */
  unsignedUntil: 'FORGEONE_EVENT_UNSIGNED_UNTIL',
} as const;
