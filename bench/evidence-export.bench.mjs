#!/usr/bin/env node
// Benchmark: an evidence export of a large audit log, with flat memory. Builds a log of --rows audit rows of
// one tenant with bench-kit's buildAuditLog (hash chain, leaves, Merkle nodes, the projector's hashing) and one
// signed checkpoint, then per run: a baseline that reads the same rows in the same pages and hashes them with sha256
// alone, and writeEvidenceExport (the gateway's export: every SOC 2 query paged from PostgreSQL, CSV and JSON
// lines written to files as they stream, sha256 of each file, sampled rows proven against the checkpoint),
// measuring the live heap (after a full collection) at each tenth of the audit-rows query. Memory is flat when
// the live heap at the end is no higher than at the first tenth, give or take a small margin.
//
//   node --expose-gc bench/evidence-export.bench.mjs [--rows 1000000] [--runs 3]
//
// Needs a build (`npm run build`) and PostgreSQL at FORGEONE_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test). Uses a database of its own and removes it at the end. Prints a
// table and writes bench/results/evidence-export.json.
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAuditLog, cleanUpOnInterrupt, printTable, repoRoot as root, sig3, writeResults } from './bench-kit.mjs';

for (const built of [join('libs', 'persistence', 'dist', 'index.js'), join('libs', 'test-harness', 'dist', 'index.js')]) {
  if (!existsSync(join(root, built))) {
    console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
    process.exit(2);
  }
}
if (!globalThis.gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } } });
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
for (const [name, value] of Object.entries({ rows: ROWS, runs: RUNS })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number, got ${args[name]}`);
    process.exit(2);
  }
}
const TARGETS = { heapGrowthMiB: 16 };
const PAGE = 5000;

const { createTestDatabase } = await import('@forgeone/test-harness');
const { createDataSource, runMigrations, writeEvidenceExport } = await import('@forgeone/persistence');
const { PLUGIN_EVENT_TYPES } = await import('@forgeone/contracts');

const db = await createTestDatabase();
const ds = await createDataSource(db.url, { applicationName: 'bench-evidence-export', poolSize: 4 }).initialize();
const work = mkdtempSync(join(tmpdir(), 'forgeone-bench-evidence-'));
const cleanup = async () => {
  rmSync(work, { recursive: true, force: true });
  if (ds.isInitialized) await ds.destroy().catch(() => undefined);
  await db.drop().catch(() => undefined);
};
cleanUpOnInterrupt(cleanup);

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const origin = 'forgeone.local/audit/bench';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const periodStart = new Date(Date.now() - 3_600_000);

// Installs of a few plugins in many environments, all of tenant acme: every row is in the export's populations.
function event(i) {
  const name = `acme/p${i % 50}`;
  return { specversion: '1.0', id: randomUUID(), source: 'forgeone/registry', type: PLUGIN_EVENT_TYPES.installed, subject: name, time: new Date().toISOString(), datacontenttype: 'application/json', schemaversion: '1', actor: 'usr_bench', tenant: 'acme', data: { name, version: '1.0.0', digest: DIGEST, environment: `env-${i % 97}` } };
}

try {
  await runMigrations(ds);
  const built = await buildAuditLog({ ds, rows: ROWS, event, origin, publicKey, privateKey });
  const periodEnd = new Date(Date.now() + 3_600_000);

  const mib = (bytes) => bytes / 1024 / 1024;
  const runs = [];
  for (let run = 1; run <= RUNS; run += 1) {
    // Baseline: the tenant's rows in the same pages, hashed with sha256 alone.
    const scanStart = performance.now();
    const hash = createHash('sha256');
    let last = 0;
    for (;;) {
      const page = await ds.query(`SELECT sequence, tenant_sequence, occurred_at, type, actor, plugin, event_id, leaf_hash FROM audit_log WHERE tenant = $1 AND sequence > $2 ORDER BY sequence LIMIT ${PAGE}`, ['acme', last]);
      if (page.length === 0) break;
      for (const row of page) hash.update(JSON.stringify(row));
      last = Number(page[page.length - 1].sequence);
    }
    const scanSeconds = (performance.now() - scanStart) / 1000;

    // The export into files on disk, with backpressure, live heap at each tenth of the audit rows.
    const out = join(work, `run-${run}`);
    const streams = new Map();
    const live = [];
    let rssPeak = 0;
    let nextTenth = 1;
    let collecting = 0;
    const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    const measure = () => {
      const before = performance.now();
      globalThis.gc();
      live.push(process.memoryUsage().heapUsed);
      collecting += performance.now() - before;
    };
    let bytes = 0;
    const sink = {
      async write(line) {
        if (line.kind === 'progress' && line.query === 'audit-rows' && line.rows >= (ROWS * nextTenth) / 10) {
          measure();
          nextTenth += 1;
        }
        if (line.kind !== 'file') return;
        let stream = streams.get(line.path);
        if (!stream) {
          await mkdir(dirname(join(out, line.path)), { recursive: true });
          stream = createWriteStream(join(out, line.path));
          streams.set(line.path, stream);
        }
        bytes += Buffer.byteLength(line.data);
        if (!stream.write(line.data)) await new Promise((resolve) => stream.once('drain', resolve));
      },
    };
    const exportStart = performance.now();
    const { manifest } = await writeEvidenceExport(ds, { framework: 'soc2', tenant: 'acme', from: periodStart, before: periodEnd, exportedBy: 'usr_bench', now: new Date() }, sink);
    await Promise.all([...streams.values()].map((s) => new Promise((resolve) => s.end(resolve))));
    measure();
    const exportSeconds = (performance.now() - exportStart - collecting) / 1000;
    clearInterval(timer);
    rmSync(out, { recursive: true, force: true });
    const files = JSON.parse(manifest).files.length;
    runs.push({
      run,
      rows: ROWS,
      files,
      exportMiB: mib(bytes),
      scanPerSecond: Math.round(ROWS / scanSeconds),
      exportSeconds,
      auditRowsPerSecond: Math.round(ROWS / exportSeconds),
      heapFirstTenthMiB: mib(live[0]),
      heapPeakMiB: mib(Math.max(...live)),
      heapEndMiB: mib(live[live.length - 1]),
      heapGrowthMiB: mib(Math.max(...live) - live[0]),
      heapAtTenthsMiB: live.map((v) => sig3(mib(v))),
      rssPeakMiB: mib(rssPeak),
    });
    console.error(`run ${run}: ${JSON.stringify(runs[runs.length - 1])}`);
  }
  printTable(
    ['run', 'rows', 'files', 'export MiB', 'baseline rows/s', 'export s', 'live heap at 1/10 MiB', 'live heap max MiB', 'growth MiB', 'RSS peak MiB'],
    runs.map((r) => [r.run, r.rows, r.files, sig3(r.exportMiB), r.scanPerSecond, sig3(r.exportSeconds), sig3(r.heapFirstTenthMiB), sig3(r.heapPeakMiB), sig3(r.heapGrowthMiB), sig3(r.rssPeakMiB)]),
  );
  const worst = Math.max(...runs.map((r) => r.heapGrowthMiB));
  const report = [
    {
      what: `evidence export (soc2) of ${ROWS} audit rows: live heap growth from the first tenth to the end, worst of ${RUNS} runs`,
      baseline: `live heap at the first tenth ${sig3(Math.min(...runs.map((r) => r.heapFirstTenthMiB)))} MiB`,
      measured: `${sig3(worst)} MiB (spread ${sig3(Math.min(...runs.map((r) => r.heapGrowthMiB)))}–${sig3(worst)})`,
      ratio: '—',
      target: `≤ ${TARGETS.heapGrowthMiB} MiB`,
      met: worst <= TARGETS.heapGrowthMiB,
    },
    {
      what: 'evidence export time against reading and sha256-hashing the same rows (median run)',
      baseline: `${runs.map((r) => r.scanPerSecond).sort((a, b) => a - b)[Math.floor(runs.length / 2)]} rows/s`,
      measured: `${runs.map((r) => r.auditRowsPerSecond).sort((a, b) => a - b)[Math.floor(runs.length / 2)]} audit rows/s (every query of the framework included)`,
      ratio: sig3(runs.map((r) => r.scanPerSecond / r.auditRowsPerSecond).sort((a, b) => a - b)[Math.floor(runs.length / 2)]),
      target: 'none (reported)',
      met: true,
    },
  ];
  await writeResults('evidence-export', { rows: ROWS, page: PAGE, buildSeconds: built.seconds, runs }, report);
} finally {
  await cleanup();
}
