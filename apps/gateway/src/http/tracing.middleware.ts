import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, context, extractTraceContext, injectTraceContext, trace, withSpan } from '@forgeone/telemetry';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { SpanStatusCode, type Context } from '@opentelemetry/api';
import { Observable } from 'rxjs';

// Express adds these to Node's request; the gateway only needs them.
export interface HttpRequest extends IncomingMessage {
  readonly method: string;
  readonly originalUrl: string;
  readonly path: string;
  readonly route?: { readonly path: string };
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body?: unknown;
}

const requestContexts = new WeakMap<IncomingMessage, Context>();

export function traceIdOf(req: IncomingMessage): string | undefined {
  const ctx = requestContexts.get(req);
  return ctx ? trace.getSpan(ctx)?.spanContext().traceId : undefined;
}

// Opens the SERVER span `HTTP <method> <route>` of every request, continuing the caller's
// `traceparent`, and answers that span's `traceparent` so a client can find the trace.
// Mounted before the body parser, so rejected bodies and unknown routes are traced too.
export function tracingMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
  const method = req.method ?? 'GET';
  const parent = extractTraceContext({
    get: (key) => {
      const value = req.headers[key.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    set: () => undefined,
  });
  void withSpan(`HTTP ${method}`, { kind: SpanKind.SERVER, parent, attributes: { 'http.request.method': method } }, (span) => {
    requestContexts.set(req, context.active());
    injectTraceContext({ get: () => undefined, set: (key, value) => res.setHeader(key, value) });
    return new Promise<void>((resolve) => {
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        resolve();
      });
      next();
    });
  });
}

// Runs route handlers inside the request's SERVER span, so the bus client's CLIENT span is its
// child even if a body parser loses the async scope (raw-body keeps it today); names the span
// after the route, which is only known once Express has matched it.
@Injectable()
export class TraceContextInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const req = execution.switchToHttp().getRequest<HttpRequest>();
    const ctx = requestContexts.get(req);
    if (!ctx) return next.handle();
    const route = req.route?.path;
    const span = trace.getSpan(ctx);
    if (route && span) {
      span.updateName(`HTTP ${req.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    return new Observable((subscriber) => context.with(ctx, () => next.handle().subscribe(subscriber)));
  }
}
