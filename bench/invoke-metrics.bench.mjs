#!/usr/bin/env node
// Benchmark: what metrics cost on the invoke path, as CPU time per call of the sandbox-runner process.
// Two platforms run side by side on the same NATS and Postgres (own namespaces and databases): one with
// metrics on (every service serving /metrics), one with FORGEONE_METRICS_PORT=off. The same forgeone.invoke
// calls go to each in alternating rounds (the order flipping every round), and the runner's CPU time is
// read from the kernel's per-thread counters (/proc/<pid>/task/*/schedstat, nanoseconds; worker threads
// included) before and after each batch. A Prometheus scrape of the metrics-on runner between rounds is
// part of the cost measured, as it would be in production.
//
//   node bench/invoke-metrics.bench.mjs [--n 2000] [--rounds 6] [--concurrency 4] [--warmup 300] [--cpu-prof DIR]
//
// --cpu-prof DIR profiles every service of both platforms (bench/cpu-profile.preload.mjs) and writes their
// .cpuprofile files into DIR: the share of the runner's samples in recording does not move with the load.
//
// Needs a build, NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and Postgres at
// FORGEONE_TEST_DATABASE_URL. Prints a table and writes bench/results/invoke-metrics.json; the namespaces'
// streams, buckets and the databases are removed at the end.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, measureAsync, printTable, redactNatsUrl, repoRoot as root, requireBuilt, sig3, waitFor, writeResults } from './bench-kit.mjs';

requireBuilt(['apps/cli/dist/main.js', 'apps/sandbox-runner/dist/main.js', 'libs/test-harness/dist/index.js']);

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '6' }, concurrency: { type: 'string', default: '4' }, warmup: { type: 'string', default: '300' }, 'cpu-prof': { type: 'string' } },
});
const [N, ROUNDS, CONCURRENCY, WARMUP] = [args.n, args.rounds, args.concurrency, args.warmup].map(Number);
for (const [name, value] of Object.entries({ n: N, rounds: ROUNDS, concurrency: CONCURRENCY, warmup: WARMUP })) {
  if (!Number.isInteger(value) || value < (name === 'warmup' ? 0 : 1)) throw new Error(`--${name} must be a whole number${name === 'warmup' ? '' : ' above 0'}, got ${args[name]}`);
}
const PROFILE_DIR = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);
if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
const profiling = PROFILE_DIR ? { NODE_OPTIONS: `--import=${join(root, 'bench', 'cpu-profile.preload.mjs')}`, FORGEONE_CPU_PROF_DIR: PROFILE_DIR } : {};
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
process.env.FORGEONE_TEST_NATS_URL ??= NATS_URL;

const { createTestDatabase, removeNamespace, runCli, scrapeMetrics, metricValue, startTestPlatform, testNamespace, randomBootstrapToken } = await import('../libs/test-harness/dist/index.js');
const { names: namesFor } = await import('@forgeone/contracts');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');
const { jetstreamManager } = await import('@nats-io/jetstream');

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PLUGIN = 'forgeone/hello';
const ENVIRONMENT = 'staging';
const body = encoder.encode(JSON.stringify({ handler: 'greet', input: 'world' }));

