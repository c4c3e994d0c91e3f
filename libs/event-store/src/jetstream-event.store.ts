import { ForgeOneError, HEADERS, cloudEvent, type CloudEvent, type Names } from '@forgeone/contracts';
import type {
  AppendOptions,
  AppendResult,
  EventFold,
  EventStore,
  LoadedAggregate,
  NewEvent,
  StoredEvent,
  VersionedEvents,
} from '@forgeone/event-sourcing';
import { SpanKind, createLogger, injectTraceContext, platformMetrics, withSpan, type Logger } from '@forgeone/telemetry';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamPublishOptions,
  type JsMsg,
  type PubAck,
} from '@nats-io/jetstream';
import { MsgHdrsImpl, canonicalMIMEHeaderKey, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { EventAuthorship, MessageAuthorship, MessageToSign } from './event-authorship.js';
import { ReplayGuard } from './replay-guard.js';
import { SigningQueue } from './signing-queue.js';
import type { EventRefusal } from './stored-event.js';
import { isUnreachable, unavailable } from './nats-error.mapper.js';

// The store's interface lives with the command handler in @forgeone/event-sourcing; re-exported for its readers.
export type { AppendOptions, AppendResult, EventFold, EventStore, LoadedAggregate, NewEvent, StoredEvent, VersionedEvents };

export interface EventStoreOptions {
  /** Signs what this process appends and verifies every event it reads (required: there is no unverified read). */
  readonly authorship: EventAuthorship;
  /** Milliseconds to wait for a JetStream answer (default 5000). */
  readonly timeoutMs?: number;
  /** Where refused (forged or replayed) events are logged at error level (default a logger named event-store). */
  readonly logger?: Logger;
}

/** An event about to be signed and published: its envelope, its Nats-Msg-Id and the exact payload bytes. */
interface OutgoingMessage extends MessageToSign {
  readonly event: CloudEvent;
  readonly msgId: string;
}

/**
 * The trace headers the active context propagates (`traceparent`, `tracestate`, ...), checked and
 * trimmed as MsgHdrs.set would (a name of header characters, a value without CR or LF).
 */
function traceHeaders(): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  injectTraceContext({
    get: () => undefined,
    set: (key, value) => {
      canonicalMIMEHeaderKey(key);
      // As MsgHdrs.set does: a key set again moves to the end with its new value.
      const earlier = out.findIndex(([k]) => k === key);
      if (earlier !== -1) out.splice(earlier, 1);
      out.push([key, MsgHdrsImpl.validHeaderValue(value)]);
    },
  });
  return out;
}

/** The event id as its Nats-Msg-Id header value (trimmed, as MsgHdrs.set stores it); EVENTSTORE.EVENT_INVALID when it holds CR or LF. */
function messageId(id: string): string {
  try {
    return MsgHdrsImpl.validHeaderValue(id);
  } catch {
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `event id ${JSON.stringify(id.slice(0, 64))} cannot be a message id: it holds a carriage return or line feed`, { id: id.slice(0, 128) });
  }
}

/**
 * One message's headers in the order they always had: event type, trace context, writer,
 * signature, proof, then what the JetStream client would add (Nats-Msg-Id, the expected last
 * subject sequence). Built in one step from values already valid as header values (the type passed
 * the envelope schema, the trace headers and the id were checked, the rest are a service name,
 * base64 and a number), where a MsgHdrs.set per header re-checks and canonicalises each name and
 * scans the others: ~1.5 µs per event.
 */
function messageHeaders(message: OutgoingMessage, trace: ReadonlyArray<readonly [string, string]>, authorship: MessageAuthorship, expected: number | undefined): MsgHdrs {
  const record: Record<string, string[]> = { [HEADERS.eventType]: [message.event.type] };
  for (const [key, value] of trace) record[key] = [value];
  record[HEADERS.eventWriter] = [authorship.writer];
  record[HEADERS.eventSignature] = [authorship.signature];
  if (authorship.proof !== undefined) record[HEADERS.eventProof] = [authorship.proof];
  record[HEADERS.msgId] = [message.msgId];
  if (expected !== undefined) record[HEADERS.expectedLastSubjectSequence] = [String(expected)];
  return MsgHdrsImpl.fromRecord(record);
}

/**
 * `js.publish` with the client's async-trace errors made without a stack. For each request nats.js
 * makes two Errors in advance (a RequestError holding the caller's stack, a TimeoutError for its
 * timer) and capturing their stacks from an append's frames cost more CPU than everything else the
 * append adds to a publish, signing included (docs in ARCHITECTURE.md, "Measured costs"). Both are
 * made before the publish's first await, so the limit is back before any other code runs. A conflict
 * or an unreachable stream is reported by an error of the store's own, with a stack (appendError);
 * another refusal (a permissions violation) keeps the stack of its cause.
 */
