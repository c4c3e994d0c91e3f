import { HEADERS, type Names, type ServiceName } from '@forgeone/contracts';
import { ReplayGuard, type EventAuthorship, type EventRefusal, type OpenedEvent } from '@forgeone/event-store';
import { SpanKind, extractTraceContext, platformMetrics, withSpan, type Logger } from '@forgeone/telemetry';
import type { MessageHandler } from '@nestjs/microservices';
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { EventContext } from './bus.context.js';
import { invokeHandlerChain, type MissingFilterWarning } from './bus-handler.invocation.js';
import { durableConsumerConfig, durableConsumerDrift, type BusConsumerOptions, type DurableConsumerConfig } from './durable-consumer.config.js';
import { EVENT_BATCH_PATTERN, EventBatchDelivery } from './event-batch.delivery.js';
import { isHaltConsumerError } from './halt-consumer.error.js';
import { batchMessages, checkMessageBatching, type MessageBatching } from './message.batcher.js';
import { natsHeaderCarrier } from './nats-header.carrier.js';

/**
 * The pattern of the handler that receives events refused as not written by their aggregate's
 * owner (`@EventPattern(REFUSED_EVENT_PATTERN)`), payload {@link RefusedEvent}. Without one, a
 * refused event is logged and acknowledged. Either way no other handler sees it.
 */
export const REFUSED_EVENT_PATTERN = 'forgeone.refused-event';

/** A stream message the consumer refused, as the refused-event handler receives it. */
export interface RefusedEvent {
  readonly refusal: EventRefusal;
  /** The message's payload as stored (never parsed as trusted). */
  readonly data: Uint8Array;
  /** When the stream stored it (RFC 3339). */
  readonly storedAt: string;
}

export interface BusEventConsumerOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly service: ServiceName;
  readonly consumer: BusConsumerOptions;
  /** Verifies who wrote each event before it is parsed. */
  readonly authorship: EventAuthorship;
  /** `@EventPattern` handlers by event type, `*` for any type, {@link REFUSED_EVENT_PATTERN} for refusals. */
  readonly handlers: ReadonlyMap<string, MessageHandler>;
  readonly logger: Logger;
  readonly missingFilter: MissingFilterWarning;
}

const DEFAULT_BACKOFF_MS = [1_000, 5_000, 15_000, 30_000, 60_000];
const DEFAULT_BATCHING: MessageBatching = { maxMessages: 256, maxWaitMs: 5 };

/**
 * Consumes the event stream through one durable pull consumer with explicit acks: verifies each
 * event's writer before parsing it, hands it to its handler in a consumer span, acks on success,
 * naks with backoff on failure, and stops for good on a {@link HaltConsumerError}. With an
 * `EVENT_BATCH_PATTERN` handler, messages go to it in batches instead ({@link EventBatchDelivery}).
 */
export class BusEventConsumer {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private readonly replays?: ReplayGuard;
  private halted?: string;
  private closing = false;
  /** Highest stream sequence whose handling finished (acknowledged). */
  private settled = 0;
  /** With `commandsAfterCatchUp`: the last sequence under the filter at start, until it is settled. */
  private catchUp?: { target?: number; readonly listeners: Set<() => void> };

  private readonly batches?: { readonly delivery: EventBatchDelivery; readonly batching: MessageBatching };

  constructor(private readonly options: BusEventConsumerOptions) {
    if (options.consumer.refuseReplays) this.replays = new ReplayGuard();
    if (options.consumer.commandsAfterCatchUp) this.catchUp = { listeners: new Set() };
    const batchHandler = options.handlers.get(EVENT_BATCH_PATTERN);
    if (batchHandler) {
      const others = [...options.handlers.keys()].filter((pattern) => pattern !== EVENT_BATCH_PATTERN);
      if (others.length > 0) {
        throw new Error(`${options.service} has an ${EVENT_BATCH_PATTERN} handler and per-event handlers (${others.join(', ')}); keep one: a batch handler receives every event, refused ones included`);
      }
      const batching = options.consumer.batch ?? DEFAULT_BATCHING;
      checkMessageBatching(batching);
      const delivery = new EventBatchDelivery({
        names: options.names,
        durable: options.consumer.durable,
        authorship: options.authorship,
        ...(this.replays ? { replays: this.replays } : {}),
        handler: batchHandler,
        logger: options.logger,
        missingFilter: options.missingFilter,
        backoffMs: options.consumer.backoffMs?.length ? options.consumer.backoffMs : DEFAULT_BACKOFF_MS,
        onHalt: (reason) => {
          this.halted = reason;
          this.progressed();
          void this.messages?.close();
        },
        isClosing: () => this.closing,
      });
      this.batches = { delivery, batching };
    }
  }

