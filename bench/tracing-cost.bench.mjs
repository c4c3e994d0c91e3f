#!/usr/bin/env node
// Benchmark: what tracing costs a plugin invocation over the bus. One platform (child processes,
// every service started with the tracing hook and exporting OTLP/HTTP to a sink process that
// discards what it gets) answers `forgeone.invoke` for hello greet; the same requests alternate, in
// rounds, between a sampled trace context (`traceparent` flag 01: every service records its spans and
// exports them) and an unsampled one (flag 00: with the parent-based default sampler no service
// records anything, which is what OTEL_TRACES_SAMPLER=always_off gives; trace context still
// propagates). Several runs on the same platform; each is reported with the load average.
//
//   node bench/tracing-cost.bench.mjs [--n 2000] [--concurrency 16] [--warmup 300] [--rounds 10] [--runs 3]
//
// Needs a build (`npm run build`), NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and
// Postgres at FORGEONE_TEST_DATABASE_URL. Prints a table and writes bench/results/tracing-cost.json.
// The namespace's streams, buckets and the database are removed at the end.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cleanUpOnInterrupt, measureAsync, measureInterleaved, printTable, redactNatsUrl, numericArgs, repoRoot as root, requireBuilt, waitFor, writeResults } from './bench-kit.mjs';
import { tracingCostReport } from './report-rows.mjs';

requireBuilt(['apps/cli/dist/main.js', 'apps/sandbox-runner/dist/main.js', 'libs/test-harness/dist/index.js', 'libs/telemetry/dist/register.js']);

const { n: N, concurrency: CONCURRENCY, warmup: WARMUP, rounds: ROUNDS, runs: RUNS } = numericArgs({ n: 2000, concurrency: 16, warmup: 300, rounds: 10, runs: 3 });
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
process.env.FORGEONE_TEST_NATS_URL ??= NATS_URL;

const { createTestDatabase, removeNamespace, runCli, startTestPlatform, testNamespace, randomBootstrapToken } = await import('../libs/test-harness/dist/index.js');
const { names: namesFor } = await import('@forgeone/contracts');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');
const { jetstreamManager } = await import('@nats-io/jetstream');

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PLUGIN = 'forgeone/hello';
const ENVIRONMENT = 'staging';
const body = encoder.encode(JSON.stringify({ handler: 'greet', input: 'world' }));

