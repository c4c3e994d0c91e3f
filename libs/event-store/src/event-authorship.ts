import type { KeyObject } from 'node:crypto';
import {
  EVENT_AUTHORSHIP_ENV,
  ForgeOneError,
  HEADERS,
  aggregateOfEventType,
  aggregateOwner,
  aggregatesOwnedBy,
  decodeSubjectToken,
  type CloudEvent,
  type ForgeryReason,
  type Names,
  type ServiceName,
} from '@forgeone/contracts';
import type { MsgHdrs } from '@nats-io/transport-node';
import { eventLeaf, eventSignature, parseBatchProof, rootFrom, signEventBatch, signatureBytes, verifyBatchSignature, verifyEventSignature } from './event-signature.js';
import { ForgedEventError, header, parseCloudEvent, type EventRefusal, type OpenedEvent, type StoredMessage } from './stored-event.js';
import { assertEd25519, isEventWriter, parseKey, parseUnsignedUntil, parseWriterKeys, sameKeyPair } from './writer-keys.js';

const MAX_REPORTED_WRITER = 64;
// Batch roots whose signature a reader verified: a batch's other events then cost a few hashes each.
const VERIFIED_ROOTS_KEPT = 4_096;


export interface EventAuthorshipOptions {
  readonly names: Names;
  /** Pinned Ed25519 public keys of the writing services. */
  readonly writerKeys: ReadonlyMap<ServiceName, KeyObject>;
  /** Unsigned messages are accepted at stream sequences at or below this one, refused after it. */
  readonly unsignedUntil: number;
  /** The service this process writes as, with its private key; absent in a process that only reads. */
  readonly signer?: { readonly service: ServiceName; readonly privateKey: KeyObject };
}

/** A reader's answer to "did the owner of this message's aggregate write it?": why not, when not. */
export type AuthorshipVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: ForgeryReason | 'invalid'; readonly message: string };

/** What a signature covers of one message about to be published: its exact subject and payload bytes (and the aggregate, whose owner signs). */
export interface MessageToSign {
  readonly aggregate: string;
  readonly subject: string;
  readonly payload: Uint8Array;
}

/** A message about to be published, to be signed by {@link EventAuthorship.signAllInto}. */
export interface UnsignedMessage extends MessageToSign {
  readonly headers: MsgHdrs;
}

/** One signed message's authorship header values: writer, signature and, when signed in a batch, the inclusion proof. */
export interface MessageAuthorship {
  readonly writer: ServiceName;
  readonly signature: string;
  readonly proof?: string;
}

/** Sets a message's authorship headers (writer, signature, then proof when there is one). */
export function setAuthorshipHeaders(headers: MsgHdrs, authorship: MessageAuthorship): void {
  headers.set(HEADERS.eventWriter, authorship.writer);
  headers.set(HEADERS.eventSignature, authorship.signature);
  if (authorship.proof !== undefined) headers.set(HEADERS.eventProof, authorship.proof);
}

/**
 * Who wrote an event. A writer proves each appended message with Ed25519, in one of two formats
 * (docs/bus.md, "Authorship"): alone, a signature over the domain tag, its own name, the exact
 * subject and the sha256 of the exact payload bytes; or in a batch, one signature over the Merkle
 * root of the batch's leaves (each binding a subject and payload digest), the message carrying the
 * root and its inclusion path in `Forgeone-Proof`. A reader accepts a message only when its proof
 * verifies under the pinned key of the writer named, that writer owns the subject's aggregate
 * (EVENT_OWNERSHIP), and the event's type belongs to that aggregate; all of it is checked before
 * the payload is parsed. Unsigned messages pass only at or below the cut-over sequence. Replays
 * (an accepted id seen again) are the reader's fold to catch, with {@link ReplayGuard} or against
 * its database.
 */
export class EventAuthorship {
  readonly names: Names;
  readonly unsignedUntil: number;
  private readonly writerKeys: ReadonlyMap<ServiceName, KeyObject>;
  private readonly signer?: { readonly service: ServiceName; readonly privateKey: KeyObject };
  private readonly subjectPrefix: string;
  private readonly verifiedRoots = new Set<string>();

