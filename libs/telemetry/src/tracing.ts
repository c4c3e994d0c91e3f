import { context, isSpanContextValid, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { spansExported } from './span-export.js';

let shutdown: (() => Promise<void>) | undefined;

/**
 * Starts OpenTelemetry for a service. The standard `OTEL_*` variables apply
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`, `OTEL_SDK_DISABLED`,
 * `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, ...). With an exporter set, the SDK starts
 * with the `pg` and outgoing `http` instrumentations (unless the `@forgeone/telemetry/register`
 * hook already turned them on). Without one, only a tracer provider starts whose spans record
 * nothing (`PropagatingTracer`): each still has its own span id in the caller's trace, so trace ids
 * propagate across services and into logs, but no span is built to be dropped, and the SDK's
 * exporters and the instrumentations are not even loaded.
 */
export async function initTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (shutdown || env.OTEL_SDK_DISABLED === 'true') return;
  env.OTEL_SERVICE_NAME ??= serviceName;
  if (spansExported(env)) {
    env.OTEL_METRICS_EXPORTER ??= 'none';
    env.OTEL_LOGS_EXPORTER ??= 'none';
    const { enableModuleInstrumentations } = await import('./module-instrumentations.js');
    enableModuleInstrumentations();
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME, instrumentations: [] });
    sdk.start();
    shutdown = () => sdk.shutdown();
    return;
  }
  // Reads the sampler from OTEL_TRACES_SAMPLER like the SDK; registers the W3C propagator and the async context manager.
  const { PropagatingTracerProvider } = await import('./propagating-tracer.js');
  const provider = new PropagatingTracerProvider();
  provider.register();
  shutdown = () => provider.shutdown();
}

/** Flushes and stops the SDK (call on shutdown). */
export async function shutdownTelemetry(): Promise<void> {
  const current = shutdown;
  shutdown = undefined;
  await current?.().catch(() => undefined);
}

export function tracer(): Tracer {
  return trace.getTracer('forgeone');
}

/** Minimal header carrier shared by NATS headers and plain records. */
export interface HeaderCarrier {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** Writes W3C `traceparent`/`tracestate` of `ctx` (default: active) into `carrier`. */
export function injectTraceContext(carrier: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, { set: (c, k, v) => c.set(k, v) });
}

/** Reads W3C trace context from `carrier` into a new context. */
export function extractTraceContext(carrier: HeaderCarrier): Context {
  return propagation.extract(context.active(), carrier, {
    get: (c, k) => c.get(k) || undefined,
    keys: () => ['traceparent', 'tracestate'],
  });
}

/**
 * Writes W3C `traceparent` (and `tracestate`, if any) naming `span` into `carrier`, as the W3C
 * propagator would for a context holding that span, without going through the propagation API:
 * a reply sent from inside a span needs no context look-up. Writes nothing for a span without a
 * valid context (telemetry disabled).
 */
export function injectSpanContext(carrier: HeaderCarrier, span: Span): void {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return;
  carrier.set('traceparent', `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`);
  const state = sc.traceState?.serialize();
  if (state) carrier.set('tracestate', state);
}

/** The `traceparent` of the active span, if any (for CloudEvents' extension). */
export function currentTraceparent(): string | undefined {
  let value: string | undefined;
  injectTraceContext({ get: () => undefined, set: (k, v) => { if (k === 'traceparent') value = v; } });
  return value;
}

/**
 * Runs `fn` inside a new span (child of `parent`, default the active context), records an
 * exception and error status when it throws, and always ends the span.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number | boolean> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind, context, trace } from '@opentelemetry/api';
