#!/usr/bin/env node
// Benchmark: events per second and p50/p99 latency of JetStreamEventStore.append (libs/event-store) as
// shipped (envelope and schema validation, event id as Nats-Msg-Id, expected last subject sequence,
// the writer's proof of authorship, the producer span) against a raw JetStream publish of the same
// payload bytes with the same Nats-Msg-Id and expected-sequence checks, interleaved in the same run,
// sequentially and with 64 in flight, `--runs` times (each run with its own baseline). On its own, the
// cost per event of signing and verifying: alone, and in a batch of 64 under one signature.
//
//   node bench/event-append.bench.mjs [--runs 10] [--n 6000] [--concurrency 64] [--rounds 6] [--crypto-n 20000]
//
// Needs a build (`npm run build`) and NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222).
// Uses a namespace of its own and deletes its stream at the end. Prints a table and writes
// bench/results/event-append.json.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, measureInterleaved, measureSync, printTable, redactNatsUrl, repoRoot as root, writeResults } from './bench-kit.mjs';
import { eventAppendReport } from './report-rows.mjs';

if (!existsSync(join(root, 'libs', 'event-store', 'dist', 'index.js'))) {
  console.error('Not built: libs/event-store/dist/index.js missing. Run `npm run build` first.');
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    n: { type: 'string', default: '6000' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '6' },
    'crypto-n': { type: 'string', default: '20000' },
  },
});
const RUNS = Number(args.runs);
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const CRYPTO_N = Number(args['crypto-n']);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TARGET = 0.7;

const { DEFAULT_PLATFORM_STORAGE_SETTINGS, EventAuthorship, JetStreamEventStore, eventWriters, generateEventWriterKey, parseWriterKeys, platformStorage, provisionPlatformStorage } = await import('@forgeone/event-store');
const { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, SCHEMA_VERSION, names: namesFor } = await import('@forgeone/contracts');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');
const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
const { createPrivateKey } = await import('node:crypto');

const names = namesFor(`bench-append-${randomBytes(4).toString('hex')}`);
const nc = await connect({ servers: NATS_URL, name: 'bench-event-append' });
const jsm = await jetstreamManager(nc);
// Small byte limits: JetStream reserves each stream's limit on the server.
const STORAGE = { ...DEFAULT_PLATFORM_STORAGE_SETTINGS, eventsMaxBytes: 256 * 1024 * 1024, artifactsMaxBytes: 1024 * 1024, pluginKvMaxBytes: 1024 * 1024 };
const cleanup = async () => {
  for (const storage of platformStorage(names, STORAGE)) await jsm.streams.delete(storage.stream).catch(() => undefined);
  await nc.close().catch(() => undefined);
};
cleanUpOnInterrupt(cleanup);

