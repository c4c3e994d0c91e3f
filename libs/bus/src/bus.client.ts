import { ForgeOneError, HEADERS, HealthReplySchema, isErrorReply, type ErrorCode, type HealthReply, type Names, type ServiceName } from '@forgeone/contracts';
import { SpanKind, injectTraceContext, withSpan } from '@forgeone/telemetry';
import { ClosedConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { natsHeaderCarrier } from './nats-header.carrier.js';

export interface BusRequestOptions {
  /** Sent as the `Authorization` header, exactly as given. */
  readonly credential?: string;
  /** Sent as the `Forgeone-Tenant` header. */
  readonly tenant?: string;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Sends ForgeOne commands over NATS request/reply. A typed error reply is thrown as the
 * {@link ForgeOneError} it describes; an absent service is SERVICE.UNAVAILABLE and a slow one
 * SERVICE.TIMEOUT.
 */
export class BusClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
  ) {}

  /** Sends `<service>.<verb>` with `body` and resolves with the handler's result. */
  request<T = unknown>(service: ServiceName, verb: string, body: unknown = {}, options: BusRequestOptions = {}): Promise<T> {
    return this.requestSubject<T>(this.names.command(service, verb), body, { ...options, label: `${service}.${verb}`, service });
  }

  /**
   * Same as {@link request} for a subject that is not a `forgeone.cmd.*` command
   * (`names.authzCheck`, `names.invoke(...)`).
   */
  requestSubject<T = unknown>(subject: string, body: unknown = {}, options: BusRequestOptions & { label?: string; service?: string } = {}): Promise<T> {
    const label = options.label ?? subject;
    const target = options.service ?? label;
    return withSpan(
      `forgeone.cmd ${label}`,
      { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'rpc.method': label } },
      async () => {
        const hdrs = natsHeaders();
        for (const [key, value] of Object.entries(options.headers ?? {})) hdrs.set(key, value);
        if (options.credential) hdrs.set(HEADERS.credential, options.credential);
        if (options.tenant) hdrs.set(HEADERS.tenant, options.tenant);
        injectTraceContext(natsHeaderCarrier(hdrs));
        const timeoutMs = options.timeoutMs ?? 10_000;
        let reply;
        try {
          reply = await this.nc.request(subject, encoder.encode(JSON.stringify(body ?? {})), { timeout: timeoutMs, headers: hdrs });
        } catch (error) {
          throw requestError(target, label, timeoutMs, error);
        }
        const decoded = decodeReply(target, label, reply.data);
        if (isErrorReply(decoded)) {
          throw new ForgeOneError(decoded.error.code as ErrorCode, decoded.error.message, decoded.error.details);
        }
        return decoded as T;
      },
    );
  }

  /** Asks a service for its readiness (`forgeone.health.<service>`). */
  async checkHealth(service: ServiceName, options: { timeoutMs?: number } = {}): Promise<HealthReply> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    let reply;
    try {
      reply = await this.nc.request(this.names.health(service), undefined, { timeout: timeoutMs });
    } catch (error) {
      throw requestError(service, 'health', timeoutMs, error);
    }
    const parsed = HealthReplySchema.safeParse(decodeReply(service, 'health', reply.data));
    if (!parsed.success) throw new ForgeOneError('SERVICE.INTERNAL', `${service} answered the health check with an unexpected reply`);
    return parsed.data;
  }
}

function requestError(service: string, label: string, timeoutMs: number, error: unknown): Error {
  if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
    return new ForgeOneError('SERVICE.UNAVAILABLE', `${service} is not running or not reachable on NATS`, { service, command: label });
  }
  if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
    return new ForgeOneError('SERVICE.TIMEOUT', `${service} did not answer ${label} within ${timeoutMs} ms; it may be overloaded, try again`, {
      service,
      command: label,
      timeoutMs,
    });
  }
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) {
    return new ForgeOneError('SERVICE.UNAVAILABLE', `the NATS connection is closed, so ${label} could not be sent to ${service}`, { service, command: label });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function decodeReply(service: string, label: string, data: Uint8Array): unknown {
  if (data.byteLength === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    throw new ForgeOneError('SERVICE.INTERNAL', `${service} answered ${label} with a reply that is not JSON`, { service, command: label });
  }
}
