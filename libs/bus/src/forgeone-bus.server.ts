import type { HealthReply, Names, ServiceName } from '@forgeone/contracts';
import type { EventAuthorship } from '@forgeone/event-store';
import { createLogger, type Logger } from '@forgeone/telemetry';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusCommandRegistry } from './bus-command.registry.js';
import { BusCommandResponder, type BusCommand } from './bus-command.responder.js';
import { BusEventConsumer } from './bus-event.consumer.js';
import { invokeHandlerChain, MissingFilterWarning } from './bus-handler.invocation.js';
import { BusHealthResponder, type ReadinessChecks } from './bus-health.responder.js';
import type { BusConsumerOptions } from './durable-consumer.config.js';

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
  private readonly missingFilter: MissingFilterWarning;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly eventHandlers = new Map<string, MessageHandler>();
  private readonly statusListeners = new Map<string, Array<(data: unknown) => void>>();
  private readonly commands: BusCommandResponder;
  private readonly healthResponder: BusHealthResponder;
  private consumer?: BusEventConsumer;
  private closing?: Promise<void>;

  constructor(private readonly options: ForgeOneBusServerOptions) {
    super();
    this.nc = options.connection;
    this.log = options.logger ?? createLogger(options.service);
    this.missingFilter = new MissingFilterWarning(this.log);
    const { names, service } = options;
    const track = (work: Promise<unknown>) => this.track(work);
    this.commands = new BusCommandResponder({ connection: this.nc, names, service, logger: this.log, missingFilter: this.missingFilter, track });
    this.healthResponder = new BusHealthResponder({
      connection: this.nc,
      names,
      service,
      track,
      ...(options.readiness ? { readiness: options.readiness } : {}),
      consumer: () => {
        if (this.eventHandlers.size === 0) return undefined;
        const halted = this.consumer?.haltReason;
        if (halted) return { ok: false, detail: halted };
        const behind = this.consumer?.catchingUp;
        return behind ? { ok: false, detail: behind } : { ok: true };
      },
    });
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
    return this.consumer?.haltReason;
  }

  /** Answers what `forgeone.health.<service>` answers. */
  health(): Promise<HealthReply> {
    return this.healthResponder.health();
  }

  private async start(): Promise<void> {
    const { service } = this.options;
    const commands: BusCommand[] = [];
    for (const [pattern, handler] of this.getHandlers()) {
      if (handler.isEventHandler) this.eventHandlers.set(pattern, handler);
      else commands.push({ pattern, run: (data, ctx) => invokeHandlerChain(handler, data, ctx) });
    }
    for (const [pattern, direct] of BusCommandRegistry.of(this.nc).seal()) {
      if (commands.some((c) => c.pattern === pattern)) throw new Error(`command ${pattern} is both a @MessagePattern and a direct command; keep one`);
      commands.push({ pattern, run: async (data, ctx) => direct(data, ctx) });
    }
    // Refused before anything is subscribed.
    for (const c of commands) this.commands.subjectOf(c.pattern);
    const { consumer, authorship } = this.options;
    if (this.eventHandlers.size > 0 && !consumer) {
      throw new Error(
        `${service} has @EventPattern handlers (${[...this.eventHandlers.keys()].join(', ')}) but no consumer options; pass consumer: { durable } to ForgeOneBusServer`,
      );
    }
    if (this.eventHandlers.size > 0 && !authorship) {
      throw new Error(`${service} consumes events but has no event authorship to verify them with; pass authorship to ForgeOneBusServer (FORGEONE_EVENT_WRITER_KEYS)`);
    }

    if (this.eventHandlers.size > 0) {
      this.consumer = new BusEventConsumer({
        connection: this.nc,
        names: this.options.names,
        service,
        consumer: consumer!,
        authorship: authorship!,
        handlers: this.eventHandlers,
        logger: this.log,
        missingFilter: this.missingFilter,
      });
    }
    const catchUp = this.consumer ? consumer?.commandsAfterCatchUp : undefined;
    let subjects: string[] = [];
    if (catchUp) {
      // Health answers (not ready) while the consumer reads; no command is taken before it has caught up.
      this.healthResponder.start();
      void this.forwardStatus();
      await this.nc.flush();
      await this.consumer!.start();
      const started = performance.now();
      try {
        await this.consumer!.caughtUp(catchUp.timeoutMs);
      } catch (error) {
        throw new Error(`${service} answers no command before it has read the events already in ${this.options.names.stream}, and could not: ${(error as Error).message}`, { cause: error });
      }
      this.log.info({ consumer: consumer!.durable, ms: Math.round(performance.now() - started) }, 'caught up with the event stream; taking commands');
      subjects = this.commands.start(commands);
      await this.nc.flush();
    } else {
      subjects = this.commands.start(commands);
      this.healthResponder.start();
      void this.forwardStatus();
      // Make sure the server saw the subscriptions before the app reports itself ready.
      await this.nc.flush();
      await this.consumer?.start();
    }
    this.log.info({ commands: subjects, events: [...this.eventHandlers.keys()], consumer: consumer?.durable }, 'bus server listening');
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

  // One reaction per message (this runs for every command answered): settled work leaves the set either way.
  private track(work: Promise<unknown>): void {
    const p: Promise<void> = work.then(
      () => void this.inflight.delete(p),
      (error: unknown) => {
        this.inflight.delete(p);
        this.log.error({ err: error }, 'bus message processing failed');
      },
    );
    this.inflight.add(p);
  }

  private async shutdown(): Promise<void> {
    await this.commands.drain();
    await this.healthResponder.drain();
    await this.consumer?.close();
    await Promise.allSettled([...this.inflight]);
    if (this.options.beforeDisconnect && !this.nc.isClosed()) {
      await this.options.beforeDisconnect().catch((error: unknown) => this.log.error({ err: error }, 'could not finish before disconnecting'));
    }
    if (!this.nc.isClosed() && !this.nc.isDraining()) await this.nc.drain().catch(() => undefined);
    this._status$.next('disconnected');
  }
}
