import { createHash } from 'node:crypto';
import type { CloudEvent, ForgeryReason } from '@forgeone/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { advanceCheckpoint, appendAudit, checkSequence, openProjectorCursor, type ProjectorCursor } from './projection.writer.js';
import { ProjectionGapError } from './projection.errors.js';
import { recordSecurityFinding } from './security-finding.writer.js';

/** A stream message refused as not written by its aggregate's owner, as the projector received it. */
export interface ForgedMessage {
  readonly reason: ForgeryReason;
  /** What was wrong. */
  readonly message: string;
  /** The NATS subject it was published on. */
  readonly subject: string;
  /** The writer it named, or null. */
  readonly writer: string | null;
  /** Its payload as stored; parsed here only to describe it, never to apply it. */
  readonly payload: Uint8Array;
  /** When the stream stored it (RFC 3339). */
  readonly storedAt: string;
}

// Payloads larger than this are recorded by size and digest only.
const MAX_DESCRIBED_PAYLOAD = 64 * 1024;
// Deeper data is cut: the description must not cost a stack per nesting level of someone else's JSON.
const MAX_DESCRIBED_DEPTH = 32;
const decoder = new TextDecoder();

/**
 * Records a refused message at its sequence in one transaction: an audit row marked forged (in the
 * hash chain, so audit verification reports it), a security finding, and the checkpoint moves on.
 * Nothing is projected. Duplicates and gaps are handled as {@link applyEvent} does.
 */
export async function recordForgedEvent(ds: DataSource | EntityManager, projector: string, sequence: number, forged: ForgedMessage, options: { readonly writeAudit?: boolean } = {}): Promise<'forged' | 'duplicate'> {
  if (!projector) throw new TypeError('recordForgedEvent: projector name must not be empty');
  checkSequence('recordForgedEvent', sequence);
  return ds.transaction(async (manager) => {
    const cursor = await openProjectorCursor(manager, projector);
    const outcome = await recordForgedEventIn(manager, cursor, sequence, forged, options);
    if (outcome === 'forged') await advanceCheckpoint(manager, projector, cursor.last);
    return outcome;
  });
}

/**
 * The body of {@link recordForgedEvent} inside the caller's transaction holding the checkpoint lock
 * through `cursor`; `cursor.last` moves to `sequence` unless it is a duplicate, and the caller writes
 * the checkpoint back.
 */
export async function recordForgedEventIn(manager: EntityManager, cursor: ProjectorCursor, sequence: number, forged: ForgedMessage, options: { readonly writeAudit?: boolean } = {}): Promise<'forged' | 'duplicate'> {
  checkSequence('recordForgedEventIn', sequence);
  if (sequence <= cursor.last) return 'duplicate';
  if (sequence !== cursor.last + 1) throw new ProjectionGapError(cursor.projector, cursor.last + 1, sequence);
  const event = forgedAuditEvent(sequence, forged.payload);
  const writer = forged.writer === null ? null : pgText(forged.writer, 64);
  const subject = pgText(forged.subject, 1024);
  const message = pgText(forged.message, 1024);
  if (options.writeAudit ?? true) {
    await appendAudit(manager, sequence, event, { mark: { reason: forged.reason, writer, subject }, message, occurredAt: forged.storedAt }, cursor.audit);
  }
  await recordSecurityFinding(manager, { reason: forged.reason, writer, sequence, subject, eventId: event.id, eventType: event.type, tenant: event.tenant || null, detail: message });
  cursor.last = sequence;
  return 'forged';
}

/**
 * The envelope a forged message claims to be, as far as it can be read, for the audit log: strings
 * only where the claim has strings (cut to the envelope's limits, NUL replaced, which PostgreSQL
 * refuses), placeholders elsewhere, and the payload's size and sha256 when it is no JSON object.
 * The same bytes always give the same event, so a rebuild yields the same hash chain.
 */
export function forgedAuditEvent(sequence: number, payload: Uint8Array): CloudEvent {
  let claimed: Record<string, unknown> | undefined;
  if (payload.byteLength <= MAX_DESCRIBED_PAYLOAD) {
    try {
      const parsed: unknown = JSON.parse(decoder.decode(payload));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) claimed = parsed as Record<string, unknown>;
    } catch {
      claimed = undefined;
    }
  }
  const field = (name: string, max: number): string => (typeof claimed?.[name] === 'string' ? pgText(claimed[name] as string, max) : '');
  const traceparent = field('traceparent', 64);
  const described = {
    bytes: payload.byteLength,
    sha256: createHash('sha256').update(payload).digest('hex'),
  };
  return {
    specversion: field('specversion', 16) as '1.0',
    id: field('id', 128) || `forged-${sequence}`,
    source: field('source', 256),
    type: field('type', 256) || 'unknown',
    subject: field('subject', 512),
    time: field('time', 64),
    datacontenttype: field('datacontenttype', 64) as 'application/json',
    // A JSON round trip: what is hashed is exactly what jsonb stores and gives back.
    data: claimed && 'data' in claimed ? JSON.parse(JSON.stringify(describe(claimed.data, 0) ?? null)) : { unreadable: true, ...described },
    actor: field('actor', 256),
    tenant: field('tenant', 128),
    ...(traceparent ? { traceparent } : {}),
    schemaversion: field('schemaversion', 16),
  };
}

/** A string PostgreSQL accepts as text (no NUL), at most `max` characters. */
export function pgText(value: string, max: number): string {
  return value.slice(0, max).replaceAll('\u0000', '\uFFFD');
}

function describe(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return pgText(value, 4096);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DESCRIBED_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item) => describe(item, depth + 1));
  // No prototype: a "__proto__" key is kept as data, never set as the prototype.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) out[pgText(key, 256)] = describe(item, depth + 1);
  return out;
}
