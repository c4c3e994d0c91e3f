import { assertJsonDepth, ForgeOneError, HEADERS, SERVICES, type ErrorReply, type HealthReply, type Names, type ServiceName } from '@forgeone/contracts';
import { ReplayGuard, type EventAuthorship, type EventRefusal, type OpenedEvent } from '@forgeone/event-store';
import { SpanKind, createLogger, extractTraceContext, injectSpanContext, withSpan, type Logger } from '@forgeone/telemetry';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { isObservable, lastValueFrom } from 'rxjs';
import { BusCommandRegistry } from './bus-command.registry.js';
import { BusContext, EventContext } from './bus.context.js';
import { isHaltConsumerError } from './halt-consumer.error.js';
import { natsHeaderCarrier } from './nats-header.carrier.js';

export type ReadinessChecks = Record<string, { ok: boolean; detail?: string }>;

export interface BusConsumerOptions {
  /** Durable consumer name on the event stream (e.g. `names.consumer('audit-projector')`). */
  readonly durable: string;
  /** Defaults to every event (`names.eventsWildcard`). */
  readonly filterSubject?: string;
  /** Events in flight before the server waits for acks; 1 gives strict order across redeliveries (default 1000). */
  readonly maxAckPending?: number;
  /** How long the server waits for an ack before redelivering (default 30 s). */
  readonly ackWaitMs?: number;
  /** Deliveries before JetStream gives up on an event; -1 never gives up (default). */
  readonly maxDeliver?: number;
  /** Delay before redelivery after the n-th failed attempt; the last value repeats (default 1 s, 5 s, 15 s, 30 s, 60 s). */
  readonly backoffMs?: readonly number[];
  /**
   * For a reader whose progress lives elsewhere (a projection's checkpoint): the sequence to
   * resume from, asked at start. The durable is then recreated there, so nothing a crashed
   * process left unacknowledged waits out the ack timeout and nothing already applied is replayed.
   */
  readonly resumeFrom?: () => Promise<number>;
  /** Lets the server delete the durable after this long without a reader (a per-instance consumer that may never come back). */
  readonly inactiveThresholdMs?: number;
  /**
   * Keep the id of every event delivered and refuse one seen before at another sequence (a replay).
   * For consumers that read from the start at every boot and fold in memory; a consumer that resumes
   * from a checkpoint checks replays against its own store instead.
   */
  readonly refuseReplays?: boolean;
}

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

export interface ForgeOneBusServerOptions {
  readonly service: ServiceName;
  readonly names: Names;
  /** Connection created by the app's bootstrap; the server drains it on close. */
  readonly connection: NatsConnection;
  /** Required when the app has `@EventPattern` handlers. */
  readonly consumer?: BusConsumerOptions;
  /** Verifies who wrote each consumed event before it is parsed; required with `consumer`. */
  readonly authorship?: EventAuthorship;
  /** Extra checks for the health reply (database reachable, ...). */
  readonly readiness?: () => Promise<ReadinessChecks>;
  /**
   * Runs when the server closes, once no command or event is in flight any more and before the
   * connection is drained: the last moment to publish what a service has buffered.
   */
  readonly beforeDisconnect?: () => Promise<void>;
  readonly logger?: Logger;
}

const DEFAULT_BACKOFF_MS = [1_000, 5_000, 15_000, 30_000, 60_000];
// Below the client's default health timeout, so a hanging check still yields a reply.
const READINESS_TIMEOUT_MS = 1_500;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Shape the default Nest RPC exception filter turns every error into (the original is lost). */
function isNestGenericError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 'error' && !(error instanceof Error);
}

function isForgeOneError(error: unknown): error is ForgeOneError {
  return error instanceof ForgeOneError || (error instanceof Error && error.name === 'ForgeOneError' && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { toReply?: unknown }).toReply === 'function');
}