  constructor(options: EventAuthorshipOptions) {
    if (!Number.isSafeInteger(options.unsignedUntil) || options.unsignedUntil < 0) {
      throw new RangeError(`unsignedUntil must be a non-negative integer, got ${options.unsignedUntil}`);
    }
    for (const [service, key] of options.writerKeys) assertEd25519(key, 'public', `the pinned key of ${service}`);
    if (options.signer) {
      assertEd25519(options.signer.privateKey, 'private', `the signing key of ${options.signer.service}`);
      const pinned = options.writerKeys.get(options.signer.service);
      if (!pinned || !sameKeyPair(options.signer.privateKey, pinned)) {
        throw new Error(`the signing key of ${options.signer.service} does not match the public key pinned for it; every reader would refuse its events`);
      }
    }
    this.names = options.names;
    this.unsignedUntil = options.unsignedUntil;
    this.writerKeys = options.writerKeys;
    this.signer = options.signer;
    this.subjectPrefix = options.names.eventsWildcard.slice(0, -1);
  }

  /** The pinned public keys of the writing services this process verifies with. */
  get pinnedKeys(): ReadonlyMap<ServiceName, KeyObject> {
    return this.writerKeys;
  }

  /** The service this process signs as, if it writes. */
  get writer(): ServiceName | undefined {
    return this.signer?.service;
  }

  /**
   * Signs one message about to be published on `subject` and sets the writer and signature
   * headers. Throws when this process has no signing key or its service does not own `aggregate`.
   */
  signInto(headers: MsgHdrs, aggregate: string, subject: string, payload: Uint8Array): void {
    const signer = this.signerFor(aggregate);
    headers.set(HEADERS.eventWriter, signer.service);
    headers.set(HEADERS.eventSignature, eventSignature(signer.service, signer.privateKey, subject, payload));
  }

  /**
   * Signs several messages with one signature over their Merkle root and sets each one's writer,
   * signature and proof headers; a single message is signed alone ({@link signInto}). Throws,
   * signing nothing, when this process may not write one of the aggregates.
   */
  signAllInto(messages: readonly UnsignedMessage[]): void {
    const signed = this.signAll(messages);
    for (let i = 0; i < messages.length; i++) setAuthorshipHeaders(messages[i].headers, signed[i]);
  }

  /**
   * Signs several messages as {@link signAllInto} does (one alone, several under one batch
   * signature) and answers each one's authorship header values in order, for a caller that builds
   * the headers itself. Throws, signing nothing, when this process may not write one of the aggregates.
   */
  signAll(messages: readonly MessageToSign[]): MessageAuthorship[] {
    for (const { aggregate } of messages) this.signerFor(aggregate);
    if (messages.length === 0) return [];
    const signer = this.signer!;
    if (messages.length === 1) {
      const [only] = messages;
      return [{ writer: signer.service, signature: eventSignature(signer.service, signer.privateKey, only.subject, only.payload) }];
    }
    const { signature, proofs } = signEventBatch(signer.service, signer.privateKey, messages);
    return proofs.map((proof) => ({ writer: signer.service, signature, proof }));
  }

  /** Throws EVENTSTORE.EVENT_INVALID unless this process may sign events of `aggregate`. */
  assertWrites(aggregate: string): void {
    this.signerFor(aggregate);
  }

