#!/usr/bin/env node
// Benchmark: `audit verify` over a large audit log, against reading the same rows and events and hashing them.
// Publishes --rows events to a JetStream stream of its own, each signed alone by its aggregate's owner with keys made
// for the run, and builds the audit log of the same sequences (bench-kit's buildAuditLog: hash chain, leaves, Merkle
// nodes, a signed checkpoint every --checkpoint-every rows), once; then per run:
//   - baseline: the same rows read from PostgreSQL in the same keyset pages (the next page read while one is
//     hashed) and the same events read from JetStream with the same batch consumer, every row's columns and
//     every event's bytes hashed with sha256, nothing else;
//   - verify: verifyTransparencyLog as the gateway and the CLI run it (chain, leaves, tenant sequences, every
//     checkpoint's root, signature and consistency, every row against the stream's event by id and digest, and the
//     event's authorship: its Ed25519 signature under the pinned key of its writer, one verification per row),
//     measuring the live heap (after a full collection) at each tenth of the log.
// Target: verify takes at most 3× the baseline's time, in every run. Memory is bounded when the live heap at
// the end is no higher than after the first tenth, give or take a small margin.
//
//   node --expose-gc bench/audit-verify.bench.mjs [--rows 1000000] [--runs 3] [--checkpoint-every 100000]
//
// Needs a build (`npm run build`), PostgreSQL at FORGEONE_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test) and NATS at FORGEONE_TEST_NATS_URL. Uses a database and a namespace
// of its own and removes both at the end. Prints a table and writes bench/results/audit-verify.json.
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { buildAuditLog, cleanUpOnInterrupt, numericArgs, printTable, requireBuilt, sig3, writeResults } from './bench-kit.mjs';
import { auditVerifyReport } from './report-rows.mjs';

requireBuilt([join('libs', 'persistence', 'dist', 'index.js'), join('libs', 'runtime', 'dist', 'index.js'), join('libs', 'test-harness', 'dist', 'index.js')]);
if (!globalThis.gc) {
  console.error('run with node --expose-gc (npm run bench does)');
  process.exit(2);
}
const { rows: ROWS, runs: RUNS, 'checkpoint-every': EVERY } = numericArgs({ rows: 1_000_000, runs: 3, 'checkpoint-every': 100_000 });
for (const [name, value] of Object.entries({ rows: ROWS, runs: RUNS, 'checkpoint-every': EVERY })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number, got ${value}`);
    process.exit(2);
  }
}
const TARGETS = { heapGrowthMiB: 16, timeVsBaseline: 3 };
const PAGE = 5000;
const MiB = 1024 * 1024;

const { createTestDatabase, createTestEventWriters, provisionTestStorage, removeNamespace, testNamespace, TEST_NATS_URL, TEST_STORAGE_SETTINGS } = await import('@forgeone/test-harness');
const { createDataSource, runMigrations, verifyTransparencyLog } = await import('@forgeone/persistence');
const { eventStreamMessages } = await import('@forgeone/runtime');
const { AUDIT_CHECKPOINT_AGGREGATE, PLUGIN_EVENT_TYPES, names: namesFor } = await import('@forgeone/contracts');
const { jetstream } = await import('@nats-io/jetstream');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');

const namespace = testNamespace('bverify');
const names = namesFor(namespace);
const db = await createTestDatabase();
const ds = await createDataSource(db.url, { applicationName: 'bench-audit-verify', poolSize: 4 }).initialize();
// The stream holds the whole log: about 0.5 KiB an event.
await provisionTestStorage(namespace, TEST_NATS_URL, { ...TEST_STORAGE_SETTINGS, eventsMaxBytes: Math.max(64 * MiB, Math.ceil(ROWS * 2048)) });
const nc = await connect({ servers: TEST_NATS_URL });
const cleanup = async () => {
  await nc.close().catch(() => undefined);
  await removeNamespace(namespace).catch(() => undefined);
  if (ds.isInitialized) await ds.destroy().catch(() => undefined);
  await db.drop().catch(() => undefined);
};
cleanUpOnInterrupt(cleanup);

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const DIGEST = `sha256:${'d'.repeat(64)}`;
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
const encoder = new TextEncoder();
const js = jetstream(nc);
// Each event signed alone by its aggregate's owner, as an append with no other in flight is (the costliest to verify:
// one Ed25519 verification per row); verify checks them with the pinned keys, as the gateway and the CLI do.
const writers = createTestEventWriters();
const signers = { plugin: writers.authorship(names, 'registry'), [AUDIT_CHECKPOINT_AGGREGATE]: writers.authorship(names, 'audit-projector') };
const pinned = writers.authorship(names);

// Installs of a few plugins in many environments: each a complete, schema-valid event of the kind the log is full of.
function event(i) {
  const tenant = TENANTS[i % TENANTS.length];
  const name = `${tenant}/p${i % 50}`;
  return { specversion: '1.0', id: randomUUID(), source: 'forgeone/registry', type: PLUGIN_EVENT_TYPES.installed, subject: name, time: new Date().toISOString(), datacontenttype: 'application/json', schemaversion: '1', actor: 'usr_bench', tenant, data: { name, version: '1.0.0', digest: DIGEST, environment: `env-${i % 97}` } };
}
const publish = async (_sequence, ev) => {
  const aggregate = ev.type.startsWith('io.forgeone.plugin.') ? 'plugin' : AUDIT_CHECKPOINT_AGGREGATE;
  const subject = names.eventSubject(aggregate, `${ev.tenant}:${ev.subject}`);
  const payload = encoder.encode(JSON.stringify(ev));
  const headers = natsHeaders();
  signers[aggregate].signInto(headers, aggregate, subject, payload);
  return (await js.publish(subject, payload, { headers, timeout: 120_000 })).seq;
};

const ROW_COLUMNS = `sequence, event_id, spec_version, type, source, subject, event_time, data_content_type, schema_version,
  actor, tenant, data, traceparent, prev_hash, hash, forged, forged_detail, leaf_index, tenant_sequence, leaf_hash`;

/** The baseline: rows and events read as verify reads them, each hashed with sha256 and nothing else. */
async function readAndHash(total) {
  const stream = await eventStreamMessages(nc, names, { batch: 1000 });
  const page = (after) => ds.query(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT ${PAGE}`, [after]);
  let read = 0;
  try {
    let next = page(0);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) break;
      next = rows.length === PAGE ? page(Number(rows[rows.length - 1].sequence)) : Promise.resolve([]);
      for (const row of rows) {
        const hash = createHash('sha256');
        for (const value of Object.values(row)) hash.update(typeof value === 'string' ? value : JSON.stringify(value ?? null));
        hash.digest();
        const payload = await stream.read(Number(row.sequence));
        if (!payload) throw new Error(`the stream has no event at ${row.sequence}`);
        createHash('sha256').update(payload).digest();
        read += 1;
      }
    }
  } finally {
    await stream.close();
  }
  if (read !== total) throw new Error(`the baseline read ${read} rows of ${total}`);
}