try {
  await provisionPlatformStorage(nc, names, STORAGE);
  const keys = Object.fromEntries(eventWriters().map((writer) => [writer, generateEventWriterKey()]));
  const writerKeys = parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(keys).map(([writer, key]) => [writer, key.publicKey]))));
  const privateKey = createPrivateKey({ key: Buffer.from(keys.registry.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  const authorship = new EventAuthorship({ names, writerKeys, unsignedUntil: 0, signer: { service: 'registry', privateKey } });
  const store = new JetStreamEventStore(nc, names, { authorship });
  const js = jetstream(nc, { timeout: 10_000 });

  // One plugin install, as the registry appends it (~300 bytes of JSON).
  const newEvent = (name) => ({
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.installed,
    data: { name, version: '1.4.2', digest: `sha256:${'a'.repeat(64)}`, environment: 'production' },
    time: new Date().toISOString(),
    actor: 'usr_7f3a9c',
    tenant: 'acme',
    source: '/forgeone/registry',
    subject: name,
  });
  const envelopeBytes = (event) =>
    new TextEncoder().encode(
      JSON.stringify({
        specversion: '1.0',
        id: event.id,
        source: event.source,
        type: event.type,
        subject: event.subject,
        time: event.time,
        datacontenttype: 'application/json',
        data: event.data,
        actor: event.actor,
        tenant: event.tenant,
        schemaversion: SCHEMA_VERSION,
      }),
    );
  const samplePayload = envelopeBytes(newEvent('acme/sample'));

  // Each call takes an aggregate of its own for its duration, so expected sequences hold under concurrency.
  const pool = (prefix) => {
    const free = Array.from({ length: CONCURRENCY }, (_, i) => ({ id: `acme:${prefix}-${i}`, name: `acme/${prefix}-${i}`, last: 0 }));
    return {
      take: () => free.pop(),
      give: (slot) => free.push(slot),
    };
  };
  const appendPool = pool('append');
  const rawPool = pool('raw');
  const append = async () => {
    const slot = appendPool.take();
    try {
      const [result] = await store.append(PLUGIN_AGGREGATE, slot.id, [newEvent(slot.name)], { expectedSequence: slot.last });
      slot.last = result.sequence;
    } finally {
      appendPool.give(slot);
    }
  };
  const raw = async () => {
    const slot = rawPool.take();
    try {
      const ack = await js.publish(names.eventSubject(PLUGIN_AGGREGATE, slot.id), samplePayload, { msgID: randomUUID(), expect: { lastSubjectSequence: slot.last } });
      slot.last = ack.seq;
    } finally {
      rawPool.give(slot);
    }
  };

  // Warm both paths (connections, JIT, stream files) before anything is measured.
  await measureInterleaved([raw, append], { n: 600, concurrency: CONCURRENCY, rounds: 2 });

  const runs = [];
  for (let run = 1; run <= RUNS; run++) {
    const results = [];
    for (const [mode, concurrency] of [
      ['sequential', 1],
      [`${CONCURRENCY} in flight`, CONCURRENCY],
    ]) {
      const [rawStats, appendStats] = await measureInterleaved([raw, append], { n: concurrency === 1 ? Math.ceil(N / 3) : N, concurrency, rounds: ROUNDS });
      results.push({ scenario: 'raw JetStream publish (msg id, expected sequence)', mode, ...rawStats, throughputVsRaw: 1 });
      results.push({ scenario: 'JetStreamEventStore.append (signed)', mode, ...appendStats, throughputVsRaw: Number((appendStats.perSecond / rawStats.perSecond).toFixed(3)) });
    }
    runs.push({ run, loadavg: loadavg(), results });
    const ratios = results.filter((r) => r.throughputVsRaw !== 1).map((r) => `${r.mode} ${r.throughputVsRaw}`);
    console.log(`run ${run}/${RUNS}: append × raw ${ratios.join(', ')} (loadavg ${loadavg()[0].toFixed(1)})`);
  }

  // Signing and verifying on their own, on the same payload and subject: one event alone, and 64 under one signature.
  const subject = names.eventSubject(PLUGIN_AGGREGATE, 'acme:acme/sample');
  const signedHeaders = natsHeaders();
  authorship.signInto(signedHeaders, PLUGIN_AGGREGATE, subject, samplePayload);
  const message = { subject, data: samplePayload, seq: 1, headers: signedHeaders };
  const BATCH = 64;
  const batchSubjects = Array.from({ length: BATCH }, (_, i) => names.eventSubject(PLUGIN_AGGREGATE, `acme:acme/b${i}`));
  const unsignedBatch = () => batchSubjects.map((s) => ({ headers: natsHeaders(), aggregate: PLUGIN_AGGREGATE, subject: s, payload: samplePayload }));
  // Batches made before the clock starts: the rows measure signing, not building the messages.
  const unsignedBatches = (count) => Array.from({ length: count }, unsignedBatch);
  const batched = unsignedBatch();
  authorship.signAllInto(batched);
  const batchedMessages = batched.map((m, i) => ({ subject: m.subject, data: m.payload, seq: i + 1, headers: m.headers }));
  // A reader of its own per pass over the batch, so the one root signature is verified once per 64 events.
  const verifyBatch = () => {
    const reader = new EventAuthorship({ names, writerKeys, unsignedUntil: 0 });
    for (const m of batchedMessages) if (reader.check(m)) throw new Error('the signed batch did not verify');
  };
  measureSync(2_000, () => authorship.signInto(natsHeaders(), PLUGIN_AGGREGATE, subject, samplePayload));
  measureSync(2_000, () => authorship.check(message));
  const warmBatches = unsignedBatches(50);
  measureSync(50, () => authorship.signAllInto(warmBatches.pop()));
  measureSync(50, verifyBatch);
  const perEvent = (stats, events) => ({ ...stats, n: stats.n * events, perSecond: stats.perSecond * events, p50Us: Number((stats.p50Us / events).toFixed(2)), p99Us: Number((stats.p99Us / events).toFixed(2)) });
  const crypto = [
    { scenario: 'sign alone (EventAuthorship.signInto)', ...measureSync(CRYPTO_N, () => authorship.signInto(natsHeaders(), PLUGIN_AGGREGATE, subject, samplePayload)) },
    {
      scenario: `sign in a batch of ${BATCH} (signAllInto), per event`,
      ...perEvent(
        ((batches) => measureSync(batches.length, () => authorship.signAllInto(batches.pop())))(unsignedBatches(Math.ceil(CRYPTO_N / BATCH))),
        BATCH,
      ),
    },
    {
      scenario: 'verify alone (EventAuthorship.check)',
      ...measureSync(CRYPTO_N, () => {
        if (authorship.check(message)) throw new Error('the signed sample did not verify');
      }),
    },
    { scenario: `verify a batch of ${BATCH} (check), per event`, ...perEvent(measureSync(Math.ceil(CRYPTO_N / BATCH), verifyBatch), BATCH) },
    {
      scenario: 'verify + parse + validate (EventAuthorship.open)',
      ...measureSync(CRYPTO_N, () => {
        if (!authorship.open(message).ok) throw new Error('the signed sample was refused');
      }),
    },
  ];

  const results = runs.flatMap((r) => r.results.map((x) => ({ run: r.run, ...x })));
  const ratiosOf = (mode) => runs.map((r) => r.results.find((x) => x.mode === mode && x.throughputVsRaw !== 1).throughputVsRaw);
  const spread = ['sequential', `${CONCURRENCY} in flight`].map((mode) => {
    const ratios = ratiosOf(mode).slice().sort((a, b) => a - b);
    return { mode, runs: ratios.length, min: ratios[0], median: ratios[Math.floor(ratios.length / 2)], max: ratios[ratios.length - 1], below: ratios.filter((r) => r < TARGET).length };
  });
  console.log('');
  printTable(
    ['run', 'mode', 'raw events/s', 'raw p50 µs', 'append events/s', 'append p50 µs', 'append × raw'],
    runs.flatMap((r) =>
      ['sequential', `${CONCURRENCY} in flight`].map((mode) => {
        const [rawRow, appendRow] = r.results.filter((x) => x.mode === mode);
        return [String(r.run), mode, rawRow.perSecond, rawRow.p50Us, appendRow.perSecond, appendRow.p50Us, appendRow.throughputVsRaw];
      }),
    ),
  );
  console.log('');
  printTable(
    ['mode', 'runs', 'min × raw', 'median × raw', 'max × raw', `runs below ${TARGET}`],
    spread.map((x) => [x.mode, x.runs, x.min, x.median, x.max, x.below]),
  );
  console.log('');
  printTable(
    ['per event', 'n', 'per second', 'p50 µs', 'p99 µs', 'mean µs'],
    crypto.map((c) => [c.scenario, c.n, c.perSecond, c.p50Us, c.p99Us, Number((1e6 / c.perSecond).toFixed(1))]),
  );
  const worst = Math.min(...spread.map((x) => x.min));
  console.log(`\ntarget: append at least ${TARGET * 100} % of raw throughput in both modes in every run: ${worst >= TARGET ? 'met' : 'NOT met'} (lowest ${(worst * 100).toFixed(1)} % over ${RUNS} runs)`);
  await writeResults('event-append', {
    natsUrl: redactNatsUrl(NATS_URL),
    payloadBytes: samplePayload.byteLength,
    runs: RUNS,
    n: N,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    target: TARGET,
    spread,
    results,
    crypto: crypto.map((c) => ({ ...c, meanUs: Number((1e6 / c.perSecond).toFixed(1)) })),
  }, eventAppendReport(results, TARGET));
} finally {
  await cleanup();
}
