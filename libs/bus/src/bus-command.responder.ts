import { assertJsonDepth, ForgeOneError, isErrorReply, SERVICES, type ErrorReply, type Names, type ServiceName } from '@forgeone/contracts';
import { SpanKind, extractTraceContext, injectSpanContext, platformMetrics, withSpan, type Logger } from '@forgeone/telemetry';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { BusContext } from './bus.context.js';
import type { MissingFilterWarning } from './bus-handler.invocation.js';
import { natsHeaderCarrier } from './nats-header.carrier.js';

/** A command the responder answers: its handler pattern and what runs it. */
export interface BusCommand {
  readonly pattern: string;
  readonly run: (data: unknown, ctx: BusContext) => Promise<unknown>;
}

export interface BusCommandResponderOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly service: ServiceName;
  readonly logger: Logger;
  readonly missingFilter: MissingFilterWarning;
  /** Keeps the server's close waiting for a command still being answered. */
  readonly track: (work: Promise<unknown>) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isForgeOneError(error: unknown): error is ForgeOneError {
  return error instanceof ForgeOneError || (error instanceof Error && error.name === 'ForgeOneError' && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { toReply?: unknown }).toReply === 'function');
}

/**
 * Answers commands on NATS request/reply: each on its subject in the service's queue group, in a
 * server span joined to the caller's trace, errors as typed replies (a ForgeOneError keeps its code,
 * anything else is SERVICE.INTERNAL naming the trace and nothing more).
 */
export class BusCommandResponder {
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: BusCommandResponderOptions) {}

  /**
   * The subject of a command pattern: `<service>.<verb>` maps to `forgeone.cmd.<service>.<verb>`,
   * any other pattern `p` to `forgeone.<p>` (e.g. `authz.check`).
   */
  subjectOf(pattern: string): string {
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

  /** Subscribes every command (the caller flushes) and returns their subjects. */
  start(commands: readonly BusCommand[]): string[] {
    const { connection, names, service, logger, track } = this.options;
    const subjects = commands.map((c) => this.subjectOf(c.pattern));
    commands.forEach((command, i) => {
      const subject = subjects[i];
      this.subscriptions.push(
        connection.subscribe(subject, {
          queue: names.queue(service),
          callback: (error, msg) => {
            if (error) {
              logger.error({ err: error, subject }, 'command subscription failed');
              return;
            }
            track(this.handle(command, msg));
          },
        }),
      );
    });
    return subjects;
  }

  /** Stops taking commands; those being answered finish. */
  async drain(): Promise<void> {
    const { connection } = this.options;
    for (const sub of this.subscriptions) {
      if (!sub.isClosed() && !connection.isClosed()) await sub.drain().catch(() => undefined);
    }
  }

  private async handle({ pattern, run }: BusCommand, msg: Msg): Promise<void> {
    const parent = extractTraceContext(natsHeaderCarrier(msg.headers));
    const started = performance.now();
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
        // A handler may also answer a refusal as a reply rather than a throw; either is its code.
        platformMetrics().command(pattern, isErrorReply(reply) ? reply.error.code : 'ok', (performance.now() - started) / 1000);
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
          this.options.logger.error({ err: error, pattern, bytes: payload.byteLength }, 'could not send command reply');
          msg.respond(encoder.encode(JSON.stringify(this.errorReply(pattern, error, span))), { headers: hdrs });
        }
      },
    );
  }

  private errorReply(pattern: string, error: unknown, span: Span): ErrorReply {
    const { logger, service } = this.options;
    if (isForgeOneError(error)) {
      span.setAttribute('forgeone.error.code', error.code);
      logger.info({ pattern, code: error.code, message: error.message }, 'command refused');
      return error.toReply();
    }
    const traceId = span.spanContext().traceId;
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'internal error' });
    this.options.missingFilter.check(error);
    logger.error({ err: error, pattern, traceId }, 'command handler failed');
    return { error: { code: 'SERVICE.INTERNAL', message: `internal error in ${service}; see its logs (trace ${traceId})` } };
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
