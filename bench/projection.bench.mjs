#!/usr/bin/env node
// Benchmark: events per second through the audit-projector as shipped (a separate process: authorship
// verification of every event, contract validation, every projection, the hash-chained audit log and its
// Merkle tree, in batches of --batch events per transaction) against a raw baseline in the same run: the
// same events consumed from JetStream by a plain pull consumer and inserted as rows of a plain table, a
// batch per transaction, with no verification. Then the projection lag (appended → checkpoint past it) at
// a steady --rate events/s for --seconds, p50/p99/max.
//
//   node bench/projection.bench.mjs [--runs 3] [--n 20000] [--batch 256] [--rate 5000] [--seconds 10] [--cpu-prof DIR]
//
// --cpu-prof DIR profiles the projector process (bench/cpu-profile.preload.mjs) and writes its .cpuprofile into DIR.
//
// Needs a build (`npm run build`), NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and
// PostgreSQL at FORGEONE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). Uses a
// namespace and databases of its own and removes them at the end. Prints a table and writes
// bench/results/projection.json.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, percentiles, printTable, redactNatsUrl, repoRoot as root, sig3, writeResults } from './bench-kit.mjs';
import { projectionReport } from './report-rows.mjs';

for (const built of [join('apps', 'audit-projector', 'dist', 'main.js'), join('libs', 'test-harness', 'dist', 'index.js'), join('libs', 'bus', 'dist', 'index.js')]) {
  if (!existsSync(join(root, built))) {
    console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
    process.exit(2);
  }
}

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    n: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '256' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    'cpu-prof': { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const N = Number(args.n);
const BATCH = Number(args.batch);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
for (const [name, value] of Object.entries({ runs: RUNS, n: N, batch: BATCH, rate: RATE, seconds: SECONDS })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number, got ${args[name]}`);
    process.exit(2);
  }
}
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TARGETS = { throughputVsRaw: 0.5, lagP99Ms: 250 };
const CATCH_UP_S = 120;
// Events per append: one version published and installs in nine environments, one signature per append.
const PER_APPEND = 10;

const { createTestDatabase, createTestEventWriters, provisionTestStorage, removeNamespace, spawnService, TEST_STORAGE_SETTINGS } = await import('@forgeone/test-harness');
const { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, names: namesFor, tenantAggregateId } = await import('@forgeone/contracts');
const { batchMessages } = await import('@forgeone/bus');
const { connect } = await import('@nats-io/transport-node');
const { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } = await import('@nats-io/jetstream');
const pg = (await import('pg')).default;

const namespace = `bench-proj-${randomBytes(4).toString('hex')}`;
const names = namesFor(namespace);
const writers = createTestEventWriters();
const nc = await connect({ servers: NATS_URL, name: 'bench-projection' });
const databases = [];
const processes = [];
const cleanup = async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
  for (const db of databases) await db.drop().catch(() => undefined);
  await removeNamespace(namespace, NATS_URL).catch(() => undefined);
  await nc.close().catch(() => undefined);
};
cleanUpOnInterrupt(cleanup);

const DIGEST = `sha256:${'d'.repeat(64)}`;
/** One append's events: a version of `name` published and installed in nine environments (~0.5-1 KB each). */
function appendOf(tenant, name) {
  const time = new Date().toISOString();
  const published = {
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.versionPublished,
    data: {
      name,
      version: '1.0.0',
      digest: DIGEST,
      sizeBytes: 4096,
      manifestDigest: DIGEST,
      manifest: { name, version: '1.0.0', abi: 1, description: 'redacts', handlers: ['handle'], capabilities: {}, limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 } },
      publisher: 'alice',
    },
    time,
    actor: 'usr_7f3a9c',
    tenant,
    subject: name,
  };
  const installs = Array.from({ length: PER_APPEND - 1 }, (_, k) => ({
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.installed,
    data: { name, version: '1.0.0', digest: DIGEST, environment: `env-${k}` },
    time,
    actor: 'usr_7f3a9c',
    tenant,
    subject: name,
  }));
  return [published, ...installs];
}

const store = writers.store(nc, names, 'registry');
let appended = 0;
/** Appends `count` plugins' events (PER_APPEND each), `concurrency` appends in flight; answers [sequence, ack time ms] pairs. */
async function appendPlugins(count, concurrency, stamp = false) {
  const acked = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const index = appended++;
        const tenant = index % 2 === 0 ? 'acme' : 'globex';
        const name = `${tenant}/p${index}`;
        const results = await store.append(PLUGIN_AGGREGATE, tenantAggregateId(tenant, name), appendOf(tenant, name), { expectedSequence: 0 });
        if (stamp) {
          const at = performance.now();
          for (const r of results) acked.push([r.sequence, at]);
        }
      }
    }),
  );
  return acked;
}

async function streamLast() {
  const jsm = await jetstreamManager(nc);
  return Number((await jsm.streams.info(names.stream)).state.last_seq);
}

/** Polls `query` every `everyMs` until `done(value)`; answers [time ms, value] samples. */
async function poll(query, done, everyMs, timeoutMs, what) {
  const samples = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await query();
    samples.push([performance.now(), value]);
    if (done(value)) return samples;
    if (Date.now() > deadline) throw new Error(`${what}: timed out at ${value}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Events per second between the first sample past 0 and the one reaching `target`. */
function rateOf(samples, target) {
  const first = samples.find(([, v]) => v > 0);
  const last = samples.find(([, v]) => v >= target);
  return Math.round(((target - first[1]) / (last[0] - first[0])) * 1000);
}

/** A pg client whose lost connection fails the bench (with cleanup) instead of crashing the process. */
function connectedClient(url) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', (error) => console.error(`PostgreSQL connection lost: ${error.message}`));
  return client;
}

/** The raw baseline: a durable pull consumer, batches of BATCH, one multi-row INSERT and one transaction per batch. */
async function rawBaseline(run, target) {
  const db = await createTestDatabase('fo_bench_raw');
  databases.push(db);
  const client = connectedClient(db.url);
  await client.connect();
  await client.query(`CREATE TABLE raw_events (sequence bigint PRIMARY KEY, subject text NOT NULL, data jsonb NOT NULL)`);
  const jsm = await jetstreamManager(nc);
  const durable = `raw-${run}`;
  await jsm.consumers.add(names.stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 2 * BATCH, filter_subject: names.eventsWildcard });
  const messages = await (await jetstream(nc).consumers.get(names.stream, durable)).consume({ max_messages: 2 * BATCH });
  const decoder = new TextDecoder();
  let done = 0;
  let first;
  let last;
  for await (const batch of batchMessages(messages, { maxMessages: BATCH, maxWaitMs: 5 })) {
    // One multi-row insert per batch (typed arrays: one plan whatever the batch size), in its own transaction.
    await client.query('BEGIN');
    await client.query(`INSERT INTO raw_events (sequence, subject, data) SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[])`, [
      batch.map((msg) => msg.seq),
      batch.map((msg) => msg.subject),
      batch.map((msg) => decoder.decode(msg.data)),
    ]);
    await client.query('COMMIT');
    for (const msg of batch.slice(0, -1)) msg.ack();
    await batch[batch.length - 1].ackAck();
    done = batch[batch.length - 1].seq;
    const now = performance.now();
    first ??= [now, done];
    last = [now, done];
    if (done >= target) break;
  }
  await messages.close();
  await client.end();
  await jsm.consumers.delete(names.stream, durable).catch(() => undefined);
  return Math.round(((last[1] - first[1]) / (last[0] - first[0])) * 1000);
}

