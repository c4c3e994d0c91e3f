import type { CloudEvent, Names } from '@forgeone/contracts';
import type { EventAuthorship, ReplayGuard } from '@forgeone/event-store';
import { HEADERS } from '@forgeone/contracts';
import { SpanKind, extractTraceContext, tracer, withSpan, type Logger } from '@forgeone/telemetry';
import type { MessageHandler } from '@nestjs/microservices';
import type { JsMsg } from '@nats-io/jetstream';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { EventContext } from './bus.context.js';
import { invokeHandlerChain, type MissingFilterWarning } from './bus-handler.invocation.js';
import { isHaltConsumerError } from './halt-consumer.error.js';
import { natsHeaderCarrier } from './nats-header.carrier.js';
import type { RefusedEvent } from './bus-event.consumer.js';

/**
 * The pattern of a handler that receives the event stream in batches
 * (`@EventPattern(EVENT_BATCH_PATTERN)`), payload {@link EventBatch}. A service has either it or
 * per-type handlers, not both. Refused events are part of the batch, in stream order.
 */
export const EVENT_BATCH_PATTERN = 'forgeone.event-batch';

/** One stream message of a batch: an event its owner wrote, or a message refused as forged. */
export type BatchedEvent =
  | { readonly kind: 'event'; readonly event: CloudEvent; readonly context: EventContext }
  | { readonly kind: 'refused'; readonly refused: RefusedEvent; readonly context: EventContext };

/** What a batch handler receives: consecutive deliveries, in stream order. */
export interface EventBatch {
  readonly events: readonly BatchedEvent[];
}

export interface EventBatchDeliveryOptions {
  readonly names: Names;
  readonly durable: string;
  readonly authorship: EventAuthorship;
  readonly replays?: ReplayGuard;
  readonly handler: MessageHandler;
  readonly logger: Logger;
  readonly missingFilter: MissingFilterWarning;
  readonly backoffMs: readonly number[];
  /** Called when the handler halts the consumer; the consumer stops pulling. */
  readonly onHalt: (reason: string) => void;
  readonly isClosing: () => boolean;
}

/** A batch's messages opened (authorship verified, decoded) ahead of its delivery: {@link EventBatchDelivery.open}. */
export interface OpenedBatch {
  readonly messages: readonly JsMsg[];
  readonly events: BatchedEvent[];
  readonly invalid?: unknown;
}

type AttemptOutcome = { kind: 'done'; handled: number } | { kind: 'failed'; handled: number; error: unknown; what: string } | { kind: 'halted' };

/**
 * Hands a batch of stream messages to the batch handler and acks them once it succeeded. Order is
 * kept across failures because nothing is ever nak'ed: a failed batch is retried here, with
 * backoff, while the messages behind it wait (a nak would let them overtake it). A
 * {@link HaltConsumerError} stops for good; the messages before the sequence it names are acked.
 */
export class EventBatchDelivery {
  constructor(private readonly options: EventBatchDeliveryOptions) {}

  /**
   * Delivers `messages` until all are handled, the handler halts, or the consumer closes. `opened`,
   * the same messages opened beforehand ({@link open}), spares the first attempt opening them again.
   */
  async deliver(messages: readonly JsMsg[], opened?: OpenedBatch): Promise<void> {
    if (opened && opened.messages !== messages) throw new Error('event batch delivery: the opened batch is not the batch delivered');
    let rest = messages;
    for (let attempt = 1; rest.length > 0; attempt++) {
      if (this.options.isClosing()) return;
      const outcome = await this.attempt(rest, rest === messages ? opened : undefined);
      if (outcome.kind === 'halted') return;
      rest = rest.slice(outcome.handled);
      if (outcome.kind === 'failed') {
        const backoff = this.options.backoffMs;
        const delay = backoff[Math.min(attempt - 1, backoff.length - 1)];
        this.options.logger.error({ err: outcome.error, consumer: this.options.durable, sequence: rest[0]?.seq, batch: rest.length, attempt, retryInMs: delay }, outcome.what);
        await this.pause(rest, delay);
      } else {
        attempt = 0;
      }
    }
  }

  private async attempt(messages: readonly JsMsg[], opened?: OpenedBatch): Promise<AttemptOutcome> {
    const attributes = { 'messaging.system': 'nats', 'messaging.batch.message_count': messages.length, 'messaging.message.id': String(messages[0].seq) };
    return withSpan('forgeone.evt batch', { kind: SpanKind.CONSUMER, attributes }, async (span) => {
      const { events, invalid } = opened ?? this.open(messages);
      const eventSpans = this.eventSpans(messages.slice(0, events.length), span);
      try {
        return await this.handle(messages, events, invalid, span);
      } finally {
        for (const eventSpan of eventSpans) eventSpan.end();
      }
    });
  }

