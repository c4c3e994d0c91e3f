#!/usr/bin/env node
// Benchmark: what metrics cost on the invoke path, as CPU time per call of the sandbox-runner process.
// One platform, its services started with FORGEONE_METRICS_TOGGLE_SIGNAL=SIGUSR2: each SIGUSR2 pauses or
// resumes the runner's recording (paused, it runs the no-op instruments of a process without a metrics port;
// /metrics stays up). Many short rounds of the same forgeone.invoke calls alternate on, off, off, on, ... in
// the same processes (same JIT, heap and worker threads), and the runner's CPU time is read from the kernel's
// per-thread counters (/proc/<pid>/task/*/schedstat, nanoseconds; worker threads included) before and after
// each round. The ratio is the total CPU of all on-rounds over that of all off-rounds (equal calls each); the
// spread of the ratios of adjacent on/off pairs is printed beside it. After every round the runner is
// scraped (outside the measured window; the scrape's own CPU is reported apart): its
// forgeone_plugin_calls_total must have grown by exactly the round's calls when on and not at all when off.
//
//   node bench/invoke-metrics.bench.mjs [--n 1000] [--rounds 160] [--concurrency 4] [--warmup 2000] [--cpu-prof DIR]
//
// --cpu-prof DIR profiles every service (bench/cpu-profile.preload.mjs) and writes their .cpuprofile files
// into DIR; the runner's is named at the end.
//
// Needs a build, NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and Postgres at
// FORGEONE_TEST_DATABASE_URL. Prints a table and writes bench/results/invoke-metrics.json; the namespace's
// streams, buckets and the database are removed at the end.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, measureAsync, printTable, redactNatsUrl, repoRoot as root, requireBuilt, sig3, waitFor, writeResults } from './bench-kit.mjs';

requireBuilt(['apps/cli/dist/main.js', 'apps/sandbox-runner/dist/main.js', 'libs/test-harness/dist/index.js']);

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '160' }, concurrency: { type: 'string', default: '4' }, warmup: { type: 'string', default: '2000' }, 'cpu-prof': { type: 'string' } },
});
const [N, ROUNDS, CONCURRENCY, WARMUP] = [args.n, args.rounds, args.concurrency, args.warmup].map(Number);
for (const [name, value] of Object.entries({ n: N, rounds: ROUNDS, concurrency: CONCURRENCY, warmup: WARMUP })) {
  if (!Number.isInteger(value) || value < (name === 'warmup' ? 0 : 1)) throw new Error(`--${name} must be a whole number${name === 'warmup' ? '' : ' above 0'}, got ${args[name]}`);
}
if (ROUNDS % 4 !== 0) throw new Error(`--rounds must be a multiple of 4 (on, off, off, on), got ${ROUNDS}`);
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
const TOGGLE = 'SIGUSR2';
const body = encoder.encode(JSON.stringify({ handler: 'greet', input: 'world' }));
// on, off, off, on: each state follows the other as often as itself, so drift over the run falls on both alike.
const PATTERN = [true, false, false, true];

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
const namespace = testNamespace('bench-metrics');
let platform;
let db;
let tornDown;
const tearDown = () =>
  (tornDown ??= (async () => {
    await platform?.stop();
    await removeNamespace(namespace, NATS_URL);
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.names()) if (stream.includes(namespace)) await jsm.streams.delete(stream).catch(() => undefined);
    await db?.drop();
  })());
cleanUpOnInterrupt(tearDown);