  private signerFor(aggregate: string): { readonly service: ServiceName; readonly privateKey: KeyObject } {
    if (!this.signer) {
      throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `this process has no event signing key, so it cannot append to ${aggregate}; set ${EVENT_AUTHORSHIP_ENV.signingKey}`);
    }
    const owner = aggregateOwner(aggregate);
    if (owner !== this.signer.service) {
      throw new ForgeOneError(
        'EVENTSTORE.EVENT_INVALID',
        `${this.signer.service} cannot append to aggregate ${aggregate}: ${owner ? `it is written by ${owner} alone` : 'no service owns it in EVENT_OWNERSHIP'}`,
        { aggregate, writer: this.signer.service },
      );
    }
    return this.signer;
  }

  /**
   * Checks who wrote a message, without parsing it: undefined when it may be parsed, else why not.
   * The event's type is checked by {@link open}, which parses only after this passed.
   */
  check(msg: StoredMessage): EventRefusal | undefined {
    const aggregate = this.aggregateOf(msg.subject);
    const writerHeader = header(msg.headers, HEADERS.eventWriter);
    const signatureHeader = header(msg.headers, HEADERS.eventSignature);
    const proofHeader = header(msg.headers, HEADERS.eventProof);
    const refuse = (reason: ForgeryReason, message: string): EventRefusal => ({
      reason,
      message,
      sequence: msg.seq,
      subject: msg.subject,
      writer: writerHeader === undefined ? null : writerHeader.slice(0, MAX_REPORTED_WRITER),
      aggregate: aggregate ?? null,
    });
    if (writerHeader === undefined && signatureHeader === undefined) {
      if (proofHeader !== undefined) return refuse('bad-signature', `the message carries ${HEADERS.eventProof} without ${HEADERS.eventWriter} and ${HEADERS.eventSignature}`);
      if (msg.seq <= this.unsignedUntil) return undefined;
      return refuse('unsigned', `the message carries no ${HEADERS.eventWriter} and ${HEADERS.eventSignature} headers and its sequence is after the cut-over (${this.unsignedUntil})`);
    }
    if (writerHeader === undefined || signatureHeader === undefined) {
      return refuse('bad-signature', `the message carries ${writerHeader === undefined ? HEADERS.eventSignature : HEADERS.eventWriter} without ${writerHeader === undefined ? HEADERS.eventWriter : HEADERS.eventSignature}`);
    }
    const key = isEventWriter(writerHeader) ? this.writerKeys.get(writerHeader) : undefined;
    if (!key) return refuse('unknown-writer', `no public key is pinned for writer "${writerHeader.slice(0, MAX_REPORTED_WRITER)}"`);
    if (aggregate === undefined) return refuse('wrong-writer', `the subject names no event aggregate`);
    const owner = aggregateOwner(aggregate);
    if (owner !== writerHeader) {
      return refuse('wrong-writer', owner ? `aggregate ${aggregate} is written by ${owner}, not ${writerHeader}` : `no service owns aggregate ${aggregate}`);
    }
    const signature = signatureBytes(signatureHeader);
    if (!signature) return refuse('bad-signature', 'the signature is not 64 bytes of base64');
    if (proofHeader === undefined) {
      if (!verifyEventSignature(writerHeader, key, msg.subject, msg.data, signature)) {
        return refuse('bad-signature', `the signature does not verify under the key pinned for ${writerHeader}`);
      }
      return undefined;
    }
    const proof = parseBatchProof(proofHeader);
    if ('problem' in proof) return refuse('bad-signature', `${HEADERS.eventProof}: ${proof.problem}`);
    // The path leads from this subject and payload to the root the signature must cover; a root's
    // signature is verified once, so a batch's other messages cost only their hashes.
    const root = rootFrom(eventLeaf(msg.subject, msg.data), proof.steps);
    const verified = `${writerHeader}\n${root.toString('latin1')}\n${signatureHeader}`;
    if (this.verifiedRoots.has(verified)) return undefined;
    if (!verifyBatchSignature(writerHeader, key, root, signature)) {
      return refuse('bad-signature', `the batch signature does not verify under the key pinned for ${writerHeader} over the root this message's proof leads to`);
    }
    if (this.verifiedRoots.size >= VERIFIED_ROOTS_KEPT) this.verifiedRoots.delete(this.verifiedRoots.values().next().value!);
    this.verifiedRoots.add(verified);
    return undefined;
  }

  /**
   * Verifies a stored message and only then parses it. A refusal is returned, never thrown; a
   * message its owner wrote that is not a valid CloudEvent throws EVENTSTORE.EVENT_INVALID.
   */
  open(msg: StoredMessage): OpenedEvent {
    const refusal = this.check(msg);
    if (refusal) return { ok: false, refusal };
    const event = parseCloudEvent(msg);
    const aggregate = this.aggregateOf(msg.subject);
    const home = aggregateOfEventType(event.type);
    // A type this version does not know is left to the consumer (the projector halts on it): only a
    // type known to live elsewhere is a forgery.
    if (home !== undefined && home !== aggregate) {
      const writer = header(msg.headers, HEADERS.eventWriter) ?? null;
      return {
        ok: false,
        refusal: {
          reason: 'wrong-aggregate',
          message: `${event.type} belongs to aggregate ${home}, not ${aggregate ?? 'this subject'}`,
          sequence: msg.seq,
          subject: msg.subject,
          writer,
          aggregate: aggregate ?? null,
          eventId: event.id,
          type: event.type,
        },
      };
    }
    return { ok: true, event, writer: (header(msg.headers, HEADERS.eventWriter) as ServiceName | undefined) ?? null };
  }

  /**
   * Whether a stored message is its aggregate owner's event, as {@link open} decides it, answered
   * rather than thrown: a message its owner signed that is no valid CloudEvent is refused too.
   */
  verdict(msg: StoredMessage): AuthorshipVerdict {
    try {
      const opened = this.open(msg);
      return opened.ok ? { ok: true } : { ok: false, reason: opened.refusal.reason, message: opened.refusal.message };
    } catch (error) {
      if (error instanceof ForgeOneError && error.code === 'EVENTSTORE.EVENT_INVALID') return { ok: false, reason: 'invalid', message: error.message };
      throw error;
    }
  }

  /** The refusal of an accepted event whose id was already applied at `firstSequence`. */
  replayRefusal(msg: Pick<StoredMessage, 'subject' | 'seq' | 'headers'>, event: CloudEvent, firstSequence: number): EventRefusal {
    return {
      reason: 'replayed',
      message: `event ${event.id} was already applied at stream sequence ${firstSequence}`,
      sequence: msg.seq,
      subject: msg.subject,
      writer: header(msg.headers, HEADERS.eventWriter)?.slice(0, MAX_REPORTED_WRITER) ?? null,
      aggregate: this.aggregateOf(msg.subject) ?? null,
      eventId: event.id,
      type: event.type,
    };
  }

  /** The aggregate an event subject names (`[<ns>.]forgeone.evt.<aggregate>.<id>`), or undefined. */
  aggregateOf(subject: string): string | undefined {
    if (!subject.startsWith(this.subjectPrefix)) return undefined;
    const rest = subject.slice(this.subjectPrefix.length);
    const dot = rest.indexOf('.');
    if (dot <= 0 || dot === rest.length - 1 || rest.indexOf('.', dot + 1) !== -1) return undefined;
    return decodeSubjectToken(rest.slice(0, dot));
  }
}