// The OTLP sink: its own process (its work is not on the bench's thread), answering every export 200
// and counting requests and bytes, printed on SIGTERM.
const SINK = `
import { createServer } from 'node:http';
let requests = 0, bytes = 0;
const server = createServer((req, res) => { requests++; req.on('data', (c) => (bytes += c.length)); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => { console.log(JSON.stringify({ requests, bytes })); process.exit(0); });
`;
const sink = spawn(process.execPath, ['--input-type=module', '-e', SINK], { cwd: root, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
let sinkOut = '';
sink.stdout.on('data', (chunk) => (sinkOut += chunk));
const sinkExited = new Promise((resolve) => sink.once('exit', resolve));
await waitFor('the OTLP sink', async () => sinkOut.includes('port'), () => (sink.exitCode !== null ? `exited (${sink.exitCode})` : undefined));
const sinkUrl = `http://127.0.0.1:${JSON.parse(sinkOut.split('\n')[0]).port}`;

const nc = await connect({ servers: NATS_URL, name: 'tracing-cost-bench' });
const namespace = testNamespace('bench-trace');
const names = namesFor(namespace);
const db = await createTestDatabase('bench');
let platform;
let exported = { requests: 0, bytes: 0 };
let tornDown;
const tearDown = () =>
  (tornDown ??= (async () => {
    await platform?.stop();
    sink.kill('SIGTERM');
    await sinkExited;
    const last = sinkOut.trim().split('\n').at(-1);
    if (last?.includes('requests')) exported = JSON.parse(last);
    await removeNamespace(namespace, NATS_URL);
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.names()) if (stream.includes(namespace)) await jsm.streams.delete(stream).catch(() => undefined);
    await db.drop();
  })());
cleanUpOnInterrupt(tearDown);

const runs = [];
try {
  const bootstrapToken = randomBootstrapToken();
  platform = await startTestPlatform({
    namespace,
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    bootstrapToken,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
  });
  const cli = async (...argv) => {
    const run = await runCli(platform.apiUrl, argv, { token: bootstrapToken });
    if (run.code !== 0) throw new Error(`forgeone ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run;
  };
  await cli('plugin', 'publish', join(root, 'examples', 'plugins', 'hello'));
  await cli('plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT);

  const subject = names.invoke(ENVIRONMENT, PLUGIN);
  const failures = { traced: {}, untraced: {} };
  // A new trace per call, as a caller's request would start one; only the sampled flag differs.
  const invoker = (flag, tally) => async () => {
    const hdrs = natsHeaders();
    hdrs.set('Authorization', `Bearer ${bootstrapToken}`);
    hdrs.set('traceparent', `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-${flag}`);
    const reply = JSON.parse(decoder.decode((await nc.request(subject, body, { headers: hdrs, timeout: 10_000 })).data));
    if (reply.error !== undefined) tally[reply.error.code] = (tally[reply.error.code] ?? 0) + 1;
    else if (reply.output !== 'hello, world') throw new Error(`invoke did not greet: ${JSON.stringify(reply)}`);
  };
  const traced = invoker('01', failures.traced);
  const untraced = invoker('00', failures.untraced);
  await waitFor('the sandbox-runner', async () => (await untraced(), true));
  await measureAsync(WARMUP, 1, traced);
  await measureAsync(WARMUP, 1, untraced);
  for (let run = 1; run <= RUNS; run++) {
    for (const [mode, concurrency] of [['sequential', 1], [`concurrency ${CONCURRENCY}`, CONCURRENCY]]) {
      const loadBefore = loadavg()[0];
      const [off, on] = await measureInterleaved([untraced, traced], { n: N, concurrency, rounds: ROUNDS });
      runs.push({ run, mode, load: [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))], untraced: off, traced: on, p50Ratio: Number((on.p50Us / off.p50Us).toFixed(3)), throughputRatio: Number((on.perSecond / off.perSecond).toFixed(3)) });
    }
  }
  const failed = Object.values(failures.traced).concat(Object.values(failures.untraced)).reduce((a, b) => a + b, 0);
  if (failed > (N * RUNS * 2) / 10) throw new Error(`more than 10% of the calls failed: ${JSON.stringify(failures)}`);
  runs.failures = failures;
} finally {
  await tearDown();
}
await nc.close();
if (exported.requests === 0) throw new Error('the services exported no spans: the traced calls were not traced');

printTable(
  ['run', 'mode', 'load 1 min', 'untraced p50 µs', 'traced p50 µs', 'p50 ×', 'untraced p99 µs', 'traced p99 µs', 'untraced calls/s', 'traced calls/s', 'throughput ×'],
  runs.map((r) => [r.run, r.mode, r.load.join(' → '), r.untraced.p50Us, r.traced.p50Us, r.p50Ratio, r.untraced.p99Us, r.traced.p99Us, r.untraced.perSecond, r.traced.perSecond, r.throughputRatio]),
);
console.log(`\nexported to the sink: ${exported.requests} OTLP requests, ${exported.bytes} bytes; failed calls: ${JSON.stringify(runs.failures)}`);

await writeResults(
  'tracing-cost',
  {
    nats: redactNatsUrl(NATS_URL),
    request: { subject: `forgeone.invoke.${ENVIRONMENT}.${PLUGIN}`, body: decoder.decode(body) },
    n: N,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    sampler: 'parentbased_always_on; traced: traceparent flag 01, untraced: flag 00',
    exported,
    failures: runs.failures,
    runs,
  },
  tracingCostReport(runs),
);
