import type { ClientRequest, IncomingMessage } from 'node:http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import type { Span } from '@opentelemetry/api';

// One flag per process, on globalThis: the `--import` hook and a service's own start may load
// this module from different copies (dist and src under a test runner).
const ENABLED = Symbol.for('forgeone.telemetry.module-instrumentations');

/**
 * Turns on OpenTelemetry's maintained instrumentations for `pg` and outgoing `http`/`https`
 * requests, once per process. Their spans are made only inside an existing trace (a query or a
 * request with no span around it, such as a pool's keep-alive, starts none). Incoming HTTP is left
 * to the gateway's own SERVER span, which knows the route. Under ESM, `node:http` is only patched
 * when the `--import @forgeone/telemetry/register` hook ran before the service's modules loaded;
 * `pg` (loaded with `require` by TypeORM) is patched either way.
 *
 * @returns false when they were already on
 */
export function enableModuleInstrumentations(): boolean {
  const registry = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (registry[ENABLED]) return false;
  registry[ENABLED] = true;
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        disableIncomingRequestInstrumentation: true,
        requireParentforOutgoingSpans: true,
        requestHook: (span, request) => withoutQuery(span, request),
      }),
      // Statements are recorded with their placeholders; parameter values never are (enhancedDatabaseReporting off).
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  return true;
}

/**
 * A plugin's request may carry an API key in its query string: the span keeps scheme, host, port
 * and path only (the library redacts a few known signature parameters, not arbitrary ones).
 */
function withoutQuery(span: Span, request: ClientRequest | IncomingMessage): void {
  if (!('getHeader' in request)) return;
  const host = request.getHeader('host');
  const path = request.path.split('?')[0];
  span.setAttribute('url.full', `${request.protocol}//${typeof host === 'string' ? host : request.host}${path}`);
}