/**
 * Parses and validates a stored message as a CloudEvent after verifying who wrote it; throws
 * {@link ForgedEventError} (EVENTSTORE.FORGED) for a refused message and EVENTSTORE.EVENT_INVALID
 * for one that is not a valid CloudEvent.
 */
export function decodeStoredEvent(msg: StoredMessage, authorship: EventAuthorship): CloudEvent {
  const opened = authorship.open(msg);
  if (!opened.ok) throw new ForgedEventError(opened.refusal);
  return opened.event;
}

/**
 * The event authorship of `service` from its environment: the pinned writer keys
 * (FORGEONE_EVENT_WRITER_KEYS, required, one for every writing service), its own signing key
 * (FORGEONE_EVENT_SIGNING_KEY, required exactly when the service writes events) and the cut-over
 * (FORGEONE_EVENT_UNSIGNED_UNTIL, default 0: every event must be signed).
 *
 * @throws {Error} naming the variable that is missing or wrong; the service must not start.
 */
export function eventAuthorshipFromEnv(env: NodeJS.ProcessEnv, service: ServiceName, names: Names): EventAuthorship {
  const writerKeys = parseWriterKeys(env[EVENT_AUTHORSHIP_ENV.writerKeys]);
  const unsignedUntil = parseUnsignedUntil(env[EVENT_AUTHORSHIP_ENV.unsignedUntil]);
  const signingKey = env[EVENT_AUTHORSHIP_ENV.signingKey]?.trim();
  const writes = aggregatesOwnedBy(service).length > 0;
  if (writes && !signingKey) {
    throw new Error(`${EVENT_AUTHORSHIP_ENV.signingKey} is not set: ${service} writes events and refuses to start without its Ed25519 private key (PKCS#8 DER, base64)`);
  }
  if (!writes && signingKey) {
    throw new Error(`${EVENT_AUTHORSHIP_ENV.signingKey} is set, but ${service} writes no events: remove it (only the writing services get a signing key)`);
  }
  const signer = signingKey ? { service, privateKey: parseKey(signingKey, 'private', EVENT_AUTHORSHIP_ENV.signingKey) } : undefined;
  try {
    return new EventAuthorship({ names, writerKeys, unsignedUntil, ...(signer ? { signer } : {}) });
  } catch (error) {
    // The constructor checks the signing key against the pinned one; say which variables disagree.
    throw new Error(`${EVENT_AUTHORSHIP_ENV.signingKey} / ${EVENT_AUTHORSHIP_ENV.writerKeys}: ${(error as Error).message}`);
  }
}
