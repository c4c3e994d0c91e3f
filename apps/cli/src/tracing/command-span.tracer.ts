import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { RequestTrace } from '../api-client.js';
import { errorCodeOf } from '../cli.errors.js';

/** The span of one command; its requests carry its context. */
export interface CommandTrace extends RequestTrace {
  /** Ends the span with the command's exit code and, when it failed, its error (recorded by code only). */
  end(exitCode: number, error?: unknown): void;
}

export interface CommandTracing {
  /**
   * Opens the CLIENT span `forgeone <verb>`: a child of the span `TRACEPARENT` (and `TRACESTATE`)
   * in `env` name when valid, else the root of a new trace.
   */
  start(verb: string, env: Readonly<Record<string, string | undefined>>): CommandTrace;
  /** Exports what was recorded and stops; false when that did not finish within `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean>;
}

// TRACEPARENT is W3C by definition, and the gateway reads W3C.
const w3c = new W3CTraceContextPropagator();

/**
 * Command spans made with `tracer`; `shutdown` flushes its exporter. Span attributes name the verb,
 * the method, route template and status of the command's last request, how many it made, the exit
 * code and the error code: never a token, an argument's value, an input or a message (a message
 * may quote any of them).
 */
export function createCommandTracing(tracer: Tracer, shutdown: () => Promise<void>): CommandTracing {
  return {
    start(verb, env) {
      const carrier: Record<string, string> = {};
      const given = env['TRACEPARENT']?.trim().toLowerCase();
      if (given) carrier['traceparent'] = given;
      if (given && env['TRACESTATE']?.trim()) carrier['tracestate'] = env['TRACESTATE'].trim();
      const parent = w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
      const span = tracer.startSpan(`forgeone ${verb}`, { kind: SpanKind.CLIENT, attributes: { 'forgeone.cli.verb': verb } }, parent);
      const headers: Record<string, string> = {};
      w3c.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
      let requests = 0;
      // Only the last request's, so a status never outlives the request it answered.
      let last: Attributes = {};
      return {
        request(method, route) {
          requests += 1;
          const attributes: Attributes = { 'http.request.method': method, 'http.route': route };
          last = attributes;
          return { headers, answered: (status) => void (attributes['http.response.status_code'] = status) };
        },
        end(exitCode, error) {
          span.setAttributes({ ...last, 'forgeone.cli.requests': requests, 'process.exit.code': exitCode });
          if (error !== undefined) {
            const code = errorCodeOf(error);
            span.setAttribute('forgeone.error.code', code);
            span.recordException({ name: error instanceof Error ? error.name : 'Error', code });
            span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          }
          span.end();
        },
      };
    },
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([shutdown().then(() => true, () => true), late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
