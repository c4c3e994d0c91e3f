import type { ServerResponse } from 'node:http';
import { ForgeOneError, httpStatusFor, type ErrorCode, type ErrorReply } from '@forgeone/contracts';
import type { Logger } from '@forgeone/telemetry';
import { Catch, HttpException, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { GATEWAY_LOGGER, JSON_BODY_LIMIT_BYTES } from '../gateway.config.js';
import { AUTH_FAILURE_LIMITER, type AuthFailureLimiter } from './auth-failure.limiter.js';
import { traceIdOf, type HttpRequest } from './tracing.middleware.js';

export interface MappedError {
  readonly status: number;
  readonly reply: ErrorReply;
  // Set for failures the caller cannot fix: log them with the real error.
  readonly internal: boolean;
}

// ForgeOneError and errors shaped like it when they crossed a module copy boundary.
function isForgeOneError(error: unknown): error is ForgeOneError {
  return (
    error instanceof ForgeOneError ||
    (error instanceof Error && error.name === 'ForgeOneError' && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { toReply?: unknown }).toReply === 'function')
  );
}

// Maps any error thrown while answering a request to its HTTP status and `{ error: { code, message } }` body.
export function mapError(error: unknown, request: { method: string; url: string; traceId?: string }): MappedError {
  if (isForgeOneError(error)) return { status: httpStatusFor(error.code), reply: error.toReply(), internal: false };
  // Raised in Express middleware (the body parser's depth check), wrapped by Nest on the way here.
  if (error instanceof HttpException && isForgeOneError(error.cause)) return mapError(error.cause, request);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const fromNest = (code: ErrorCode, message: string): MappedError => ({ status, reply: { error: { code, message } }, internal: false });
    if (status === 404) return fromNest('HTTP.NOT_FOUND', `there is no route ${request.method} ${request.url}; /docs lists the API (the OpenAPI document is at /openapi.json)`);
    if (status === 405) return fromNest('HTTP.METHOD_NOT_ALLOWED', `${request.url} does not accept ${request.method}; /docs lists the API (the OpenAPI document is at /openapi.json)`);
    if (status === 413) {
      return fromNest('COMMAND.TOO_LARGE', `the request body is larger than ${JSON_BODY_LIMIT_BYTES / (1024 * 1024)} MiB; publish a smaller module`);
    }
    if (status === 400 && error.cause instanceof SyntaxError) {
      return fromNest('COMMAND.INVALID', `the request body is not valid JSON (${error.cause.message}); send a JSON object with Content-Type: application/json`);
    }
    if (status >= 400 && status < 500) return fromNest('COMMAND.INVALID', `the request was refused: ${error.message}`);
  }
  const trace = request.traceId ? ` (trace ${request.traceId})` : '';
  return {
    status: 500,
    reply: { error: { code: 'SERVICE.INTERNAL', message: `internal error in the gateway; see its logs${trace}` } },
    internal: true,
  };
}

// Answers every failed request in the API's error shape; logs the real error of internal failures (never bodies or
// credentials); counts each 401 against the client, which is refused with 429 past its limit.
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
    @Inject(AUTH_FAILURE_LIMITER) private readonly failures: AuthFailureLimiter,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    // The gateway's bus server answers only health probes; anything else keeps its error.
    if (host.getType() !== 'http') return throwError(() => exception);
    const http = host.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    const res = http.getResponse<ServerResponse>();
    const traceId = traceIdOf(req);
    const url = req.originalUrl ?? req.url ?? '';
    const path = url.split('?')[0];
    const { status, reply, internal } = mapError(exception, { method: req.method, url: path, ...(traceId ? { traceId } : {}) });
    if (internal) this.logger.error({ err: exception, method: req.method, path, traceId }, 'request failed');
    if (status === 401) void this.failures.failed(req).catch((error: unknown) => this.logger.error({ err: error }, 'could not count a failed authentication'));
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply));
  }
}
