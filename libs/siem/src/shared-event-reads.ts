import { HEADERS } from '@forgeone/contracts';
import type { EventAuthorship, OpenedEvent, StoredMessage } from '@forgeone/event-store';

/** What a sink's reader opens stream messages with: {@link EventAuthorship} itself, or {@link SharedEventReads} over it. */
export type EventOpener = Pick<EventAuthorship, 'open'>;

/**
 * One verified read of a stream message shared by every sink of a forwarder: each sink reads the
 * stream on its own, and without this each one verified and parsed every message again. A message
 * is opened (verified, then parsed) by {@link EventAuthorship.open}; its answer is handed to another
 * sink only for a message at the same sequence whose subject, payload bytes and authorship headers
 * are exactly those that were verified, so nothing is forwarded on a verification of other bytes.
 * The most recent `kept` sequences are kept: sinks that read together share, a lagging one opens
 * its own.
 */
export class SharedEventReads implements EventOpener {
  private readonly opened = new Map<number, { readonly read: ReadMessage; readonly result: OpenedEvent }>();

  constructor(
    private readonly authorship: EventOpener,
    private readonly kept = 8_192,
  ) {}

  open(msg: StoredMessage): OpenedEvent {
    const read = readOf(msg);
    const hit = this.opened.get(msg.seq);
    if (hit && sameRead(hit.read, read)) return hit.result;
    // A message its owner wrote that is not a valid CloudEvent throws here, and is not kept.
    const result = this.authorship.open(msg);
    this.opened.delete(msg.seq);
    // The bytes are copied: the message's payload may be a view of a larger receive buffer.
    this.opened.set(msg.seq, { read: { ...read, data: Buffer.from(read.data) }, result });
    if (this.opened.size > this.kept) this.opened.delete(this.opened.keys().next().value!);
    return result;
  }
}

/** Everything {@link EventAuthorship.open} reads of a message. */
interface ReadMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly writer: string | undefined;
  readonly signature: string | undefined;
  readonly proof: string | undefined;
}

function readOf(msg: StoredMessage): ReadMessage {
  return { subject: msg.subject, data: msg.data, writer: headerOf(msg, HEADERS.eventWriter), signature: headerOf(msg, HEADERS.eventSignature), proof: headerOf(msg, HEADERS.eventProof) };
}

function headerOf(msg: StoredMessage, name: string): string | undefined {
  return msg.headers?.has(name) ? msg.headers.get(name) : undefined;
}

function sameRead(a: ReadMessage, b: ReadMessage): boolean {
  return a.subject === b.subject && a.writer === b.writer && a.signature === b.signature && a.proof === b.proof && sameBytes(a.data, b.data);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