/** Starts the audit-projector (a rebuild id of its own: no checkpoint signing) on a fresh database. */
async function startProjector(run) {
  const db = await createTestDatabase('fo_bench_proj');
  databases.push(db);
  const projector = `audit-projector-bench-${run}`;
  const process_ = spawnService('audit-projector', {
    NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    FORGEONE_SERVICE_KEY: randomBytes(32).toString('hex'),
    FORGEONE_BOOTSTRAP_TOKEN: `admin-${randomBytes(24).toString('hex')}`,
    DATABASE_URL: db.url,
    FORGEONE_PROJECTOR_ID: `bench-${run}`,
    FORGEONE_PROJECTOR_BATCH_EVENTS: String(BATCH),
    ...writers.env('audit-projector'),
    ...(args['cpu-prof'] ? { NODE_OPTIONS: `--import=${join(root, 'bench', 'cpu-profile.preload.mjs')}`, FORGEONE_CPU_PROF_DIR: args['cpu-prof'] } : {}),
  });
  processes.push(process_);
  const client = connectedClient(db.url);
  await client.connect();
  const checkpoint = async () => {
    // Until the projector has run its migrations, the table is not there yet.
    const rows = await client.query(`SELECT last_sequence FROM projection_checkpoint WHERE projector = $1`, [projector]).then(
      (r) => r.rows,
      (error) => {
        if (error.code === '42P01') return [];
        throw error;
      },
    );
    if (process_.child.exitCode !== null) throw new Error(`audit-projector exited: ${process_.output()}`);
    return Number(rows[0]?.last_sequence ?? 0);
  };
  return { client, checkpoint, stop: () => process_.stop(), db };
}