try {
  await runMigrations(ds);
  const built = await buildAuditLog({ ds, rows: ROWS, event, checkpointEvery: EVERY, origin: `forgeone.local/audit/${namespace}`, publicKey, privateKey, publish });
  const total = built.rows;

  const runs = [];
  for (let run = 1; run <= RUNS; run += 1) {
    const cpuBefore = process.cpuUsage();
    const scanStart = performance.now();
    await readAndHash(total);
    const scanSeconds = (performance.now() - scanStart) / 1000;
    const scanCpu = process.cpuUsage(cpuBefore);

    // Live heap (after a full collection) at each tenth of the log: bounded memory means it does not grow with the rows.
    const live = [];
    let rssPeak = 0;
    let nextTenth = 1;
    let collecting = 0;
    const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    const stream = await eventStreamMessages(nc, names, { batch: 1000, authorship: pinned });
    const verifyCpuBefore = process.cpuUsage();
    const verifyStart = performance.now();
    let report;
    try {
      report = await verifyTransparencyLog(ds, {
        publicKey,
        stream: stream.message,
        authorship: true,
        batchSize: PAGE,
        onProgress: ({ rows }) => {
          if (rows < (total * nextTenth) / 10) return;
          const before = performance.now();
          globalThis.gc();
          live.push(process.memoryUsage().heapUsed);
          collecting += performance.now() - before;
          nextTenth += 1;
        },
      });
    } finally {
      await stream.close();
      clearInterval(timer);
    }
    const verifySeconds = (performance.now() - verifyStart - collecting) / 1000;
    const verifyCpu = process.cpuUsage(verifyCpuBefore);
    if (!report.ok || report.rows !== total) throw new Error(`verification did not pass: ${JSON.stringify(report)}`);
    const mib = (bytes) => bytes / MiB;
    runs.push({
      run,
      rows: report.rows,
      checkpoints: report.checkpoints,
      stream: 'compared',
      scanSeconds,
      verifySeconds,
      timeRatio: verifySeconds / scanSeconds,
      scanPerSecond: Math.round(total / scanSeconds),
      verifyPerSecond: Math.round(total / verifySeconds),
      scanCpuSeconds: (scanCpu.user + scanCpu.system) / 1e6,
      verifyCpuSeconds: (verifyCpu.user + verifyCpu.system) / 1e6,
      heapFirstTenthMiB: mib(live[0]),
      heapPeakMiB: mib(Math.max(...live)),
      heapGrowthMiB: mib(Math.max(...live) - live[0]),
      rssPeakMiB: mib(rssPeak),
      loadavg1: Number((await import('node:os')).loadavg()[0].toFixed(2)),
    });
    console.error(`run ${run}: ${JSON.stringify(runs[runs.length - 1])}`);
  }
  printTable(
    ['run', 'rows', 'baseline s', 'verify s', 'verify/baseline', 'baseline CPU s', 'verify CPU s', 'live heap at 1/10 MiB', 'growth MiB', 'RSS peak MiB', 'load'],
    runs.map((r) => [r.run, r.rows, sig3(r.scanSeconds), sig3(r.verifySeconds), sig3(r.timeRatio), sig3(r.scanCpuSeconds), sig3(r.verifyCpuSeconds), sig3(r.heapFirstTenthMiB), sig3(r.heapGrowthMiB), sig3(r.rssPeakMiB), r.loadavg1]),
  );
  await writeResults('audit-verify', { rows: total, checkpointEvery: EVERY, page: PAGE, buildSeconds: built.seconds, runs }, auditVerifyReport(runs, total, TARGETS));
} finally {
  await cleanup();
}
