import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  trace,
  SpanKind,
  TraceFlags,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { RandomIdGenerator, SamplingDecision, type IdGenerator, type Sampler } from '@opentelemetry/sdk-trace-base';
// The SDK's own reading of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (not re-exported by its index).
import { buildSamplerFromEnv } from '@opentelemetry/sdk-trace-base/build/src/config.js';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * A tracer for a process that exports no spans: every span it starts is non-recording
 * (`trace.wrapSpanContext`), so nothing is built that would only be dropped, but its context is
 * the one the SDK's tracer would give it: a fresh span id, the parent's trace id and trace state,
 * and the trace flags the sampler decides (with the default parent-based sampler, the parent's;
 * a new trace is sampled). A sampled caller therefore stays sampled downstream, where another
 * service may export. The SDK's tracer cannot do this itself: a sampler's NOT_RECORD decision
 * also clears the sampled flag it propagates.
 */
export class PropagatingTracer implements Tracer {
  constructor(
    private readonly sampler: Sampler = buildSamplerFromEnv(),
    private readonly ids: IdGenerator = new RandomIdGenerator(),
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    if (options.root) ctx = trace.deleteSpan(ctx);
    if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = trace.getSpanContext(ctx);
    const child = parent !== undefined && isSpanContextValid(parent);
    const traceId = child ? parent.traceId : this.ids.generateTraceId();
    const sampling = this.sampler.shouldSample(ctx, traceId, name, options.kind ?? SpanKind.INTERNAL, options.attributes ?? {}, options.links ?? []);
    return trace.wrapSpanContext({
      traceId,
      spanId: this.ids.generateSpanId(),
      traceFlags: sampling.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
      traceState: sampling.traceState ?? (child ? parent.traceState : undefined),
    });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/**
 * The tracer provider of a process that exports no spans: `register()` installs the same context
 * manager and W3C propagator as the SDK's, and every tracer it hands out is one `PropagatingTracer`.
 */
export class PropagatingTracerProvider extends NodeTracerProvider {
  private readonly tracer: PropagatingTracer;

  constructor(sampler: Sampler = buildSamplerFromEnv()) {
    super({ sampler });
    this.tracer = new PropagatingTracer(sampler);
  }

  override getTracer(): Tracer {
    return this.tracer;
  }
}