function publishUntraced(js: JetStreamClient, subject: string, payload: Uint8Array, options: Partial<JetStreamPublishOptions>): Promise<PubAck> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return js.publish(subject, payload, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Appends CloudEvents to `names.eventSubject(aggregate, id)` with per-aggregate optimistic
 * concurrency (`Nats-Expected-Last-Subject-Sequence`) and idempotent retries (`Nats-Msg-Id`),
 * and reads an aggregate's events back in order.
 *
 * Several events in one `append` are written one after the other, each expecting the
 * sequence of the previous, so a concurrent writer can only make the remainder fail with
 * EVENTSTORE.CONFLICT; retrying the whole call is safe because stored events are recognised
 * as duplicates by id.
 *
 * Every appended message is signed by this process's writer ({@link EventAuthorship}); reads
 * return only events their aggregate's owner wrote, each id once: a forged or replayed message is
 * logged at error level and left out.
 */
export class JetStreamEventStore implements EventStore {
  private readonly js: JetStreamClient;
  private jsm?: Promise<JetStreamManager>;
  private readonly timeoutMs: number;
  private readonly authorship: EventAuthorship;
  private readonly log: Logger;
  // Appends not yet acknowledged: a lone one signs at once, concurrent ones share batch signatures.
  private inFlight = 0;
  private readonly signing: SigningQueue;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    options: EventStoreOptions,
  ) {
    if (!options?.authorship) throw new TypeError('JetStreamEventStore needs options.authorship: events are signed on append and verified on read');
    this.authorship = options.authorship;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.log = options.logger ?? createLogger('event-store');
    this.js = jetstream(nc, { timeout: this.timeoutMs });
    this.signing = new SigningQueue(this.authorship);
  }

  async append(aggregate: string, id: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult[]> {
    const { expectedSequence } = options;
    if (expectedSequence !== 'any' && (!Number.isSafeInteger(expectedSequence) || expectedSequence < 0)) {
      throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `expectedSequence must be a non-negative integer, got ${String(expectedSequence)}`);
    }
    if (events.length === 0) return [];
    const subject = this.names.eventSubject(aggregate, id);
    // Awaited rather than returned: resolving with the value costs fewer promise jobs than adopting a promise.
    return await withSpan(
      `forgeone.evt append ${aggregate}`,
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'forgeone.events': events.length } },
      async () => {
        // The trace context is this span's for every event of the call: read it once, copy it into each.
        const trace = traceHeaders();
        const traceparent = trace.find(([key]) => key === HEADERS.traceparent)?.[1];
        // Validate every envelope before writing the first one: an invalid batch writes nothing.
        const messages: OutgoingMessage[] = new Array(events.length);
        for (let i = 0; i < events.length; i++) {
          const envelope = cloudEvent(aggregate, id, events[i], traceparent);
          // Buffer.from writes the same UTF-8 bytes as TextEncoder, from a pool instead of a fresh allocation.
          // The id becomes Nats-Msg-Id: checked (no CR or LF) and trimmed here, as MsgHdrs.set would.
          messages[i] = { event: envelope, msgId: messageId(envelope.id), aggregate, subject, payload: Buffer.from(JSON.stringify(envelope)) };
        }
        // All signed before the first is written, so a refusal writes nothing. With no other append in
        // flight they are signed now; otherwise they wait for this turn of the event loop and share one
        // signature with the other appends that arrive in it (SigningQueue).
        this.inFlight += 1;
        try {
          const signed = this.inFlight === 1 ? this.authorship.signAll(messages) : await this.signing.sign(messages);
          // Published one after the other, each expecting the sequence of the previous (in this frame:
          // a helper would cost every append one more promise).
          const results: AppendResult[] = new Array(messages.length);
          let expected: number | undefined = expectedSequence === 'any' ? undefined : expectedSequence;
          for (let i = 0; i < messages.length; i++) {
            const { event, payload } = messages[i];
            let ack;
            try {
              // The headers carry Nats-Msg-Id and the expected sequence already: the client sets nothing more.
              ack = await publishUntraced(this.js, subject, payload, { headers: messageHeaders(messages[i], trace, signed[i], expected) });
            } catch (error) {
              throw this.appendError(aggregate, id, expected ?? -1, error);
            }
            results[i] = { sequence: ack.seq, duplicate: ack.duplicate, event };
            // A duplicate wrote nothing: its ack names where the first copy went, not the subject's last
            // sequence. Expecting that would fail the rest of a batch retried after another writer's
            // append came between its parts (several sandbox-runners logging into one tenant's subject).
            if (expected !== undefined && !ack.duplicate) expected = ack.seq;
          }
          let duplicates = 0;
          for (const r of results) if (r.duplicate) duplicates++;
          const metrics = platformMetrics();
          metrics.eventAppend(aggregate, 'appended', results.length - duplicates);
          metrics.eventAppend(aggregate, 'duplicate', duplicates);
          return results;
        } finally {
          this.inFlight -= 1;
        }
      },
    );
  }

  /** The aggregate's events its owner wrote, in stream order. */
  async read(aggregate: string, id: string): Promise<StoredEvent[]> {
    return (await this.readVersioned(aggregate, id)).events;
  }

  async lastSequence(aggregate: string, id: string): Promise<number> {
    const jsm = await this.manager();
    try {
      const last = await jsm.streams.getMessage(this.names.stream, { last_by_subj: this.names.eventSubject(aggregate, id) });
      return last?.seq ?? 0;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return 0;
      throw isUnreachable(error) ? unavailable(`reading ${aggregate} ${id}`, error) : error;
    }
  }

  async readVersioned(aggregate: string, id: string): Promise<VersionedEvents> {
    const subject = this.names.eventSubject(aggregate, id);
    // An ordered consumer on an empty subject would wait for messages that never come.
    const lastSequence = await this.lastSequence(aggregate, id);
    if (lastSequence === 0) return { events: [], version: 0 };

    const out: StoredEvent[] = [];
    const replays = new ReplayGuard();
    let consumer;
    try {
      consumer = await this.js.consumers.get(this.names.stream, { filter_subjects: subject });
      const messages = await consumer.consume({ max_messages: 256 });
      try {
        for await (const msg of messages) {
          const stored = this.accept(msg, replays);
          if (stored) out.push(stored);
          if (msg.seq >= lastSequence) break;
        }
      } finally {
        await messages.close();
      }
    } catch (error) {
      throw isUnreachable(error) ? unavailable(`reading ${aggregate} ${id}`, error) : error;
    } finally {
      consumer?.delete().catch(() => undefined);
    }
    return { events: out, version: lastSequence };
  }

  /**
   * Every event of every instance of `aggregate` (e.g. all keys), in stream order: whatever was
   * stored when the call began is included, so a write acknowledged before is always seen.
   */
  async readAggregate(aggregate: string): Promise<StoredEvent[]> {
    const filter = this.names.aggregateEvents(aggregate);
    const out: StoredEvent[] = [];
    let consumer;
    try {
      consumer = await this.js.consumers.get(this.names.stream, { filter_subjects: filter });
      if ((await consumer.info(true)).num_pending === 0) return [];
      const messages = await consumer.consume({ max_messages: 256 });
      // A replay carries its original's subject (the signature binds it), so one guard per read sees it.
      const replays = new ReplayGuard();
      try {
        for await (const msg of messages) {
          const stored = this.accept(msg, replays);
          if (stored) out.push(stored);
          if (msg.info.pending === 0) break;
        }
      } finally {
        await messages.close();
      }
    } catch (error) {
      throw isUnreachable(error) ? unavailable(`reading ${aggregate} events`, error) : error;
    } finally {
      consumer?.delete().catch(() => undefined);
    }
    return out;
  }

  async load<S, E extends CloudEvent = CloudEvent>(aggregate: string, id: string, fold: EventFold<S, E>): Promise<LoadedAggregate<S>> {
    const { events, version } = await this.readVersioned(aggregate, id);
    let state = fold.initialState();
    for (const { event } of events) state = fold.evolve(state, event as E);
    return { state, version };
  }

  /** A verified, first-seen event, or undefined (logged) for a forged or replayed message. */
  private accept(msg: JsMsg, replays: ReplayGuard): StoredEvent | undefined {
    const opened = this.authorship.open(msg);
    if (!opened.ok) {
      this.refused(opened.refusal);
      return undefined;
    }
    const first = replays.replayOf(opened.event.id, msg.seq);
    if (first !== undefined) {
      this.refused(this.authorship.replayRefusal(msg, opened.event, first));
      return undefined;
    }
    return { sequence: msg.seq, event: opened.event };
  }

  private refused(refusal: EventRefusal): void {
    this.log.error({ refusal }, 'refused a stored event its aggregate owner did not write; it is left out');
  }

  private appendError(aggregate: string, id: string, expectedSequence: number, error: unknown): Error {
    if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)) {
      platformMetrics().eventAppend(aggregate, 'conflict');
      return new ForgeOneError(
        'EVENTSTORE.CONFLICT',
        `${aggregate} ${id} was changed concurrently (expected sequence ${expectedSequence}); reload and retry`,
        { aggregate, id, expectedSequence },
      );
    }
    if (isUnreachable(error)) return unavailable(`appending to ${aggregate} ${id}`, error);
    return error instanceof Error ? error : new Error(String(error));
  }

  private manager(): Promise<JetStreamManager> {
    this.jsm ??= jetstreamManager(this.nc, { timeout: this.timeoutMs, checkAPI: false });
    return this.jsm;
  }
}

/** Factory for {@link JetStreamEventStore}. */
export function createEventStore(nc: NatsConnection, names: Names, options: EventStoreOptions): JetStreamEventStore {
  return new JetStreamEventStore(nc, names, options);
}