try {
  // Room for every run's steady-rate events as well as the N appended first.
  await provisionTestStorage(namespace, NATS_URL, { ...TEST_STORAGE_SETTINGS, eventsMaxBytes: 2048 * 1024 * 1024 });
  console.log(`appending ${N} signed events (${PER_APPEND} per append)…`);
  await appendPlugins(Math.ceil(N / PER_APPEND), 16);

  const runs = [];
  for (let run = 1; run <= RUNS; run++) {
    const target = await streamLast();
    const rawPerSecond = await rawBaseline(run, target);

    const projector = await startProjector(run);
    const samples = await poll(projector.checkpoint, (v) => v >= target, 10, 600_000, 'catching up');
    const projectedPerSecond = rateOf(samples, target);

    // Steady rate: an append of PER_APPEND events every PER_APPEND/RATE seconds, on schedule.
    const every = (PER_APPEND / RATE) * 1000;
    const stamps = [];
    const start = performance.now();
    const count = Math.round((RATE * SECONDS) / PER_APPEND);
    const publishing = (async () => {
      const inFlight = [];
      for (let i = 0; i < count; i++) {
        const due = start + i * every;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight.push(appendPlugins(1, 1, true).then((acked) => stamps.push(...acked)));
        if (inFlight.length >= 64) await inFlight.shift();
      }
      await Promise.all(inFlight);
    })();
    // A run that does not catch up within CATCH_UP_S after publishing ends is kept, its lags as lower bounds.
    let caughtUp = true;
    const lagSamples = await (async () => {
      const seen = [];
      let published = false;
      void publishing.then(() => (published = true));
      for (;;) {
        const value = await projector.checkpoint();
        seen.push([performance.now(), value]);
        if (published && value >= Math.max(...stamps.map(([s]) => s))) return seen;
        if (performance.now() - start > (SECONDS + CATCH_UP_S) * 1000) {
          caughtUp = false;
          await publishing;
          return seen;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await publishing;
    const achievedRate = Math.round((stamps.length / (Math.max(...stamps.map(([, t]) => t)) - start)) * 1000);
    let k = 0;
    const lagsUs = stamps
      .sort((a, b) => a[0] - b[0])
      .map(([sequence, at]) => {
        while (k < lagSamples.length - 1 && lagSamples[k][1] < sequence) k++;
        // Not reached by the last sample (no catch-up): at least until then.
        return Math.max(0, lagSamples[k][0] - at) * 1000;
      });
    const lag = percentiles(lagsUs);
    await projector.stop();
    await projector.client.end();

    const row = {
      run,
      events: target,
      rawPerSecond,
      projectedPerSecond,
      throughputVsRaw: Number((projectedPerSecond / rawPerSecond).toFixed(3)),
      steadyRate: RATE,
      achievedRate,
      lagP50Ms: sig3(lag.p50Us / 1000),
      lagP99Ms: sig3(lag.p99Us / 1000),
      lagMaxMs: sig3(Math.max(...lagsUs) / 1000),
      caughtUp,
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    };
    runs.push(row);
    console.log(`run ${run}/${RUNS}: projector ${projectedPerSecond}/s, raw ${rawPerSecond}/s, × raw ${row.throughputVsRaw}; lag at ${achievedRate}/s p99 ${caughtUp ? '' : '≥ '}${row.lagP99Ms} ms${caughtUp ? '' : ` (not caught up ${CATCH_UP_S} s after publishing)`} (loadavg ${row.loadavg[0]})`);
  }

  console.log('');
  printTable(
    ['run', 'events', 'raw events/s', 'projector events/s', 'projector × raw', 'steady rate/s', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'load'],
    runs.map((r) => [String(r.run), String(r.events), r.rawPerSecond, r.projectedPerSecond, r.throughputVsRaw, r.achievedRate, `${r.caughtUp ? '' : '≥ '}${r.lagP50Ms}`, `${r.caughtUp ? '' : '≥ '}${r.lagP99Ms}`, `${r.caughtUp ? '' : '≥ '}${r.lagMaxMs}`, r.loadavg[0]]),
  );
  console.log('\nThe projector path includes verifying each event\'s authorship signature (as shipped), contract validation,');
  console.log('every projection, the hash-chained audit log and its Merkle tree; the raw baseline verifies nothing.');
  const worstRatio = Math.min(...runs.map((r) => r.throughputVsRaw));
  const worstLag = Math.max(...runs.map((r) => r.lagP99Ms));
  console.log(`target: projector at least ${TARGETS.throughputVsRaw}× raw in every run: ${worstRatio >= TARGETS.throughputVsRaw ? 'met' : 'NOT met'} (lowest ${worstRatio})`);
  console.log(`target: lag p99 under ${TARGETS.lagP99Ms} ms at ${RATE}/s in every run: ${worstLag < TARGETS.lagP99Ms ? 'met' : 'NOT met'} (highest ${worstLag} ms)`);
  await writeResults('projection', { natsUrl: redactNatsUrl(NATS_URL), runs: RUNS, n: N, batch: BATCH, rate: RATE, seconds: SECONDS, catchUpSeconds: CATCH_UP_S, eventsPerAppend: PER_APPEND, targets: TARGETS, results: runs }, projectionReport(runs, TARGETS));
} finally {
  await cleanup();
}
