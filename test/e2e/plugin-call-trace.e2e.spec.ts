import { join } from 'node:path';
import {
  createTestDatabase,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startOtlpReceiver,
  startTestPlatform,
  testNamespace,
  type ExportedSpan,
  type OtlpReceiver,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
const ERROR = 2;

describe('platform - one trace of a failing plugin call, from the CLI to the projector', () => {
  const namespace = testNamespace('e2e-trace');
  let db: TestDatabase;
  let platform: TestPlatform;
  let otlp: OtlpReceiver;
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken, env });

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    db = await createTestDatabase();
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      // Every service exports to the receiver, sampling as the services do by default (parent-based).
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await otlp?.close();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it("links the CLI's command span, gateway, runner, the plugin invocation, its http hook, the failure event and the projector by parent ids across processes", async () => {
    expect((await cli(['plugin', 'publish', join(repoRoot(), 'examples', 'plugins', 'fetcher')])).code).toBe(0);
    expect((await cli(['plugin', 'install', 'forgeone/fetcher@1.0.0', '--env', 'staging'])).code).toBe(0);

    // The CLI exports its own span to the same receiver, so the trace starts at the command.
    const call = await cli(['plugin', 'call', 'forgeone/fetcher', 'fetch', '--env', 'staging', '--input', 'http://127.0.0.1:9/', '--json'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    expect(call.code).toBe(1);
    expect(JSON.parse(call.stderr)).toMatchObject({ error: { code: 'SANDBOX.GUEST_ERROR' } });
    // The CLI flushes before it exits: its span has arrived by the time the process is gone.
    const command = otlp.spans.find((s) => s.service === 'forgeone-cli' && s.name === 'forgeone plugin call');
    expect(command).toMatchObject({ kind: CLIENT, statusCode: ERROR, attributes: { 'forgeone.cli.verb': 'plugin call', 'forgeone.error.code': 'SANDBOX.GUEST_ERROR', 'process.exit.code': 1 } });
    expect(command!.parentSpanId).toBeUndefined();
    const traceId = command!.traceId;

    const byId = (spans: ExportedSpan[]) => new Map(spans.map((s) => [s.spanId, s]));
    // Walks parent links up from `span` (within the trace) and says whether `ancestor` is on the way.
    const descends = (spans: Map<string, ExportedSpan>, span: ExportedSpan, ancestor: ExportedSpan): boolean => {
      for (let at = span.parentSpanId ? spans.get(span.parentSpanId) : undefined; at !== undefined; at = at.parentSpanId ? spans.get(at.parentSpanId) : undefined) {
        if (at.spanId === ancestor.spanId) return true;
      }
      return false;
    };

    const found = await eventually(
      async () => {
        const spans = otlp.spans.filter((s) => s.traceId === traceId);
        const ids = byId(spans);
        const gateway = spans.find((s) => s.service === 'forgeone-gateway' && s.kind === SERVER && /^HTTP POST .*\/call/.test(s.name));
        const runner = spans.find((s) => s.service === 'forgeone-sandbox-runner' && s.kind === SERVER);
        const invoke = spans.find((s) => s.service === 'forgeone-sandbox-runner' && s.name === 'plugin.invoke');
        const hook = spans.find((s) => s.service === 'forgeone-sandbox-runner' && s.name === 'plugin.hook http_request');
        const producers = spans.filter((s) => s.service === 'forgeone-sandbox-runner' && s.kind === PRODUCER);
        const projector = spans.filter((s) => s.service === 'forgeone-audit-projector' && s.kind === CONSUMER);
        const failure = projector.find((s) => s.name === 'forgeone.evt io.forgeone.plugin.invocation_failed.v1');
        if (!gateway || !runner || !invoke || !hook || producers.length === 0 || !failure) return undefined;
        return { spans, ids, gateway, runner, invoke, hook, producers, projector, failure };
      },
      'spans of gateway, runner, plugin invocation, hook, event append and projector in the CLI\'s trace',
      30_000,
    );
    const { spans, ids, gateway, runner, invoke, hook, producers, projector, failure } = found;

    // CLI → gateway: the CLI's span is the root of the trace and the gateway's SERVER span its child.
    expect(spans.filter((s) => s.parentSpanId === undefined)).toEqual([command]);
    expect(gateway.parentSpanId).toBe(command!.spanId);
    expect(command!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}',
      'http.response.status_code': gateway.attributes['http.response.status_code'],
    });
    // gateway → runner across processes: the runner's SERVER span's parent is the gateway's bus CLIENT span.
    const runnerParent = ids.get(runner.parentSpanId ?? '');
    expect(runnerParent).toMatchObject({ service: 'forgeone-gateway', kind: CLIENT });
    expect(descends(ids, runnerParent!, gateway)).toBe(true);
    // runner → plugin invocation (its worker thread) → hook answered on the runner's main thread.
    expect(descends(ids, invoke, runner)).toBe(true);
    expect(hook.parentSpanId).toBe(invoke.spanId);
    expect(hook.attributes['forgeone.hook.status']).toBe(-2);
    expect(invoke.attributes).toMatchObject({
      'forgeone.plugin.name': 'forgeone/fetcher',
      'forgeone.plugin.version': '1.0.0',
      'forgeone.plugin.handler': 'fetch',
      'forgeone.plugin.outcome': 'SANDBOX.GUEST_ERROR',
      'forgeone.environment': 'staging',
    });
    expect(invoke.attributes['forgeone.plugin.fuel_used']).toBeGreaterThan(0);
    expect(invoke.attributes['forgeone.plugin.fuel_limit']).toBe(20_000_000);
    expect(invoke.statusCode).toBe(ERROR);
    // runner → the failure event (invocation_failed, waited for above) → the projector, across processes through the event's traceparent header.
    for (const producer of producers) expect(descends(ids, producer, runner)).toBe(true);
    expect(producers.map((p) => p.spanId)).toContain(failure.parentSpanId);
    // Every event of the trace the projector read (the policy service's decision records too) hangs under the append that wrote it.
    for (const consumed of projector) expect(ids.get(consumed.parentSpanId ?? '')).toMatchObject({ kind: PRODUCER });
    // The guest's input (the URL it asked for), the plugin's name in the request path and the token are in no span's name or attributes.
    const exported = JSON.stringify(otlp.spans.filter((s) => s.traceId === traceId));
    expect(exported).not.toContain('127.0.0.1:9');
    expect(exported).not.toContain('/plugins/forgeone/fetcher/');
    expect(exported).not.toContain(platform.bootstrapToken);
    // Publish, install and call through the CLI on a loaded machine: room beyond the default 120 s.
  }, 300_000);
});
