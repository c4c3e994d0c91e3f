import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { HEADERS } from '@forgeone/contracts';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import ipaddr from 'ipaddr.js';
import { Observable } from 'rxjs';

// Express's req.ip: the socket's peer, or with `trust proxy` (FORGEONE_TRUSTED_PROXIES) the client a trusted proxy names.
type ExpressRequest = IncomingMessage & { readonly ip?: string };

const sources = new AsyncLocalStorage<string>();

/** The client address of a request as the gateway may believe it, IPv4-mapped IPv6 written as IPv4. */
export function clientAddressOf(req: ExpressRequest): string {
  const raw = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  return ipaddr.isValid(raw) ? ipaddr.process(raw).toString() : raw;
}

/** How the gateway names a request's source to the services: `http <client address>`. */
export function clientSourceOf(req: ExpressRequest): string {
  return `http ${clientAddressOf(req)}`;
}

/** The source of the request being answered, if any. */
export function currentClientSource(): string | undefined {
  return sources.getStore();
}

/** The `Forgeone-Source` header for a bus command sent while answering a request. */
export function clientSourceHeaders(): Record<string, string> {
  const source = sources.getStore();
  return source === undefined ? {} : { [HEADERS.source]: source };
}

/**
 * Runs every route handler with its request's source at hand, so the commands it sends on the bus
 * carry `Forgeone-Source` and the checks it asks carry `source` (policy counts failed
 * authentications per source) without every controller passing it along.
 */
@Injectable()
export class ClientSourceInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const source = clientSourceOf(execution.switchToHttp().getRequest<ExpressRequest>());
    return new Observable((subscriber) => sources.run(source, () => next.handle().subscribe(subscriber)));
  }
}
