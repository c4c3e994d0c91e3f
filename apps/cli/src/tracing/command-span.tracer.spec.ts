// The CLI's command span, recorded by the OpenTelemetry SDK's own tracer provider with its in-memory
// exporter, for real runs of the CLI against a stand-in gateway.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayPeer, type GatewayPeer } from '../../test/gateway-peer.js';
import { run } from '../program.js';
import { createCommandTracing, type CommandTracing } from './command-span.tracer.js';
import { tracesExportRequested } from './trace-export.settings.js';

const TOKEN = 'tok-5ecret-token-value';
const CALL_ROUTE = '/v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing: CommandTracing = createCommandTracing(provider.getTracer('test'), async () => undefined);

let peer: GatewayPeer;
let started = 0;

async function runTraced(argv: string[], env: Record<string, string> = {}) {
  let stderr = '';
  const code = await run(
    argv,
    { stdout: () => undefined, stderr: (text) => void (stderr += text), env: { FORGEONE_API: peer.url, FORGEONE_TOKEN: TOKEN, XDG_CONFIG_HOME: '/nonexistent-forgeone-config', ...env } },
    async () => {
      started += 1;
      return tracing;
    },
  );
  return { code, stderr, spans: exporter.getFinishedSpans() };
}

// Everything a span exports: name, attributes, events with theirs, status.
const exported = (span: ReadableSpan) => JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status });

beforeAll(async () => {
  peer = await startGatewayPeer((request) => {
    if (request.url.includes('/calls/')) {
      // The platform's message may quote the input: it must not reach the span either.
      return { status: 422, body: { error: { code: 'SANDBOX.GUEST_ERROR', message: 'the guest failed on secret-input-text' } } };
    }
    return { status: 200, body: { plugins: [] } };
  });
});

afterAll(async () => {
  await peer.close();
  await provider.shutdown();
});

beforeEach(() => {
  exporter.reset();
  started = 0;
});

describe('command span - what it records', () => {
  it('is one CLIENT span named after the verb, with the route template, status and error code, and never a token, argument value or input', async () => {
    const result = await runTraced(['plugin', 'call', 'acme/secret-plugin', 'secret_handler', '--env', 'secret-env', '--input', 'secret-input-text']);
    expect(result.code).toBe(1);
    expect(result.spans).toHaveLength(1);
    const [span] = result.spans;
    expect(span.name).toBe('forgeone plugin call');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toEqual({
      'forgeone.cli.verb': 'plugin call',
      'http.request.method': 'POST',
      'http.route': CALL_ROUTE,
      'http.response.status_code': 422,
      'forgeone.cli.requests': 1,
      'process.exit.code': 1,
      'forgeone.error.code': 'SANDBOX.GUEST_ERROR',
    });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SANDBOX.GUEST_ERROR' });
    expect(span.events.map((event) => [event.name, event.attributes])).toEqual([['exception', { 'exception.type': 'SANDBOX.GUEST_ERROR' }]]);
    for (const secret of [TOKEN, 'secret-plugin', 'secret_handler', 'secret-env', 'secret-input-text']) expect(exported(span)).not.toContain(secret);
    // The request carried the span's own context: the gateway's span becomes its child.
    expect(peer.received.at(-1)?.headers['traceparent']).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('continues TRACEPARENT, and records a usage error found by the verb by its code, not its message quoting the argument', async () => {
    const traceId = 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
    const parentId = '0123456789abcdef';
    const result = await runTraced(['plugin', 'call', 'acme/p', 'secret-not-a-handler', '--env', 'staging'], { TRACEPARENT: `00-${traceId}-${parentId}-01` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"secret-not-a-handler" is not a handler name');
    const [span] = result.spans;
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(parentId);
    expect(span.attributes).toEqual({ 'forgeone.cli.verb': 'plugin call', 'forgeone.cli.requests': 0, 'process.exit.code': 2, 'forgeone.error.code': 'COMMAND.INVALID' });
    expect(exported(span)).not.toContain('secret-not-a-handler');
  });

  it('marks a command that succeeds with its last request, and starts no tracing for help or usage errors commander finds', async () => {
    const listed = await runTraced(['plugin', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.spans.map((s) => [s.name, s.status.code, s.attributes])).toEqual([
      ['forgeone plugin list', SpanStatusCode.UNSET, { 'forgeone.cli.verb': 'plugin list', 'http.request.method': 'GET', 'http.route': '/v1/plugins', 'http.response.status_code': 200, 'forgeone.cli.requests': 1, 'process.exit.code': 0 }],
    ]);
    exporter.reset();
    started = 0;
    expect((await runTraced(['--help'])).code).toBe(0);
    expect((await runTraced(['plugin', 'call', 'acme/p'])).code).toBe(2);
    expect(started).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('command span - export', () => {
  it('waits for the exporter at most the time given', async () => {
    const stuck = createCommandTracing(provider.getTracer('test'), () => new Promise<void>(() => undefined));
    const began = performance.now();
    expect(await stuck.flush(50)).toBe(false);
    expect(performance.now() - began).toBeLessThan(1000);
    expect(await createCommandTracing(provider.getTracer('test'), async () => undefined).flush(50)).toBe(true);
  });

  it('is asked for by the standard variables only, and never with OTEL_SDK_DISABLED or the none exporter', () => {
    expect(tracesExportRequested({})).toBe(false);
    expect(tracesExportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracesExportRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracesExportRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracesExportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracesExportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracesExportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });
});
