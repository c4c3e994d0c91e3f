// Spans of plugin calls and their host calls, recorded by the OpenTelemetry SDK's own tracer provider
// with its in-memory exporter (registered globally, as a service's SDK would be).
import { ForgeOneError } from '@forgeone/contracts';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bytes, testPlugin } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { HostCallContext, HostHooks } from './sandbox.types.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

/** Hooks that do their own traced work, as the runner's storage and HTTP hooks do (queries, requests). */
class TracedHooks implements HostHooks {
  async kvGet(_ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    if (key === 'denied') throw new ForgeOneError('AUTHZ.DENIED', 'policy says no');
    await new Promise((resolve) => setTimeout(resolve, 1));
    tracer.startSpan(`storage read ${key}`).end();
    return bytes(`value of ${key}`);
  }
}

const KEY = 'acme/host-calls@1.0.0';
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('SandboxHost - tracing', () => {
  const host = new SandboxHost({ hooks: new TracedHooks() });

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    await host.load({
      key: KEY,
      wasm: await testPlugin('host-calls'),
      handlers: ['kv_read', 'clock'],
      capabilities: { log: true, metrics: true, clock: true, config: true, storage: true, auth: true, http: { allow: ['api.acme.example'] } },
      limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 4096, maxConcurrency: 4 },
    });
  });
  afterAll(async () => {
    await host.close();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('a failed call is a plugin.invoke span under the caller with fuel, outcome and the caller\'s attributes; its kv_get a child with the status the guest got', async () => {
    const outer = tracer.startSpan('caller');
    const result = await context.with(trace.setSpan(context.active(), outer), () =>
      host.call(KEY, 'kv_read', bytes('denied'), { spanAttributes: { 'forgeone.plugin.version': '1.0.0' } }),
    );
    outer.end();
    expect(result.ok).toBe(false);
    const spans = exporter.getFinishedSpans();
    const invoke = spans.find((s) => s.name === 'plugin.invoke')!;
    const hook = spans.find((s) => s.name === 'plugin.hook kv_get')!;
    expect(parentOf(invoke)).toBe(outer.spanContext().spanId);
    expect(invoke.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(invoke.attributes).toMatchObject({
      'forgeone.plugin.key': KEY,
      'forgeone.plugin.handler': 'kv_read',
      'forgeone.plugin.version': '1.0.0',
      'forgeone.plugin.outcome': 'SANDBOX.GUEST_ERROR',
      'forgeone.plugin.fuel_limit': 1_000_000,
    });
    expect(invoke.attributes['forgeone.plugin.fuel_used']).toBeGreaterThan(0);
    expect(invoke.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SANDBOX.GUEST_ERROR' });
    expect(parentOf(hook)).toBe(invoke.spanContext().spanId);
    expect(hook.attributes).toEqual({ 'forgeone.hook.function': 'kv_get', 'forgeone.hook.status': -2 });
    expect(hook.status.code).toBe(SpanStatusCode.ERROR);
    // The hook ends before the call does.
    expect(hook.endTime[0] * 1e9 + hook.endTime[1]).toBeLessThanOrEqual(invoke.endTime[0] * 1e9 + invoke.endTime[1]);
  });

  it('work a hook traces is the hook span\'s child, and concurrent calls keep their own parents', async () => {
    const callers = ['a', 'b', 'c', 'd'].map((name) => tracer.startSpan(`caller ${name}`));
    const results = await Promise.all(callers.map((outer, i) => context.with(trace.setSpan(context.active(), outer), () => host.call(KEY, 'kv_read', bytes(`key-${i}`)))));
    for (const outer of callers) outer.end();
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    for (const [i, outer] of callers.entries()) {
      const read = spans.find((s) => s.name === `storage read key-${i}`)!;
      const hook = byId.get(parentOf(read)!)!;
      expect(hook.name).toBe('plugin.hook kv_get');
      expect(hook.attributes['forgeone.hook.status']).toBe(0);
      const invoke = byId.get(parentOf(hook)!)!;
      expect(invoke.name).toBe('plugin.invoke');
      expect(invoke.attributes['forgeone.plugin.outcome']).toBe('ok');
      expect(parentOf(invoke)).toBe(outer.spanContext().spanId);
    }
  });

  it('a call refused before the guest runs still has its span, with the refusal as outcome', async () => {
    await host.call(KEY, 'no_such_handler', bytes('x'));
    const [invoke] = exporter.getFinishedSpans();
    expect(invoke).toMatchObject({ name: 'plugin.invoke', attributes: expect.objectContaining({ 'forgeone.plugin.outcome': 'SANDBOX.NOT_FOUND' }) });
    expect(invoke.attributes['forgeone.plugin.fuel_limit']).toBeUndefined();
  });
});
