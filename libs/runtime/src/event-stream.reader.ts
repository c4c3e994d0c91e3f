import type { Names } from '@forgeone/contracts';
import type { AuthorshipVerdict, EventAuthorship, StoredMessage } from '@forgeone/event-store';
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { keyIdOf } from '@forgeone/signing';
import { natsConnectionOptions } from './nats-url.js';

/** A stream message's payload and, when the reader was given authorship, whether its aggregate's owner wrote it. */
export interface VerifiedStreamMessage {
  readonly data: Uint8Array;
  readonly authorship?: AuthorshipVerdict;
}

/** Reads messages of the event stream by sequence, as stored. */
export interface EventStreamReader {
  /** The payload at `sequence`, or undefined when the stream holds none there. */
  read(sequence: number): Promise<Uint8Array | undefined>;
  /** The payload at `sequence` with its authorship verified (given `authorship`), or undefined when the stream holds none there. */
  message(sequence: number): Promise<VerifiedStreamMessage | undefined>;
  close(): Promise<void>;
}

export interface EventStreamReaderOptions {
  /** Messages an in-order read keeps in flight (default 1000): memory stays bounded by one batch. */
  readonly batch?: number;
  /** How long an in-order read waits for the consumer before asking for the single message (default 5 s). */
  readonly stallMs?: number;
  /** Verifies each message's signature with the writer keys it pins, as every event reader does (see {@link EventStreamReader.message}). */
  readonly authorship?: EventAuthorship;
}

/**
 * Reads the event stream of `names` over a connection the caller owns. Reads in ascending order (an
 * audit's) come from one ordered consumer that keeps a batch of messages in flight, so a million rows
 * are not a million requests; a read behind the consumer, far ahead of it or past the stream's last
 * message asks for that one message. Memory stays bounded by the batch.
 */
export async function eventStreamMessages(nc: NatsConnection, names: Names, options: EventStreamReaderOptions = {}): Promise<EventStreamReader> {
  const batch = options.batch ?? 1000;
  const stallMs = options.stallMs ?? 5000;
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const js = jetstream(nc, { checkAPI: false });
  const single = async (sequence: number): Promise<StoredMessage | undefined> => {
    try {
      const found = await jsm.streams.getMessage(names.stream, { seq: sequence });
      return found ? { subject: found.subject, data: found.data, seq: found.seq, headers: found.header } : undefined;
    } catch (error) {
      if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.NoMessageFound || error.status === 404)) return undefined;
      throw error;
    }
  };

  let messages: ConsumerMessages | undefined;
  let iterator: AsyncIterator<JsMsg> | undefined;
  // The consumer has moved past every sequence up to `passed`; `head` is the first message it delivered after.
  let passed = 0;
  let head: JsMsg | undefined;
  let lastSeq = 0;
  // One watchdog gives up a wait on the consumer that lasted stallMs, rather than a timer armed and cleared per message.
  let waiting: { readonly since: number; readonly giveUp: () => void } | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(watchdog);
    watchdog = undefined;
    const open = messages;
    messages = undefined;
    iterator = undefined;
    head = undefined;
    // close() unsubscribes at once; the promise it answers waits for the iterator to be drained, which a reader
    // that stops early never does, so it is not awaited.
    open?.close().catch(() => undefined);
  };
  const start = async (sequence: number) => {
    await stop();
    messages = await (await js.consumers.get(names.stream, { opt_start_seq: sequence })).consume({ max_messages: batch });
    iterator = messages[Symbol.asyncIterator]();
    passed = sequence - 1;
  };
  const next = async (): Promise<JsMsg | undefined> => {
    watchdog ??= setInterval(() => {
      if (waiting && performance.now() - waiting.since >= stallMs) waiting.giveUp();
    }, Math.max(10, stallMs / 5)).unref();
    const stalled = new Promise<undefined>((resolve) => (waiting = { since: performance.now(), giveUp: () => resolve(undefined) }));
    try {
      const result = await Promise.race([iterator!.next(), stalled]);
      return result && !result.done ? result.value : undefined;
    } finally {
      waiting = undefined;
    }
  };

  const stored = async (sequence: number): Promise<StoredMessage | undefined> => {
    if (sequence > lastSeq) lastSeq = (await jsm.streams.info(names.stream)).state.last_seq;
    if (sequence > lastSeq) return single(sequence);
    if (iterator && head?.seq === sequence) return head;
    // Behind the consumer: one message; far ahead of it (or no consumer yet): a consumer from there.
    if (iterator && sequence <= passed) return single(sequence);
    if (!iterator || sequence > passed + 10 * batch) await start(sequence);
    for (;;) {
      if (!head) {
        head = await next();
        // The consumer stalls (the rest of the stream deleted, the server busy): ask for this one message.
        if (!head) {
          await stop();
          return single(sequence);
        }
      }
      if (head.seq < sequence) {
        passed = head.seq;
        head = undefined;
        continue;
      }
      passed = sequence - 1;
      return head.seq === sequence ? head : undefined;
    }
  };
  const { authorship } = options;
  return {
    read: async (sequence) => (await stored(sequence))?.data,
    message: async (sequence) => {
      const msg = await stored(sequence);
      if (!msg) return undefined;
      return authorship ? { data: msg.data, authorship: authorship.verdict(msg) } : { data: msg.data };
    },
    close: stop,
  };
}

/** Opens the event stream of `names` on NATS_URL for reading, on a connection of its own. */
export async function openEventStreamReader(natsUrl: string, names: Names, connection: Partial<ConnectionOptions> = {}, options: EventStreamReaderOptions = {}): Promise<EventStreamReader> {
  const nc = await connect({ ...natsConnectionOptions(natsUrl), ...connection, name: 'forgeone-audit-verify' });
  const reader = await eventStreamMessages(nc, names, options);
  return {
    read: reader.read,
    message: reader.message,
    close: async () => {
      await reader.close();
      await nc.close();
    },
  };
}

/** What a verification checked authorship against: the fingerprint of each pinned writer key and the cut-over, for its report. */
export function authorshipPins(authorship: EventAuthorship): { readonly writers: Record<string, string>; readonly unsignedUntil: number } {
  const writers: Record<string, string> = {};
  for (const [service, key] of [...authorship.pinnedKeys].sort(([a], [b]) => a.localeCompare(b))) writers[service] = keyIdOf(key);
  return { writers, unsignedUntil: authorship.unsignedUntil };
}
