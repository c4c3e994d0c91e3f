import { CloudEventSchema, ForgeOneError, describeIssues, type CloudEvent, type ForgeryReason, type ServiceName } from '@forgeone/contracts';
import type { MsgHdrs } from '@nats-io/transport-node';

const decoder = new TextDecoder();

/** A stream message as JetStream hands it to a reader. */
export interface StoredMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly seq: number;
  readonly headers?: MsgHdrs;
}

/** Why one stream message is not accepted as its aggregate owner's event. */
export interface EventRefusal {
  readonly reason: ForgeryReason;
  /** What was wrong, for logs and the audit log. */
  readonly message: string;
  readonly sequence: number;
  readonly subject: string;
  /** The writer the message names (at most 64 characters), or null when it names none. */
  readonly writer: string | null;
  /** The aggregate its subject names, or null when the subject is not an event subject. */
  readonly aggregate: string | null;
  /** Only when the payload was parsed (a replay, a type of another aggregate). */
  readonly eventId?: string;
  readonly type?: string;
}

/** The outcome of {@link EventAuthorship.open}: the verified, parsed event or why it was refused. */
export type OpenedEvent =
  | { readonly ok: true; readonly event: CloudEvent; /** null for an unsigned event at or below the cut-over. */ readonly writer: ServiceName | null }
  | { readonly ok: false; readonly refusal: EventRefusal };

/** Thrown by {@link decodeStoredEvent} for a refused message (code EVENTSTORE.FORGED). */
export class ForgedEventError extends ForgeOneError {
  override readonly name = 'ForgedEventError';
  constructor(readonly refusal: EventRefusal) {
    super('EVENTSTORE.FORGED', `stream message ${refusal.sequence} on ${refusal.subject} was refused (${refusal.reason}): ${refusal.message}`, {
      sequence: refusal.sequence,
      subject: refusal.subject,
      reason: refusal.reason,
      writer: refusal.writer,
    });
  }
}

/** A header's value, or undefined when the message does not carry it (NATS answers "" for a missing one). */
export function header(headers: MsgHdrs | undefined, name: string): string | undefined {
  if (!headers?.has(name)) return undefined;
  return headers.get(name);
}

/** Parses and validates a message already verified; throws EVENTSTORE.EVENT_INVALID when it is not a valid CloudEvent. */
export function parseCloudEvent(msg: StoredMessage): CloudEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(msg.data));
  } catch (error) {
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `stream message ${msg.seq} is not valid JSON: ${(error as Error).message}`, { sequence: msg.seq });
  }
  const parsed = CloudEventSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues);
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `stream message ${msg.seq} is not a valid CloudEvent: ${problems.join('; ')}`, { sequence: msg.seq, problems });
  }
  return parsed.data as CloudEvent;
}
