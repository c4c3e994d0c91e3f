import type { Names } from '@forgeone/contracts';
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectionOptions } from './nats-url.js';

/** Reads messages of the event stream by sequence, as stored (no signature check: the caller compares bytes). */
export interface EventStreamReader {
  /** The payload at `sequence`, or undefined when the stream holds none there. */
  read(sequence: number): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

export interface EventStreamReaderOptions {
  /** Messages an in-order read keeps in flight (default 1000): memory stays bounded by one batch. */
  readonly batch?: number;
  /** How long an in-order read waits for the consumer before asking for the single message (default 5 s). */
  readonly stallMs?: number;
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
  const single = async (sequence: number): Promise<Uint8Array | undefined> => {
    try {
      return (await jsm.streams.getMessage(names.stream, { seq: sequence }))?.data ?? undefined;
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
  const stop = async (): Promise<void> => {
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
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), stallMs)));
    try {
      const result = await Promise.race([iterator!.next(), stalled]);
      return result && !result.done ? result.value : undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  const read = async (sequence: number): Promise<Uint8Array | undefined> => {
    if (sequence > lastSeq) lastSeq = (await jsm.streams.info(names.stream)).state.last_seq;
    if (sequence > lastSeq) return single(sequence);
    if (iterator && head?.seq === sequence) return head.data;
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
      return head.seq === sequence ? head.data : undefined;
    }
  };
  return { read, close: stop };
}

/** Opens the event stream of `names` on NATS_URL for reading, on a connection of its own. */
export async function openEventStreamReader(natsUrl: string, names: Names, connection: Partial<ConnectionOptions> = {}): Promise<EventStreamReader> {
  const nc = await connect({ ...natsConnectionOptions(natsUrl), ...connection, name: 'forgeone-audit-verify' });
  const reader = await eventStreamMessages(nc, names);
  return {
    read: reader.read,
    close: async () => {
      await reader.close();
      await nc.close();
    },
  };
}
