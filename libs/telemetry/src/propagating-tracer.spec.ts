// Spans of a process that exports none: nothing recorded, but ids, flags and trace state propagate as the SDK's would.
import { Writable } from 'node:stream';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PropagatingTracer } from './propagating-tracer.js';
import { extractTraceContext, initTelemetry, injectSpanContext, injectTraceContext, shutdownTelemetry, tracer, withSpan, type HeaderCarrier } from './tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

function carrier(init: Record<string, string> = {}): HeaderCarrier & { values: Record<string, string> } {
  const values = { ...init };
  return { values, get: (k) => values[k], set: (k, v) => { values[k] = v; } };
}

describe('initTelemetry without an exporter', () => {
  beforeAll(async () => {
    await initTelemetry('propagation-test', {});
  });
  afterAll(async () => {
    await shutdownTelemetry();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('a span records nothing, yet a new trace has valid ids and is sampled', () => {
    const span = tracer().startSpan('root');
    expect(span.isRecording()).toBe(false);
    const sc = span.spanContext();
    expect(sc.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(sc.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(sc.traceId).not.toBe('0'.repeat(32));
    expect(sc.traceFlags).toBe(TraceFlags.SAMPLED);
    const other = tracer().startSpan('root');
    expect(other.spanContext().traceId).not.toBe(sc.traceId);
    span.end();
    other.end();
  });

  it.each([
    ['sampled', '01'],
    ['not sampled', '00'],
  ])('a child of a %s caller has the caller\'s trace id, trace state and flags, and a new span id; the traceparent it sends names it', async (_, flags) => {
    const parent = extractTraceContext(carrier({ traceparent: `00-${TRACE}-${PARENT_SPAN}-${flags}`, tracestate: 'vendor=abc' }));
    const sent = carrier();
    const replied = carrier();
    const seen = await withSpan('server', { parent }, async (span) => {
      expect(span.isRecording()).toBe(false);
      injectTraceContext(sent);
      injectSpanContext(replied, span);
      // What the services' logs print (the bus's and the gateway's error lines): the active span's trace id.
      return { span: span.spanContext(), active: trace.getActiveSpan()?.spanContext() };
    });
    expect(seen.span.traceId).toBe(TRACE);
    expect(seen.span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(seen.span.spanId).not.toBe(PARENT_SPAN);
    expect(seen.span.traceFlags).toBe(Number.parseInt(flags, 16));
    expect(seen.span.traceState?.get('vendor')).toBe('abc');
    expect(seen.active).toEqual(seen.span);
    expect(sent.values).toEqual({ traceparent: `00-${TRACE}-${seen.span.spanId}-${flags}`, tracestate: 'vendor=abc' });
    expect(replied.values).toEqual(sent.values);
  });

  it('a grandchild started in the child\'s context is its child: same trace, its own span id', async () => {
    const parent = extractTraceContext(carrier({ traceparent: `00-${TRACE}-${PARENT_SPAN}-01` }));
    const [outer, inner] = await withSpan('outer', { parent }, async (o) => withSpan('inner', {}, async (i) => [o.spanContext(), i.spanContext()]));
    expect(inner.traceId).toBe(TRACE);
    expect(new Set([PARENT_SPAN, outer.spanId, inner.spanId]).size).toBe(3);
    const sent = carrier();
    await withSpan('outer', { parent }, async () => injectTraceContext(sent));
    expect(sent.values.traceparent).toMatch(TRACEPARENT);
  });

  it('a log line written in a span carries the caller\'s trace id, as the bus\'s and the gateway\'s error lines take it', async () => {
    const lines: string[] = [];
    const logger = pino({}, new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } }));
    const parent = extractTraceContext(carrier({ traceparent: `00-${TRACE}-${PARENT_SPAN}-01` }));
    await withSpan('server', { parent }, async () => logger.error({ traceId: trace.getActiveSpan()?.spanContext().traceId }, 'command handler failed'));
    expect(lines.map((line) => JSON.parse(line).traceId)).toEqual([TRACE]);
  });
});

describe('PropagatingTracer', () => {
  const parentOf = (flags: TraceFlags) => trace.setSpanContext(context.active(), { traceId: TRACE, spanId: PARENT_SPAN, traceFlags: flags, isRemote: true });

  it('takes the flags the sampler decides: a parent-based one follows the parent, its root sampler decides a new trace', () => {
    const neverRoot = new PropagatingTracer(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    expect(neverRoot.startSpan('root').spanContext().traceFlags).toBe(TraceFlags.NONE);
    expect(neverRoot.startSpan('child', {}, parentOf(TraceFlags.SAMPLED)).spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    expect(neverRoot.startSpan('child', {}, parentOf(TraceFlags.NONE)).spanContext().traceFlags).toBe(TraceFlags.NONE);
    const always = new PropagatingTracer(new AlwaysOnSampler());
    expect(always.startSpan('child', {}, parentOf(TraceFlags.NONE)).spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
  });

  it('a root span ignores the parent; a suppressed context gets an invalid span, as the SDK\'s tracer', () => {
    const t = new PropagatingTracer(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const root = t.startSpan('root', { root: true }, parentOf(TraceFlags.SAMPLED)).spanContext();
    expect(root.traceId).not.toBe(TRACE);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.startSpan('x', {}, suppressTracing(parentOf(TraceFlags.SAMPLED))).spanContext().traceId).toBe('0'.repeat(32));
  });

  it('startActiveSpan runs the function with the span active and returns its result', () => {
    const t = new PropagatingTracer(new AlwaysOnSampler());
    const ctx = parentOf(TraceFlags.SAMPLED);
    const seen = t.startActiveSpan('a', {}, ctx, (span) => ({ span: span.spanContext(), recording: span.isRecording() }));
    expect(seen.span.traceId).toBe(TRACE);
    expect(seen.recording).toBe(false);
    expect(t.startActiveSpan('b', (span) => span.spanContext().spanId)).toMatch(/^[0-9a-f]{16}$/);
  });
});
