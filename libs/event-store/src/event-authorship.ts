import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import {
  CloudEventSchema,
  EVENT_AUTHORSHIP_ENV,
  EVENT_OWNERSHIP,
  ForgeOneError,
  HEADERS,
  SERVICES,
  aggregateOwner,
  aggregatesOwnedBy,
  decodeSubjectToken,
  describeIssues,
  type AggregateOwnership,
  type CloudEvent,
  type ForgeryReason,
  type Names,
  type ServiceName,
} from '@forgeone/contracts';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Domain tag of the signed bytes: a signature over anything else never verifies as an event's. */
export const EVENT_SIGNATURE_DOMAIN = 'forgeone.event.v1';

const SIGNATURE_BYTES = 64;
// Base64 of 64 bytes with padding.
const SIGNATURE_BASE64_LENGTH = 88;
const MAX_REPORTED_WRITER = 64;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const domain = encoder.encode(EVENT_SIGNATURE_DOMAIN);

// Which aggregate each event type belongs to, looked up once per event read.
const AGGREGATE_OF_TYPE = new Map<string, string>(
  Object.entries(EVENT_OWNERSHIP as Record<string, AggregateOwnership>).flatMap(([aggregate, { types }]) => types.map((type) => [type, aggregate] as const)),
);
const WRITERS: readonly ServiceName[] = SERVICES.filter((service) => aggregatesOwnedBy(service).length > 0);

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

export interface EventAuthorshipOptions {
  readonly names: Names;
  /** Pinned Ed25519 public keys of the writing services. */
  readonly writerKeys: ReadonlyMap<ServiceName, KeyObject>;
  /** Unsigned messages are accepted at stream sequences at or below this one, refused after it. */
  readonly unsignedUntil: number;
  /** The service this process writes as, with its private key; absent in a process that only reads. */
  readonly signer?: { readonly service: ServiceName; readonly privateKey: KeyObject };
}

/**
 * Who wrote an event. A writer signs, per appended message, the domain tag, its own name, the
 * exact subject and the sha256 of the exact payload bytes with Ed25519, and sends its name and
 * the signature as the `Forgeone-Writer` and `Forgeone-Signature` headers. A reader accepts a
 * message only when the signature verifies under the pinned key of the writer named, that writer
 * owns the subject's aggregate (EVENT_OWNERSHIP), and the event's type belongs to that aggregate;
 * all of it is checked before the payload is parsed. Unsigned messages pass only at or below the
 * cut-over sequence. Replays (an accepted id seen again) are the reader's fold to catch, with
 * {@link ReplayGuard} or against its database.
 */
export class EventAuthorship {
  readonly names: Names;
  readonly unsignedUntil: number;
  private readonly writerKeys: ReadonlyMap<ServiceName, KeyObject>;
  private readonly signer?: { readonly service: ServiceName; readonly privateKey: KeyObject };
  private readonly subjectPrefix: string;