const perRound = [];
const scrapeNs = [];
let pid;
let calls = 0;
let failures = 0;
try {
  db = await createTestDatabase('bench');
  const bootstrapToken = randomBootstrapToken();
  platform = await startTestPlatform({
    namespace,
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    bootstrapToken,
    env: { OTEL_TRACES_EXPORTER: 'none', FORGEONE_METRICS_TOGGLE_SIGNAL: TOGGLE, ...profiling },
    timeoutMs: 240_000,
  });
  for (const argv of [['plugin', 'publish', join(root, 'examples', 'plugins', 'hello')], ['plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT]]) {
    const run = await runCli(platform.apiUrl, argv, { token: bootstrapToken });
    if (run.code !== 0) throw new Error(`forgeone ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
  }
  pid = platform.pids['sandbox-runner'];
  const metricsUrl = platform.metricsUrls['sandbox-runner'];
  if (!pid || !metricsUrl) throw new Error(`no sandbox-runner pid or metrics URL: ${JSON.stringify({ pids: platform.pids, metrics: platform.metricsUrls })}`);
  const subject = namesFor(namespace).invoke(ENVIRONMENT, PLUGIN);
  const hdrs = natsHeaders();
  hdrs.set('Authorization', `Bearer ${bootstrapToken}`);
  const invoke = async () => {
    const reply = JSON.parse(decoder.decode((await nc.request(subject, body, { headers: hdrs, timeout: 10_000 })).data));
    calls++;
    if (reply.error !== undefined) failures++;
  };
  await waitFor('the sandbox-runner', async () => (await invoke(), true));

  const counted = async () => metricValue(await scrapeMetrics(metricsUrl), 'forgeone_plugin_calls_total', { plugin: PLUGIN }) ?? 0;
  let recording = true;
  const setRecording = async (on) => {
    if (on === recording) return;
    process.kill(pid, TOGGLE);
    recording = on;
    // Nothing is in flight: the runner handles the signal on its next turn of the event loop.
    await new Promise((r) => setTimeout(r, 200));
  };
  // Both states warmed (V8 tiers up each path), and a first check that pausing stops the count.
  await measureAsync(WARMUP, CONCURRENCY, invoke);
  await setRecording(false);
  let last = await counted();
  await measureAsync(WARMUP, CONCURRENCY, invoke);
  if ((await counted()) !== last) throw new Error(`the runner went on counting calls after ${TOGGLE}: is FORGEONE_METRICS_TOGGLE_SIGNAL passed to it?`);

  for (let round = 0; round < ROUNDS; round++) {
    const on = PATTERN[round % PATTERN.length];
    await setRecording(on);
    const before = cpuNs(pid);
    await measureAsync(N, CONCURRENCY, invoke);
    const after = cpuNs(pid);
    // The scrape, outside the window: a Prometheus scrape comes every few seconds, not every few hundred calls.
    const scrapeStart = cpuNs(pid);
    const now = await counted();
    scrapeNs.push(Number(cpuNs(pid) - scrapeStart));
    // On: every call counted once; off: none.
    if (now - last !== (on ? N : 0)) throw new Error(`round ${round + 1} (metrics ${on ? 'on' : 'off'}): the runner counted ${now - last} of ${N} calls`);
    last = now;
    perRound.push({ round: round + 1, on, ns: Number(after - before), load1: Number(loadavg()[0].toFixed(2)) });
  }
} finally {
  await tearDown();
}
await nc.close();

// --- report ----------------------------------------------------------------------------------
const onRounds = perRound.filter((r) => r.on);
const offRounds = perRound.filter((r) => !r.on);
const sum = (rounds) => rounds.reduce((total, r) => total + r.ns, 0);
const onUs = sig3(sum(onRounds) / (onRounds.length * N) / 1000);
const offUs = sig3(sum(offRounds) / (offRounds.length * N) / 1000);
const ratio = sig3(sum(onRounds) / sum(offRounds));
// Adjacent rounds in pairs (on, off), (off, on), ...: one on and one off each.
const pairs = [];
for (let i = 0; i + 1 < perRound.length; i += 2) {
  const [a, b] = perRound[i].on ? [perRound[i], perRound[i + 1]] : [perRound[i + 1], perRound[i]];
  pairs.push({ rounds: `${perRound[i].round}-${perRound[i + 1].round}`, onUs: sig3(a.ns / N / 1000), offUs: sig3(b.ns / N / 1000), ratio: sig3(a.ns / b.ns), load1: perRound[i + 1].load1 });
}
const pairRatios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
// How far the ratio itself can be trusted: 95 % interval of the total on ÷ off over the pairs resampled with
// replacement (2000 times; a fixed seed, so a run reports the same interval when printed twice).
let seed = 17;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pairNs = [];
for (let i = 0; i + 1 < perRound.length; i += 2) pairNs.push(perRound[i].on ? [perRound[i].ns, perRound[i + 1].ns] : [perRound[i + 1].ns, perRound[i].ns]);
const resampled = Array.from({ length: 2000 }, () => {
  let onTotal = 0;
  let offTotal = 0;
  for (let i = 0; i < pairNs.length; i++) {
    const [a, b] = pairNs[Math.floor(random() * pairNs.length)];
    onTotal += a;
    offTotal += b;
  }
  return onTotal / offTotal;
}).sort((a, b) => a - b);
const interval = [sig3(resampled[Math.floor(0.025 * resampled.length)]), sig3(resampled[Math.floor(0.975 * resampled.length) - 1])];
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const loads = perRound.map((r) => r.load1);
const loadRange = `${Math.min(...loads)}-${Math.max(...loads)}`;
const scrapeUs = sig3(scrapeNs.reduce((a, b) => a + b, 0) / scrapeNs.length / 1000);
printTable(['rounds', 'runner CPU µs/call, metrics on', 'metrics off', 'on ÷ off', 'load (1 min)'], pairs.map((p) => [p.rounds, p.onUs, p.offUs, p.ratio, p.load1]));
console.log(`\nrunner CPU per call over ${onRounds.length} on-rounds and ${offRounds.length} off-rounds of ${N}: on ${onUs} µs, off ${offUs} µs; on ÷ off ${ratio} (95 % interval ${interval[0]}–${interval[1]}; pairs ${pairRatios[0]}–${pairRatios.at(-1)}, middle half ${quantile(pairRatios, 0.25)}–${quantile(pairRatios, 0.75)}); load ${loadRange}`);
console.log(`runner CPU per scrape of /metrics: ${scrapeUs} µs (not in the ratio)`);
// Met only when the interval's upper end is under the target: a run too noisy to tell is not a pass.
const met = interval[1] < 1.05;
console.log(`target: < 5% more CPU per call with metrics on, the 95 % interval included: ${met ? 'met' : ratio < 1.05 ? 'not shown (the interval reaches past 1.05)' : 'not met'}; failed calls: ${failures} of ${calls}`);
if (PROFILE_DIR) console.log(`runner profile (written when the process exits): ${join(PROFILE_DIR, `projector-${pid}.cpuprofile`)}`);

await writeResults(
  'invoke-metrics',
  {
    nats: redactNatsUrl(NATS_URL),
    request: { subject: `forgeone.invoke.${ENVIRONMENT}.${PLUGIN}`, body: decoder.decode(body) },
    n: N,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    warmup: WARMUP,
    perRound: perRound.map((r) => ({ round: r.round, metrics: r.on ? 'on' : 'off', cpuUsPerCall: sig3(r.ns / N / 1000), load1: r.load1 })),
    pairs,
    interval95: interval,
    on: { cpuUsPerCall: onUs, rounds: onRounds.length },
    off: { cpuUsPerCall: offUs, rounds: offRounds.length },
    scrapeCpuUs: scrapeUs,
    failures,
  },
  [
    {
      what: `forgeone.invoke hello greet, concurrency ${CONCURRENCY}: sandbox-runner CPU per call with metrics recording on against paused, one process, ${ROUNDS} alternating rounds of ${N}, total CPU on ÷ off (load ${loadRange})`,
      baseline: `recording paused ${offUs} µs`,
      measured: `${onUs} µs; 95 % interval of the ratio ${interval[0]}–${interval[1]}×, pairs of rounds ${pairRatios[0]}–${pairRatios.at(-1)}×`,
      ratio,
      target: '< 1.05× (under 5% more), upper end of the 95 % interval included, in every run',
      met,
    },
  ],
);
