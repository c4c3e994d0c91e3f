import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestDatabase, repoRoot, startOtlpReceiver, type OtlpReceiver, type TestDatabase } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A service-like process: ES module imports of `node:http` and `pg` before telemetry starts, then
// one outgoing request (with a secret in its query) and one parameterised query inside a span.
const SERVICE = `
import { createServer, request } from 'node:http';
import pg from 'pg';
import { initTelemetry, shutdownTelemetry, withSpan } from '@forgeone/telemetry';
await initTelemetry('instrumented-test');
const server = createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await withSpan('outer', {}, async () => {
  await new Promise((resolve, reject) => request('http://127.0.0.1:' + server.address().port + '/hello?api_key=s3cret-value', (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end());
  const client = new pg.Client(process.env.DATABASE_URL);
  await client.connect();
  await client.query('select $1::text as word', ['p4rameter-value']);
  await client.end();
});
server.close();
await shutdownTelemetry();
`;

const hook = pathToFileURL(join(repoRoot(), 'libs', 'telemetry', 'dist', 'register.js')).href;

function runService(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, '--input-type=module', '-e', SERVICE], {
      cwd: repoRoot(),
      env: { PATH: process.env.PATH ?? '', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('telemetry - pg and outgoing http instrumentations under the --import hook', () => {
  let otlp: OtlpReceiver;
  let db: TestDatabase;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    db = await createTestDatabase('fotel');
  });

  afterAll(async () => {
    await otlp?.close();
    await db?.drop();
  });

  it('traces an ES-module import of node:http and pg as children of the active span, without the query string or parameter values', async () => {
    const run = await runService({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_SAMPLER: 'parentbased_always_on', DATABASE_URL: db.url });
    expect(run).toMatchObject({ code: 0 });
    const outer = otlp.spans.find((s) => s.service === 'instrumented-test' && s.name === 'outer');
    expect(outer).toBeDefined();
    const children = otlp.spans.filter((s) => s.traceId === outer!.traceId && s.parentSpanId === outer!.spanId);
    const get = children.find((s) => s.name === 'GET');
    expect(get).toMatchObject({ kind: 3, attributes: expect.objectContaining({ 'http.request.method': 'GET', 'http.response.status_code': 200 }) });
    expect(get!.attributes['url.full']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hello$/);
    const query = children.find((s) => s.name.startsWith('pg.query'));
    expect(query).toMatchObject({ kind: 3, attributes: expect.objectContaining({ 'db.query.text': 'select $1::text as word' }) });
    const exported = JSON.stringify(otlp.spans);
    expect(exported).not.toContain('s3cret-value');
    expect(exported).not.toContain('p4rameter-value');
  });

  it('records nothing with OTEL_TRACES_SAMPLER=always_off', async () => {
    const before = otlp.spans.length;
    const run = await runService({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_SAMPLER: 'always_off', DATABASE_URL: db.url });
    expect(run).toMatchObject({ code: 0 });
    // The process flushed and exited: anything it recorded would have arrived.
    expect(otlp.spans.slice(before)).toEqual([]);
  });
});