/** CPU time of every thread of a process so far, in ns (scheduler's own accounting, not 10 ms ticks). */
function cpuNs(pid) {
  let total = 0n;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += BigInt(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return total;
}

const nc = await connect({ servers: NATS_URL, name: 'invoke-metrics-bench' });
const sides = [
  { label: 'metrics on', env: { OTEL_TRACES_EXPORTER: 'none', ...profiling } },
  { label: 'metrics off', env: { OTEL_TRACES_EXPORTER: 'none', FORGEONE_METRICS_PORT: 'off', ...profiling } },
].map((s) => ({ ...s, namespace: testNamespace(s.label === 'metrics on' ? 'bench-mon' : 'bench-moff'), perCallNs: [], calls: 0, failures: 0 }));

let tornDown;
const tearDown = () =>
  (tornDown ??= (async () => {
    for (const side of sides) {
      await side.platform?.stop();
      await removeNamespace(side.namespace, NATS_URL);
      const jsm = await jetstreamManager(nc);
      for await (const stream of jsm.streams.names()) if (stream.includes(side.namespace)) await jsm.streams.delete(stream).catch(() => undefined);
      await side.db?.drop();
    }
  })());
cleanUpOnInterrupt(tearDown);

const loads = [];
try {
  for (const side of sides) {
    side.db = await createTestDatabase('bench');
    const bootstrapToken = randomBootstrapToken();
    side.platform = await startTestPlatform({ namespace: side.namespace, databaseUrl: side.db.url, natsUrl: NATS_URL, bootstrapToken, env: side.env, timeoutMs: 240_000 });
    for (const argv of [['plugin', 'publish', join(root, 'examples', 'plugins', 'hello')], ['plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT]]) {
      const run = await runCli(side.platform.apiUrl, argv, { token: bootstrapToken });
      if (run.code !== 0) throw new Error(`forgeone ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
    }
    side.pid = side.platform.pids['sandbox-runner'];
    if (!side.pid) throw new Error(`${side.label}: no sandbox-runner pid in ${JSON.stringify(side.platform.pids)}`);
    const subject = namesFor(side.namespace).invoke(ENVIRONMENT, PLUGIN);
    const hdrs = natsHeaders();
    hdrs.set('Authorization', `Bearer ${bootstrapToken}`);
    side.invoke = async () => {
      const reply = JSON.parse(decoder.decode((await nc.request(subject, body, { headers: hdrs, timeout: 10_000 })).data));
      side.calls++;
      if (reply.error !== undefined) side.failures++;
    };
    await waitFor(`the ${side.label} sandbox-runner`, async () => (await side.invoke(), true));
  }
  const [on, off] = sides;
  if (Object.keys(off.platform.metricsUrls).length !== 0) throw new Error(`the metrics-off platform serves metrics: ${JSON.stringify(off.platform.metricsUrls)}`);
  for (const side of sides) await measureAsync(WARMUP, CONCURRENCY, side.invoke);

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const before = cpuNs(side.pid);
      await measureAsync(N, CONCURRENCY, side.invoke);
      const after = cpuNs(side.pid);
      side.perCallNs.push(Number(after - before) / N);
    }
    // A scrape per round, as Prometheus would make one every few seconds.
    await scrapeMetrics(on.platform.metricsUrls['sandbox-runner']);
    loads.push(Number(loadavg()[0].toFixed(2)));
  }
  // The metrics-on runner counted every call it answered, once.
  const counted = metricValue(await scrapeMetrics(on.platform.metricsUrls['sandbox-runner']), 'forgeone_plugin_calls_total', { plugin: PLUGIN });
  if (counted !== on.calls) throw new Error(`the runner counted ${counted} calls, ${on.calls} were made`);
} finally {
  await tearDown();
}
await nc.close();

// --- report ----------------------------------------------------------------------------------
const [on, off] = sides;
const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianUs: sig3(median / 1000), minUs: sig3(sorted[0] / 1000), maxUs: sig3(sorted.at(-1) / 1000) };
};
const rounds = on.perCallNs.map((ns, i) => ({ round: i + 1, onUs: sig3(ns / 1000), offUs: sig3(off.perCallNs[i] / 1000), ratio: sig3(ns / off.perCallNs[i]), load1: loads[i] }));
printTable(['round', 'runner CPU µs/call, metrics on', 'metrics off', 'on ÷ off', 'load (1 min)'], rounds.map((r) => [r.round, r.onUs, r.offUs, r.ratio, r.load1]));
const onStats = stats(on.perCallNs);
const offStats = stats(off.perCallNs);
const ratio = sig3(onStats.medianUs / offStats.medianUs);
const roundRatios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
console.log(`\nmedian runner CPU per call: on ${onStats.medianUs} µs (${onStats.minUs}–${onStats.maxUs}), off ${offStats.medianUs} µs (${offStats.minUs}–${offStats.maxUs}); on ÷ off ${ratio} (rounds ${roundRatios[0]}–${roundRatios.at(-1)})`);
console.log(`target: < 5% more CPU per call with metrics on: ${ratio < 1.05 ? 'met' : 'not met'}; failed calls: on ${on.failures}, off ${off.failures}`);
if (PROFILE_DIR) console.log(`runner profiles (written when each process exits): metrics on ${join(PROFILE_DIR, `projector-${on.pid}.cpuprofile`)}, off ${join(PROFILE_DIR, `projector-${off.pid}.cpuprofile`)}`);

await writeResults(
  'invoke-metrics',
  {
    nats: redactNatsUrl(NATS_URL),
    request: { subject: `forgeone.invoke.${ENVIRONMENT}.${PLUGIN}`, body: decoder.decode(body) },
    n: N,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    perRound: rounds,
    on: onStats,
    off: offStats,
    failures: { on: on.failures, off: off.failures },
  },
  [
    {
      what: `forgeone.invoke hello greet, concurrency ${CONCURRENCY}: sandbox-runner CPU per call with metrics on (median of ${ROUNDS} alternating rounds of ${N})`,
      baseline: `metrics off ${offStats.medianUs} µs (${offStats.minUs}–${offStats.maxUs})`,
      measured: `${onStats.medianUs} µs (${onStats.minUs}–${onStats.maxUs}); rounds ${roundRatios[0]}–${roundRatios.at(-1)}×`,
      ratio,
      target: '< 1.05× (under 5% more)',
      met: ratio < 1.05,
    },
  ],
);