/**
 * NestJS transport for ForgeOne: `@MessagePattern('<service>.<verb>')` handlers answer
 * NATS requests on `forgeone.cmd.<service>.<verb>` (queue group per service),
 * `@EventPattern('<event type>')` and `@EventPattern('*')` handlers consume the event stream
 * through one durable pull consumer with explicit acks, and `forgeone.health.<service>` is
 * answered with readiness. Trace context travels in the `traceparent` header both ways.
 *
 * A message pattern whose first token is not a service name maps to `forgeone.<pattern>`
 * (e.g. `authz.check` → `forgeone.authz.check`).
 *
 * Register {@link BusExceptionFilter} (BusModule does) so handler errors reach the transport
 * intact; otherwise Nest replaces them with a generic error.
 */
export class ForgeOneBusServer extends Server implements CustomTransportStrategy {
  private readonly nc: NatsConnection;
  private readonly log: Logger;
  private readonly subscriptions: Subscription[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly eventHandlers = new Map<string, MessageHandler>();
  private readonly statusListeners = new Map<string, Array<(data: unknown) => void>>();
  private messages?: ConsumerMessages;
  private consumerLoop?: Promise<void>;
  private replays?: ReplayGuard;
  private halted?: string;
  private closing?: Promise<void>;
  private warnedGenericError = false;

  constructor(private readonly options: ForgeOneBusServerOptions) {
    super();
    this.nc = options.connection;
    this.log = options.logger ?? createLogger(options.service);
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => {
        this._status$.next('connected');
        callback();
      },
      (error) => callback(error),
    );
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Subscribes `callback` to NATS connection status events of `event` type (`disconnect`, `reconnect`, `error`, ...). */
  on<EventKey extends string = string, EventCallback = (data: unknown) => void>(event: EventKey, callback: EventCallback): void {
    const list = this.statusListeners.get(event) ?? [];
    list.push(callback as (data: unknown) => void);
    this.statusListeners.set(event, list);
  }

  /** The NATS connection. */
  unwrap<T>(): T {
    return this.nc as T;
  }

  /** Why the event consumer halted, if it did. */
  get haltReason(): string | undefined {
    return this.halted;
  }

  /** Answers what `forgeone.health.<service>` answers. */
  async health(): Promise<HealthReply> {
    const checks: ReadinessChecks = {
      nats: this.nc.isClosed() ? { ok: false, detail: 'connection closed' } : { ok: true },
    };
    if (this.eventHandlers.size > 0) checks.consumer = this.halted ? { ok: false, detail: this.halted } : { ok: true };
    if (this.options.readiness) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`readiness checks did not finish within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
      });
      try {
        Object.assign(checks, await Promise.race([this.options.readiness(), timeout]));
      } catch (error) {
        checks.readiness = { ok: false, detail: (error as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }
    return { service: this.options.service, ready: Object.values(checks).every((c) => c.ok), checks };
  }

  private async start(): Promise<void> {
    const { names, service } = this.options;
    const commands: Array<[pattern: string, subject: string, run: (data: unknown, ctx: BusContext) => Promise<unknown>]> = [];
    for (const [pattern, handler] of this.getHandlers()) {
      if (handler.isEventHandler) this.eventHandlers.set(pattern, handler);
      else commands.push([pattern, this.commandSubject(pattern), (data, ctx) => this.invoke(handler, data, ctx)]);
    }
    for (const [pattern, direct] of BusCommandRegistry.of(this.nc).seal()) {
      if (commands.some(([p]) => p === pattern)) throw new Error(`command ${pattern} is both a @MessagePattern and a direct command; keep one`);
      commands.push([pattern, this.commandSubject(pattern), async (data, ctx) => direct(data, ctx)]);
    }
    if (this.eventHandlers.size > 0 && !this.options.consumer) {
      throw new Error(
        `${service} has @EventPattern handlers (${[...this.eventHandlers.keys()].join(', ')}) but no consumer options; pass consumer: { durable } to ForgeOneBusServer`,
      );
    }
    if (this.eventHandlers.size > 0 && !this.options.authorship) {
      throw new Error(`${service} consumes events but has no event authorship to verify them with; pass authorship to ForgeOneBusServer (FORGEONE_EVENT_WRITER_KEYS)`);
    }
    if (this.options.consumer?.refuseReplays) this.replays = new ReplayGuard();

    for (const [pattern, subject, run] of commands) {
      const sub = this.nc.subscribe(subject, {
        queue: names.queue(service),
        callback: (error, msg) => {
          if (error) {
            this.log.error({ err: error, subject }, 'command subscription failed');
            return;
          }
          this.track(this.handleCommand(pattern, run, msg));
        },
      });
      this.subscriptions.push(sub);
    }
    this.subscriptions.push(
      this.nc.subscribe(names.health(service), {
        callback: (error, msg) => {
          if (error) return;
          this.track(this.health().then((reply) => msg.respond(encoder.encode(JSON.stringify(reply)))));
        },
      }),
    );
    void this.forwardStatus();
    // Make sure the server saw the subscriptions before the app reports itself ready.
    await this.nc.flush();
    if (this.eventHandlers.size > 0) await this.startConsumer();
    this.log.info(
      { commands: commands.map(([, subject]) => subject), events: [...this.eventHandlers.keys()], consumer: this.options.consumer?.durable },
      'bus server listening',
    );
  }

  private commandSubject(pattern: string): string {
    const { names, service } = this.options;
    const [first, ...rest] = pattern.split('.');
    if ((SERVICES as readonly string[]).includes(first)) {
      if (first !== service) {
        throw new Error(`@MessagePattern('${pattern}') belongs to service ${first}, but this server is ${service}; move the handler to ${first}`);
      }
      if (rest.length === 0 || rest.some((t) => t === '')) throw new Error(`@MessagePattern('${pattern}') needs a verb: '<service>.<verb>'`);
      return names.command(service, rest.join('.'));
    }
    if (pattern === '*' || first === 'evt' || first === 'cmd') {
      throw new Error(`@MessagePattern('${pattern}') is not a command pattern: use '<service>.<verb>' (events use @EventPattern)`);
    }
    return `${names.namespace ? `${names.namespace}.` : ''}forgeone.${pattern}`;
  }

  private async handleCommand(pattern: string, run: (data: unknown, ctx: BusContext) => Promise<unknown>, msg: Msg): Promise<void> {
    const parent = extractTraceContext(natsHeaderCarrier(msg.headers));
    await withSpan(
      `forgeone.cmd ${pattern}`,
      { kind: SpanKind.SERVER, parent, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'rpc.method': pattern } },
      async (span) => {
        let reply: unknown;
        try {
          const data = parseBody(pattern, msg.data);
          reply = await run(data, new BusContext([msg.subject, msg.headers, pattern]));
        } catch (error) {
          reply = this.errorReply(pattern, error, span);
        }
        if (!msg.reply) return;
        const hdrs = natsHeaders();
        injectSpanContext(natsHeaderCarrier(hdrs), span);
        let payload: Uint8Array;
        try {
          payload = encoder.encode(JSON.stringify(reply ?? null));
        } catch (error) {
          payload = encoder.encode(JSON.stringify(this.errorReply(pattern, error, span)));
        }
        try {
          msg.respond(payload, { headers: hdrs });
        } catch (error) {
          this.log.error({ err: error, pattern, bytes: payload.byteLength }, 'could not send command reply');
          msg.respond(encoder.encode(JSON.stringify(this.errorReply(pattern, error, span))), { headers: hdrs });
        }
      },
    );
  }

  private errorReply(pattern: string, error: unknown, span: Span): ErrorReply {
    if (isForgeOneError(error)) {
      span.setAttribute('forgeone.error.code', error.code);
      this.log.info({ pattern, code: error.code, message: error.message }, 'command refused');
      return error.toReply();
    }
    const traceId = span.spanContext().traceId;
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'internal error' });
    this.warnIfFilterMissing(error);
    this.log.error({ err: error, pattern, traceId }, 'command handler failed');
    return { error: { code: 'SERVICE.INTERNAL', message: `internal error in ${this.options.service}; see its logs (trace ${traceId})` } };
  }

  /** Runs a Nest handler (and, for events, the handlers chained after it) to completion. */
  private async invoke(handler: MessageHandler, data: unknown, ctx: BusContext | EventContext): Promise<unknown> {
    let result: unknown;
    for (let h: MessageHandler | undefined = handler; h; h = h.next as MessageHandler | undefined) {
      // What transformToObservable + lastValueFrom would give, without RxJS for a plain (awaited) result.
      const answer: unknown = await h(data, ctx);
      result = isObservable(answer) ? await lastValueFrom(answer, { defaultValue: undefined }) : answer;
    }
    return result;
  }

  private async startConsumer(): Promise<void> {
    const { names } = this.options;
    const opts = this.options.consumer!;
    const jsm = await jetstreamManager(this.nc, { checkAPI: false });
    const wanted: Partial<ConsumerConfig> = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: opts.filterSubject ?? names.eventsWildcard,
      max_ack_pending: opts.maxAckPending ?? 1_000,
      ack_wait: nanos(opts.ackWaitMs ?? 30_000),
      max_deliver: opts.maxDeliver ?? -1,
      ...(opts.inactiveThresholdMs !== undefined ? { inactive_threshold: nanos(opts.inactiveThresholdMs) } : {}),
    };
    if (opts.resumeFrom) {
      const start = await opts.resumeFrom();
      await jsm.consumers.delete(names.stream, opts.durable).catch((error: unknown) => {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      });
      Object.assign(wanted, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start) });
    }
    try {
      const info = await jsm.consumers.info(names.stream, opts.durable);
      const c = info.config;
      if (
        c.filter_subject !== wanted.filter_subject ||
        c.max_ack_pending !== wanted.max_ack_pending ||
        c.ack_wait !== wanted.ack_wait ||
        c.max_deliver !== wanted.max_deliver
      ) {
        await jsm.consumers.update(names.stream, opts.durable, {
          filter_subject: wanted.filter_subject,
          max_ack_pending: wanted.max_ack_pending,
          ack_wait: wanted.ack_wait,
          max_deliver: wanted.max_deliver,
        });
      }
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        throw new Error(`event stream ${names.stream} does not exist; an operator provisions it with \`forgeone admin setup\` before ${this.options.service} starts`, { cause: error });
      }
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      await jsm.consumers.add(names.stream, wanted);
    }
    const consumer = await jetstream(this.nc).consumers.get(names.stream, opts.durable);
    // Pull no more than can be in flight; with max_ack_pending 1 this keeps strict order.
    this.messages = await consumer.consume({ max_messages: Math.min(wanted.max_ack_pending!, 256) });
    void this.watchConsumerStatus(this.messages);
    this.consumerLoop = this.consume(this.messages);
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.halted || this.closing) break;
        await this.handleEventMessage(msg);
      }
    } catch (error) {
      if (!this.closing) this.log.error({ err: error, consumer: this.options.consumer?.durable }, 'event consumer stopped');
    }
  }

  private async handleEventMessage(msg: JsMsg): Promise<void> {
    const parent = extractTraceContext(natsHeaderCarrier(msg.headers));
    // The header is unverified: it only names the span.
    const type = msg.headers?.has(HEADERS.eventType) ? msg.headers.get(HEADERS.eventType).slice(0, 128) : 'unknown';
    const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.message.id': String(msg.seq), 'forgeone.delivery': msg.info.deliveryCount };
    await withSpan(`forgeone.evt ${type}`, { kind: SpanKind.CONSUMER, parent, attributes }, async (span) => {
      let opened: OpenedEvent;
      try {
        // Who wrote it is checked before the payload is parsed.
        opened = this.options.authorship!.open(msg);
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
        await this.refuse(msg, this.options.authorship!.replayRefusal(msg, event, first), span);
        return;
      }
      const handler = this.eventHandlers.get(event.type) ?? this.eventHandlers.get('*');
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
    this.log.error({ refusal, consumer: this.options.consumer?.durable }, 'refused an event its aggregate owner did not write; it changes no state');
    const handler = this.eventHandlers.get(REFUSED_EVENT_PATTERN);
    if (!handler) {
      await this.ack(msg);
      return;
    }
    const refused: RefusedEvent = { refusal, data: msg.data, storedAt: new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)).toISOString() };
    await this.run(handler, refused, msg, span);
  }

  private async run(handler: MessageHandler, payload: unknown, msg: JsMsg, span: Span): Promise<void> {
    try {
      await this.invoke(handler, payload, new EventContext([msg.subject, msg.headers, msg.seq, msg.info.deliveryCount, this.options.names.stream]));
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
    try {
      if (!(await msg.ackAck())) this.log.warn({ sequence: msg.seq }, 'event ack was not confirmed; it may be delivered again');
    } catch (error) {
      this.log.warn({ err: error, sequence: msg.seq }, 'event ack was not confirmed; it may be delivered again');
    }
  }

  private fail(msg: JsMsg, error: unknown, span: Span, what: string): void {
    const backoff = this.options.consumer?.backoffMs?.length ? this.options.consumer.backoffMs : DEFAULT_BACKOFF_MS;
    const delay = backoff[Math.min(msg.info.deliveryCount - 1, backoff.length - 1)];
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: what });
    this.warnIfFilterMissing(error);
    this.log.error({ err: error, sequence: msg.seq, subject: msg.subject, deliveryCount: msg.info.deliveryCount, retryInMs: delay }, what);
    msg.nak(delay);
  }

  private halt(reason: string, msg: JsMsg, span: Span): void {
    this.halted = reason;
    span.setStatus({ code: SpanStatusCode.ERROR, message: `consumer halted: ${reason}` });
    this.log.error(
      { consumer: this.options.consumer?.durable, sequence: msg.seq, subject: msg.subject, reason },
      'event consumer halted; fix the cause and restart the service to resume from this event',
    );
    void this.messages?.close();
  }

  private warnIfFilterMissing(error: unknown): void {
    if (this.warnedGenericError || !isNestGenericError(error)) return;
    this.warnedGenericError = true;
    this.log.warn('handler errors arrive as Nest\'s generic error: register BusExceptionFilter (BusModule.forRoot does) to keep error codes');
  }

  private async watchConsumerStatus(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed' || s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found' || s.type === 'exceeded_limits') {
        this.log.warn({ consumer: this.options.consumer?.durable, status: s }, 'event consumer status');
      }
    }
  }

  private async forwardStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this._status$.next('disconnected');
      if (s.type === 'reconnect') this._status$.next('connected');
      for (const cb of [...(this.statusListeners.get(s.type) ?? []), ...(this.statusListeners.get('*') ?? [])]) {
        try {
          cb(s);
        } catch (error) {
          this.log.warn({ err: error }, 'status listener failed');
        }
      }
    }
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((error) => this.log.error({ err: error }, 'bus message processing failed'));
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async shutdown(): Promise<void> {
    for (const sub of this.subscriptions) {
      if (!sub.isClosed() && !this.nc.isClosed()) await sub.drain().catch(() => undefined);
    }
    await this.messages?.close().catch(() => undefined);
    await this.consumerLoop;
    await Promise.allSettled([...this.inflight]);
    if (this.options.beforeDisconnect && !this.nc.isClosed()) {
      await this.options.beforeDisconnect().catch((error: unknown) => this.log.error({ err: error }, 'could not finish before disconnecting'));
    }
    if (!this.nc.isClosed() && !this.nc.isDraining()) await this.nc.drain().catch(() => undefined);
    this._status$.next('disconnected');
  }
}

function parseBody(pattern: string, data: Uint8Array): unknown {
  if (data.byteLength === 0) return {};
  // Before parsing: a handler (or the reply's JSON.stringify) would overflow the stack on a body nested thousands deep.
  assertJsonDepth(data, `the body of ${pattern}`);
  const text = decoder.decode(data);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ForgeOneError('COMMAND.INVALID', `the body of ${pattern} is not valid JSON (${(error as Error).message}); send a JSON object`);
  }
}