  constructor(options: EventAuthorshipOptions) {
    if (!Number.isSafeInteger(options.unsignedUntil) || options.unsignedUntil < 0) {
      throw new RangeError(`unsignedUntil must be a non-negative integer, got ${options.unsignedUntil}`);
    }
    for (const [service, key] of options.writerKeys) assertEd25519(key, 'public', `the pinned key of ${service}`);
    if (options.signer) {
      assertEd25519(options.signer.privateKey, 'private', `the signing key of ${options.signer.service}`);
      const pinned = options.writerKeys.get(options.signer.service);
      if (!pinned || !spkiOf(createPublicKey(options.signer.privateKey)).equals(spkiOf(pinned))) {
        throw new Error(`the signing key of ${options.signer.service} does not match the public key pinned for it; every reader would refuse its events`);
      }
    }
    this.names = options.names;
    this.unsignedUntil = options.unsignedUntil;
    this.writerKeys = options.writerKeys;
    this.signer = options.signer;
    this.subjectPrefix = options.names.eventsWildcard.slice(0, -1);
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
   * {@link signInto} with the Ed25519 signature computed on libuv's thread pool, so a process
   * appending many events at once does not spend its event loop on signing (~45 µs each here).
   */
  async signIntoAsync(headers: MsgHdrs, aggregate: string, subject: string, payload: Uint8Array): Promise<void> {
    const signer = this.signerFor(aggregate);
    const input = signingInput(signer.service, subject, payload);
    const signature = await new Promise<Buffer>((resolve, reject) => sign(null, input, signer.privateKey, (error, result) => (error ? reject(error) : resolve(result))));
    headers.set(HEADERS.eventWriter, signer.service);
    headers.set(HEADERS.eventSignature, signature.toString('base64'));
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
    const refuse = (reason: ForgeryReason, message: string): EventRefusal => ({
      reason,
      message,
      sequence: msg.seq,
      subject: msg.subject,
      writer: writerHeader === undefined ? null : writerHeader.slice(0, MAX_REPORTED_WRITER),
      aggregate: aggregate ?? null,
    });
    if (writerHeader === undefined && signatureHeader === undefined) {
      if (msg.seq <= this.unsignedUntil) return undefined;
      return refuse('unsigned', `the message carries no ${HEADERS.eventWriter} and ${HEADERS.eventSignature} headers and its sequence is after the cut-over (${this.unsignedUntil})`);
    }
    if (writerHeader === undefined || signatureHeader === undefined) {
      return refuse('bad-signature', `the message carries ${writerHeader === undefined ? HEADERS.eventSignature : HEADERS.eventWriter} without ${writerHeader === undefined ? HEADERS.eventWriter : HEADERS.eventSignature}`);
    }
    const key = (WRITERS as readonly string[]).includes(writerHeader) ? this.writerKeys.get(writerHeader as ServiceName) : undefined;
    if (!key) return refuse('unknown-writer', `no public key is pinned for writer "${writerHeader.slice(0, MAX_REPORTED_WRITER)}"`);
    if (aggregate === undefined) return refuse('wrong-writer', `the subject names no event aggregate`);
    const owner = aggregateOwner(aggregate);
    if (owner !== writerHeader) {
      return refuse('wrong-writer', owner ? `aggregate ${aggregate} is written by ${owner}, not ${writerHeader}` : `no service owns aggregate ${aggregate}`);
    }
    if (signatureHeader.length !== SIGNATURE_BASE64_LENGTH) return refuse('bad-signature', 'the signature is not 64 bytes of base64');
    const signature = Buffer.from(signatureHeader, 'base64');
    if (signature.length !== SIGNATURE_BYTES || signature.toString('base64') !== signatureHeader) {
      return refuse('bad-signature', 'the signature is not 64 bytes of base64');
    }
    if (!verifyEventSignature(writerHeader, key, msg.subject, msg.data, signature)) {
      return refuse('bad-signature', `the signature does not verify under the key pinned for ${writerHeader}`);
    }
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
    const home = AGGREGATE_OF_TYPE.get(event.type);
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
 * Remembers the stream sequence at which each event id was first applied, so a replayed copy of
 * a genuine event (same id, later sequence) is refused. For in-memory folds that read from the start.
 */
export class ReplayGuard {
  private readonly firstSeen = new Map<string, number>();

  /** Records the id at `sequence`; answers the earlier sequence when the id was applied elsewhere before. */
  replayOf(id: string, sequence: number): number | undefined {
    const first = this.firstSeen.get(id);
    if (first === undefined) {
      this.firstSeen.set(id, sequence);
      return undefined;
    }
    return first === sequence ? undefined : first;
  }

  get size(): number {
    return this.firstSeen.size;
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
 * The base64 Ed25519 signature of `writer` over one message: the primitive under
 * {@link EventAuthorship.signInto}, which also checks that the writer owns the aggregate.
 */
export function eventSignature(writer: string, privateKey: KeyObject, subject: string, payload: Uint8Array): string {
  return sign(null, signingInput(writer, subject, payload), privateKey).toString('base64');
}

/** Whether `signature` (64 bytes) is `writer`'s over this subject and payload under `publicKey`. */
export function verifyEventSignature(writer: string, publicKey: KeyObject, subject: string, payload: Uint8Array, signature: Uint8Array): boolean {
  return verify(null, signingInput(writer, subject, payload), publicKey, signature);
}

/** A fresh Ed25519 key pair in the encodings the environment variables use (base64 PKCS#8 DER, base64 SPKI DER). */
export function generateEventWriterKey(): { readonly privateKey: string; readonly publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: spkiOf(publicKey).toString('base64'),
  };
}

/** The services that own an aggregate and so sign events: each needs a key pair. */
export function eventWriters(): readonly ServiceName[] {
  return WRITERS;
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

/** Parses FORGEONE_EVENT_WRITER_KEYS; throws naming the variable and the writer that is wrong or missing. */
export function parseWriterKeys(json: string | undefined): Map<ServiceName, KeyObject> {
  const variable = EVENT_AUTHORSHIP_ENV.writerKeys;
  if (json === undefined || json.trim() === '') {
    throw new Error(`${variable} is not set: every service needs the pinned Ed25519 public keys of the event writers (${WRITERS.join(', ')}) as JSON {"<service>":"<base64 SPKI DER>"}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${variable} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${variable} must be a JSON object {"<service>":"<base64 SPKI DER>"}`);
  const keys = new Map<ServiceName, KeyObject>();
  for (const [service, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(WRITERS as readonly string[]).includes(service)) throw new Error(`${variable}.${service}: not a service that writes events (writers: ${WRITERS.join(', ')})`);
    if (typeof value !== 'string') throw new Error(`${variable}.${service}: must be a base64 SPKI DER public key`);
    keys.set(service as ServiceName, parseKey(value, 'public', `${variable}.${service}`));
  }
  const missing = WRITERS.filter((writer) => !keys.has(writer));
  if (missing.length > 0) throw new Error(`${variable} has no key for ${missing.join(', ')}: events of those services could not be verified`);
  return keys;
}

function parseUnsignedUntil(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new Error(`${EVENT_AUTHORSHIP_ENV.unsignedUntil} must be a stream sequence (a non-negative integer), got "${value.slice(0, 40)}"`);
  }
  return Number(trimmed);
}

function parseKey(base64: string, kind: 'public' | 'private', what: string): KeyObject {
  const text = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error(`${what}: must be base64 DER (${kind === 'public' ? 'SPKI' : 'PKCS#8'}) without line breaks`);
  let key: KeyObject;
  try {
    const der = Buffer.from(text, 'base64');
    key = kind === 'public' ? createPublicKey({ key: der, format: 'der', type: 'spki' }) : createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new Error(`${what}: not a ${kind === 'public' ? 'SPKI' : 'PKCS#8'} DER key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what}: must be an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

function assertEd25519(key: KeyObject, type: 'public' | 'private', what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} must be an Ed25519 ${type} key`);
}

function spkiOf(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

// domain ‖ len(writer) ‖ writer ‖ len(subject) ‖ subject ‖ sha256(payload); lengths are 4-byte big-endian,
// so no choice of writer and subject can produce another pair's bytes.
function signingInput(writer: string, subject: string, payload: Uint8Array): Buffer {
  const w = encoder.encode(writer);
  const s = encoder.encode(subject);
  const out = Buffer.allocUnsafe(domain.length + 4 + w.length + 4 + s.length + 32);
  let at = 0;
  out.set(domain, at);
  at += domain.length;
  out.writeUInt32BE(w.length, at);
  out.set(w, (at += 4));
  at += w.length;
  out.writeUInt32BE(s.length, at);
  out.set(s, (at += 4));
  at += s.length;
  createHash('sha256').update(payload).digest().copy(out, at);
  return out;
}

function header(headers: MsgHdrs | undefined, name: string): string | undefined {
  if (!headers?.has(name)) return undefined;
  return headers.get(name);
}

function parseCloudEvent(msg: StoredMessage): CloudEvent {
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