  /**
   * One consumer span per message, in the trace its writer started (the traceparent header), linked to
   * the batch's span: a trace still runs from the HTTP request through the command and the event to its
   * projection, however the events were batched. The header is unverified: it only places the span.
   */
  private eventSpans(messages: readonly JsMsg[], batch: Span): Span[] {
    const link = { context: batch.spanContext() };
    return messages.map((msg) => {
      const type = msg.headers?.has(HEADERS.eventType) ? msg.headers.get(HEADERS.eventType).slice(0, 128) : 'unknown';
      const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.message.id': String(msg.seq), 'forgeone.delivery': msg.info.deliveryCount };
      return tracer().startSpan(`forgeone.evt ${type}`, { kind: SpanKind.CONSUMER, attributes, links: [link] }, extractTraceContext(natsHeaderCarrier(msg.headers)));
    });
  }

  private async handle(messages: readonly JsMsg[], events: BatchedEvent[], invalid: unknown, span: Span): Promise<AttemptOutcome> {
    if (events.length > 0) {
      const last = events[events.length - 1].context;
      try {
        await invokeHandlerChain(this.options.handler, { events } satisfies EventBatch, last);
      } catch (error) {
        if (isHaltConsumerError(error)) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: `consumer halted: ${error.reason}` });
          const before = error.sequence === undefined ? [] : messages.filter((m) => m.seq < error.sequence!);
          await this.ack(before);
          this.options.onHalt(error.reason);
          this.options.logger.error(
            { consumer: this.options.durable, sequence: error.sequence, firstInBatch: messages[0].seq, reason: error.reason },
            'event consumer halted; fix the cause and restart the service to resume from this event',
          );
          return { kind: 'halted' };
        }
        span.recordException(error instanceof Error ? error : new Error(String(error)));
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'event batch handler failed' });
        this.options.missingFilter.check(error);
        return { kind: 'failed', handled: 0, error, what: 'event batch handler failed; retrying the batch' };
      }
      await this.ack(messages.slice(0, events.length));
    }
    if (invalid) return { kind: 'failed', handled: events.length, error: invalid, what: 'event is not a valid CloudEvent; retrying it' };
    return { kind: 'done', handled: messages.length };
  }

  /**
   * Opens messages up to the first its owner wrote that is not a valid CloudEvent: the batch stops
   * there, and that message is retried on its own, as a single delivery would be. Pure but for the
   * replay guard, which answers a message's own sequence the same every time: a batch may be opened
   * while the one before it is still being handled.
   */
  open(messages: readonly JsMsg[]): OpenedBatch {
    const events: BatchedEvent[] = [];
    const { authorship, names } = this.options;
    for (const msg of messages) {
      const context = new EventContext([msg.subject, msg.headers, msg.seq, msg.info.deliveryCount, names.stream]);
      let opened;
      try {
        opened = authorship.open(msg);
      } catch (error) {
        return { messages, events, invalid: error };
      }
      if (!opened.ok) {
        events.push({ kind: 'refused', refused: this.refused(msg, opened.refusal), context });
        continue;
      }
      const first = this.options.replays?.replayOf(opened.event.id, msg.seq);
      if (first !== undefined) {
        events.push({ kind: 'refused', refused: this.refused(msg, authorship.replayRefusal(msg, opened.event, first)), context });
        continue;
      }
      events.push({ kind: 'event', event: opened.event, context });
    }
    return { messages, events };
  }

  private refused(msg: JsMsg, refusal: RefusedEvent['refusal']): RefusedEvent {
    this.options.logger.error({ refusal, consumer: this.options.durable }, 'refused an event its aggregate owner did not write; it changes no state');
    return { refusal, data: msg.data, storedAt: new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)).toISOString() };
  }

  // Acks are sent in order on one connection, so confirming the last confirms that the server has them all.
  private async ack(messages: readonly JsMsg[]): Promise<void> {
    if (messages.length === 0) return;
    for (const msg of messages.slice(0, -1)) msg.ack();
    const last = messages[messages.length - 1];
    try {
      if (!(await last.ackAck())) this.options.logger.warn({ sequence: last.seq }, 'event batch ack was not confirmed; its events may be delivered again');
    } catch (error) {
      this.options.logger.warn({ err: error, sequence: last.seq }, 'event batch ack was not confirmed; its events may be delivered again');
    }
  }

  // Waits before a retry, telling the server the messages in hand are still being worked on.
  private async pause(messages: readonly JsMsg[], delay: number): Promise<void> {
    const until = Date.now() + delay;
    while (!this.options.isClosing() && Date.now() < until) {
      for (const msg of messages) msg.working();
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, until - Date.now())));
    }
  }
}