  /** Why the consumer halted, if it did. */
  get haltReason(): string | undefined {
    return this.halted;
  }

  /** While the events present at start are not all handled yet (`commandsAfterCatchUp`): how far it is. */
  get catchingUp(): string | undefined {
    const catchUp = this.catchUp;
    if (catchUp === undefined) return undefined;
    return catchUp.target === undefined ? 'catching up: not reading yet' : `catching up: handled the events up to stream sequence ${this.settled} of ${catchUp.target}`;
  }

  /**
   * Resolves once every event under the filter that was in the stream when the consumer started is
   * handled; rejects with what is known if it halts, closes or is not there within `timeoutMs`.
   */
  async caughtUp(timeoutMs: number): Promise<void> {
    const catchUp = this.catchUp;
    if (catchUp === undefined) return;
    const { durable } = this.options.consumer;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.catchUp === undefined) finish(resolve);
        else if (this.halted) finish(() => reject(new Error(`event consumer ${durable} halted before it caught up with the stream (${this.halted})`)));
        else if (this.closing) finish(() => reject(new Error(`event consumer ${durable} closed before it caught up with the stream`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`event consumer ${durable} did not catch up with the stream within ${timeoutMs} ms: handled the events up to stream sequence ${this.settled} of ${catchUp.target ?? 'unknown'}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        catchUp.listeners.delete(check);
        settle();
      };
      catchUp.listeners.add(check);
      check();
    });
  }

  /** Creates or reconciles the durable, then starts pulling. */
  async start(): Promise<void> {
    const { connection, names } = this.options;
    const opts = this.options.consumer;
    const jsm = await jetstreamManager(connection, { checkAPI: false });
    let wanted: DurableConsumerConfig;
    if (opts.resumeFrom) {
      const start = await opts.resumeFrom();
      await jsm.consumers.delete(names.stream, opts.durable).catch((error: unknown) => {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      });
      wanted = durableConsumerConfig(names, opts, start);
    } else {
      wanted = durableConsumerConfig(names, opts);
    }
    await this.ensureDurable(jsm, wanted);
    if (this.catchUp) {
      // Where the durable starts and where the stream ends now, under its filter: the span to read before commands.
      this.settled = (await jsm.consumers.info(names.stream, opts.durable)).ack_floor.stream_seq;
      this.catchUp.target = await lastSequenceOf(jsm, names.stream, wanted.filter_subject);
      this.progressed();
    }
    const consumer = await jetstream(connection).consumers.get(names.stream, opts.durable);
    // Pull no more than can be in flight; with max_ack_pending 1 this keeps strict order.
    const pull = Math.min(wanted.max_ack_pending, Math.max(256, this.batches?.batching.maxMessages ?? 0));
    this.messages = await consumer.consume({ max_messages: pull });
    void this.watchStatus(this.messages);
    this.loop = this.batches ? this.consumeBatches(this.messages, this.batches) : this.consume(this.messages);
  }

  /** Stops pulling and waits for the event in hand. */
  async close(): Promise<void> {
    this.closing = true;
    this.progressed();
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }

  private async ensureDurable(jsm: JetStreamManager, wanted: DurableConsumerConfig): Promise<void> {
    const { names, service } = this.options;
    const durable = wanted.durable_name;
    try {
      const info = await jsm.consumers.info(names.stream, durable);
      const drift = durableConsumerDrift(info.config, wanted);
      if (drift.kind === 'fixed') {
        throw new Error(
          `durable consumer ${durable} on ${names.stream} has ${drift.field} ${String(drift.existing)} but ${service} needs ${String(drift.wanted)}, which JetStream cannot change in place; delete that consumer and restart ${service} to recreate it`,
        );
      }
      if (drift.kind === 'update') {
        this.options.logger.info({ consumer: durable, changes: drift.changes }, 'durable consumer settings changed; updating it');
        await jsm.consumers.update(names.stream, durable, drift.changes);
      }
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        throw new Error(`event stream ${names.stream} does not exist; an operator provisions it with \`forgeone admin setup\` before ${service} starts`, { cause: error });
      }
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      await jsm.consumers.add(names.stream, wanted);
    }
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    try {
      const durable = this.options.consumer.durable;
      for await (const msg of messages) {
        if (this.halted || this.closing) break;
        const metrics = platformMetrics();
        metrics.consumerDelivered(durable, msg.info.deliveryCount);
        try {
          await this.handle(msg);
        } finally {
          metrics.consumerSettled(durable);
        }
        metrics.consumerProgress(durable, msg.info.pending, storedAtMs(msg), Date.now());
      }
    } catch (error) {
      if (!this.closing) this.options.logger.error({ err: error, consumer: this.options.consumer.durable }, 'event consumer stopped');
    }
  }

  private async consumeBatches(messages: ConsumerMessages, batches: NonNullable<BusEventConsumer['batches']>): Promise<void> {
    try {
      const durable = this.options.consumer.durable;
      const { delivery } = batches;
      // The next batch is pulled and opened (its authorship signatures verified) while the handler
      // applies the one before it; batches are still handed over, and acked, strictly one after another.
      const upcoming = batchMessages(messages, batches.batching)[Symbol.asyncIterator]();
      const pull = () => upcoming.next().then((next) => (next.done || this.halted || this.closing ? undefined : { batch: next.value, opened: delivery.open(next.value) }));
      try {
        for (let current = await pull(); current !== undefined && !this.halted && !this.closing; ) {
          const { batch, opened } = current;
          const metrics = platformMetrics();
          for (const msg of batch) metrics.consumerDelivered(durable, msg.info.deliveryCount);
          const following = pull();
          // Settled once the delivery ends; an error of the pull surfaces when it is awaited.
          following.catch(() => undefined);
          try {
            await delivery.deliver(batch, opened);
          } finally {
            for (let i = 0; i < batch.length; i++) metrics.consumerSettled(durable);
          }
          const last = batch[batch.length - 1];
          // Delivered in full unless it halted or closed meanwhile.
          if (last !== undefined && !this.halted && !this.closing) this.settle(last.seq);
          if (last !== undefined) metrics.consumerProgress(durable, last.info.pending, storedAtMs(last), Date.now());
          current = await following;
        }
      } finally {
        // Not awaited: a pull still waiting for messages ends when the consumer closes its source.
        void upcoming.return(undefined).catch(() => undefined);
      }
    } catch (error) {
      if (!this.closing) this.options.logger.error({ err: error, consumer: this.options.consumer.durable }, 'event consumer stopped');
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const parent = extractTraceContext(natsHeaderCarrier(msg.headers));
    // The header is unverified: it only names the span.
    const type = msg.headers?.has(HEADERS.eventType) ? msg.headers.get(HEADERS.eventType).slice(0, 128) : 'unknown';
    const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.message.id': String(msg.seq), 'forgeone.delivery': msg.info.deliveryCount };
    await withSpan(`forgeone.evt ${type}`, { kind: SpanKind.CONSUMER, parent, attributes }, async (span) => {
      let opened: OpenedEvent;
      try {
        // Who wrote it is checked before the payload is parsed.
        opened = this.options.authorship.open(msg);
      } catch (error) {
        this.fail(msg, error, span, 'event is not a valid CloudEvent');
        return;
      }
      if (!opened.ok) {
        await this.refuse(msg, opened.refusal, span);
        return;
      }
      const event = opened.event;
      const first = this.replays?.replayOf(event.id, msg.seq);
      if (first !== undefined) {
        await this.refuse(msg, this.options.authorship.replayRefusal(msg, event, first), span);
        return;
      }
      const handler = this.options.handlers.get(event.type) ?? this.options.handlers.get('*');
      if (!handler) {
        await this.ack(msg);
        return;
      }
      await this.run(handler, event, msg, span);
    });
  }

  // A forgery must not stop the consumer (one publish would halt the projector): it is logged,
  // handed to the refused-event handler if there is one, and acknowledged.
  private async refuse(msg: JsMsg, refusal: EventRefusal, span: Span): Promise<void> {
    span.setAttribute('forgeone.refused', refusal.reason);
    this.options.logger.error({ refusal, consumer: this.options.consumer.durable }, 'refused an event its aggregate owner did not write; it changes no state');
    const handler = this.options.handlers.get(REFUSED_EVENT_PATTERN);
    if (!handler) {
      await this.ack(msg);
      return;
    }
    const refused: RefusedEvent = { refusal, data: msg.data, storedAt: new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)).toISOString() };
    await this.run(handler, refused, msg, span);
  }

  private async run(handler: MessageHandler, payload: unknown, msg: JsMsg, span: Span): Promise<void> {
    try {
      await invokeHandlerChain(handler, payload, new EventContext([msg.subject, msg.headers, msg.seq, msg.info.deliveryCount, this.options.names.stream]));
    } catch (error) {
      if (isHaltConsumerError(error)) {
        this.halt(error.reason, msg, span);
        return;
      }
      this.fail(msg, error, span, 'event handler failed');
      return;
    }
    await this.ack(msg);
  }

  private async ack(msg: JsMsg): Promise<void> {
    // Handled: an unconfirmed ack may bring it again, but what it changes is applied.
    this.settle(msg.seq);
    try {
      if (!(await msg.ackAck())) this.options.logger.warn({ sequence: msg.seq }, 'event ack was not confirmed; it may be delivered again');
    } catch (error) {
      this.options.logger.warn({ err: error, sequence: msg.seq }, 'event ack was not confirmed; it may be delivered again');
    }
  }

  private fail(msg: JsMsg, error: unknown, span: Span, what: string): void {
    const backoff = this.options.consumer.backoffMs?.length ? this.options.consumer.backoffMs : DEFAULT_BACKOFF_MS;
    const delay = backoff[Math.min(msg.info.deliveryCount - 1, backoff.length - 1)];
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: what });
    this.options.missingFilter.check(error);
    this.options.logger.error({ err: error, sequence: msg.seq, subject: msg.subject, deliveryCount: msg.info.deliveryCount, retryInMs: delay }, what);
    msg.nak(delay);
  }

  private settle(sequence: number): void {
    if (sequence <= this.settled) return;
    this.settled = sequence;
    if (this.catchUp) this.progressed();
  }

  private progressed(): void {
    const catchUp = this.catchUp;
    if (catchUp === undefined) return;
    if (catchUp.target !== undefined && this.settled >= catchUp.target) this.catchUp = undefined;
    for (const listener of [...catchUp.listeners]) listener();
  }

  private halt(reason: string, msg: JsMsg, span: Span): void {
    this.halted = reason;
    this.progressed();
    span.setStatus({ code: SpanStatusCode.ERROR, message: `consumer halted: ${reason}` });
    this.options.logger.error(
      { consumer: this.options.consumer.durable, sequence: msg.seq, subject: msg.subject, reason },
      'event consumer halted; fix the cause and restart the service to resume from this event',
    );
    void this.messages?.close();
  }

  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed' || s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found' || s.type === 'exceeded_limits') {
        this.options.logger.warn({ consumer: this.options.consumer.durable, status: s }, 'event consumer status');
      }
    }
  }
}

// The stream's last sequence on `filter` (a wildcard subject), 0 when it holds none.
async function lastSequenceOf(jsm: JetStreamManager, stream: string, filter: string): Promise<number> {
  try {
    return (await jsm.streams.getMessage(stream, { last_by_subj: filter }))?.seq ?? 0;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return 0;
    throw error;
  }
}

// When JetStream stored the message (its own clock, not the event's claimed time).
function storedAtMs(msg: JsMsg): number {
  return Math.floor(Number(msg.info.timestampNanos) / 1e6);
}
