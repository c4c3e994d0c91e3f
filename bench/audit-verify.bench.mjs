#!/usr/bin/env node
// Benchmark: `audit verify` over a large audit log, with bounded memory. Builds a log of --rows audit rows
// through the projector's own batch writer (hash chain, leaves, Merkle nodes) with a signed checkpoint every
// --checkpoint-every rows, then per run: a baseline that reads the same pages with no check, and
// verifyTransparencyLog (chain, leaves, tenant sequences, every checkpoint's root, signature and consistency),
// measuring the live heap (after a full collection) at each tenth of the log. Memory is bounded when the live
// heap at the end is no higher than after the first tenth, give or take a small margin.
//
//   node bench/audit-verify.bench.mjs [--rows 1000000] [--runs 3] [--checkpoint-every 100000]
//
// Needs a build (`npm run build`) and PostgreSQL at FORGEONE_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test). Uses a database of its own and removes it at the end. Prints a
// table and writes bench/results/audit-verify.json.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, printTable, repoRoot as root, sig3, writeResults } from './bench-kit.mjs';
import { auditVerifyReport } from './report-rows.mjs';

for (const built of [join('libs', 'persistence', 'dist', 'index.js'), join('libs', 'test-harness', 'dist', 'index.js')]) {
  if (!existsSync(join(root, built))) {
    console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
    process.exit(2);
  }
}

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' }, 'checkpoint-every': { type: 'string', default: '100000' } } });
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const EVERY = Number(args['checkpoint-every']);
for (const [name, value] of Object.entries({ rows: ROWS, runs: RUNS, 'checkpoint-every': EVERY })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number, got ${args[name]}`);
    process.exit(2);
  }
}
const TARGETS = { heapGrowthMiB: 16 };
const PAGE = 500;

const { createTestDatabase } = await import('@forgeone/test-harness');
const { createDataSource, runMigrations, applyEvents, auditTreeSize, auditTreeRoot, verifyTransparencyLog } = await import('@forgeone/persistence');
const { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES, AUDIT_CHECKPOINT_ID, PLUGIN_EVENT_TYPES, cloudEvent } = await import('@forgeone/contracts');
const { checkpointText, keyIdOf, signNote } = await import('@forgeone/signing');

const db = await createTestDatabase();
const ds = await createDataSource(db.url, { applicationName: 'bench-audit-verify', poolSize: 2 }).initialize();
const cleanup = async () => {
  if (ds.isInitialized) await ds.destroy().catch(() => undefined);
  await db.drop().catch(() => undefined);
};
cleanUpOnInterrupt(cleanup);

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const origin = 'forgeone.local/audit/bench';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];

// Installs of a few plugins in many environments: each a complete, schema-valid event of the kind the log is full of.
function event(i) {
  const tenant = TENANTS[i % TENANTS.length];
  const name = `${tenant}/p${i % 50}`;
  return { specversion: '1.0', id: randomUUID(), source: 'forgeone/registry', type: PLUGIN_EVENT_TYPES.installed, subject: name, time: new Date().toISOString(), datacontenttype: 'application/json', schemaversion: '1', actor: 'usr_bench', tenant, data: { name, version: '1.0.0', digest: DIGEST, environment: `env-${i % 97}` } };
}
let sequence = 0;
async function checkpoint() {
  const treeSize = await auditTreeSize(ds.manager);
  const rootHash = await auditTreeRoot(ds.manager, treeSize);
  const signedAt = new Date().toISOString();
  const note = await signNote(checkpointText({ origin, treeSize, rootHash: Buffer.from(rootHash, 'hex'), extensions: [`time ${signedAt}`] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
  const data = { origin, treeSize, rootHash, keyId: keyIdOf(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), note, signedAt };
  sequence += 1;
  await applyEvents(ds, 'bench', [{ sequence, event: cloudEvent(AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_ID, { id: randomUUID(), type: AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, data, time: signedAt, actor: 'service.audit-projector', tenant: 'default' }) }]);
}

try {
  await runMigrations(ds);
  const started = performance.now();
  let written = 0;
  let sinceCheckpoint = 0;
  while (written < ROWS) {
    const n = Math.min(2000, ROWS - written, EVERY - sinceCheckpoint);
    const batch = Array.from({ length: n }, (_, k) => ({ sequence: sequence + k + 1, event: event(written + k) }));
    await applyEvents(ds, 'bench', batch);
    sequence += n;
    written += n;
    sinceCheckpoint += n;
    if (sinceCheckpoint === EVERY) {
      await checkpoint();
      sinceCheckpoint = 0;
    }
    if (written % 100_000 < n) console.error(`built ${written} of ${ROWS} rows (${Math.round(written / ((performance.now() - started) / 1000))}/s)`);
  }
  const total = await auditTreeSize(ds.manager);
  console.error(`log built: ${total} rows including checkpoints, in ${Math.round((performance.now() - started) / 1000)} s`);

  const runs = [];
  for (let run = 1; run <= RUNS; run += 1) {
    // Baseline: the same pages, in the same order, through the same repository, with nothing checked.
    const scanStart = performance.now();
    let last = 0;
    for (;;) {
      const page = await ds.query(`SELECT * FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT ${PAGE}`, [last]);
      if (page.length === 0) break;
      last = Number(page[page.length - 1].sequence);
    }
    const scanSeconds = (performance.now() - scanStart) / 1000;

    // Live heap (after a full collection) at each tenth of the log: bounded memory means it does not grow with the rows.
    if (!globalThis.gc) throw new Error('run with node --expose-gc (npm run bench does)');
    const live = [];
    let rssPeak = 0;
    let nextTenth = 1;
    const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    const verifyStart = performance.now();
    let collecting = 0;
    const report = await verifyTransparencyLog(ds, {
      publicKey,
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
    clearInterval(timer);
    const verifySeconds = (performance.now() - verifyStart - collecting) / 1000;
    clearInterval(timer);
    if (!report.ok || report.rows !== total) throw new Error(`verification did not pass: ${JSON.stringify(report)}`);
    const mib = (bytes) => bytes / 1024 / 1024;
    runs.push({
      run,
      rows: report.rows,
      checkpoints: report.checkpoints,
      scanPerSecond: Math.round(total / scanSeconds),
      verifyPerSecond: Math.round(total / verifySeconds),
      heapFirstTenthMiB: mib(live[0]),
      heapPeakMiB: mib(Math.max(...live)),
      heapGrowthMiB: mib(Math.max(...live) - live[0]),
      rssPeakMiB: mib(rssPeak),
    });
    console.error(`run ${run}: ${JSON.stringify(runs[runs.length - 1])}`);
  }
  printTable(
    ['run', 'rows', 'scan rows/s', 'verify rows/s', 'live heap at 1/10 MiB', 'live heap max MiB', 'growth MiB', 'RSS peak MiB'],
    runs.map((r) => [r.run, r.rows, r.scanPerSecond, r.verifyPerSecond, sig3(r.heapFirstTenthMiB), sig3(r.heapPeakMiB), sig3(r.heapGrowthMiB), sig3(r.rssPeakMiB)]),
  );
  await writeResults('audit-verify', { rows: total, checkpointEvery: EVERY, page: PAGE, runs }, auditVerifyReport(runs, total, TARGETS));
} finally {
  await cleanup();
}
