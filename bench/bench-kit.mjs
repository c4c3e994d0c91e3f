// Shared by the benchmarks: latency statistics, sequential and concurrent measurement loops,
// readiness waits, a plain-text table, the JSON result file in bench/results/, and the command line.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Leaves with status 2 and what to run when a build output the benchmark loads (a path from the repository root) is missing. */
export function requireBuilt(paths) {
  for (const built of paths) {
    if (!existsSync(join(repoRoot, built))) {
      console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
      process.exit(2);
    }
  }
}

/** The benchmark's numeric options (`--n 2000`), each `defaults[name]` when not given; an option not named there is refused. */
export function numericArgs(defaults) {
  const { values } = parseArgs({ options: Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, { type: 'string', default: String(value) }])) });
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, Number(value)]));
}

/** p50/p99 in µs of values already in µs. */
export function percentiles(valuesUs) {
  const sorted = Float64Array.from(valuesUs).sort();
  const at = (q) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1));
  return { p50Us: at(0.5), p99Us: at(0.99) };
}

/** Count, rate and p50/p99 (µs) of per-call latencies in ns over a run that took `elapsedNs`. */
export function latencyStats(latenciesNs, elapsedNs) {
  return {
    n: latenciesNs.length,
    perSecond: Math.round((latenciesNs.length / Number(elapsedNs)) * 1e9),
    ...percentiles(latenciesNs.map((ns) => ns / 1_000)),
  };
}

export function measureSync(n, fn) {
  const latencies = new Array(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    latencies[i] = Number(process.hrtime.bigint() - t);
  }
  return latencyStats(latencies, process.hrtime.bigint() - start);
}

/** `n` calls of `fn` spread over `concurrency` loops that each wait for their previous call. */
export async function measureAsync(n, concurrency, fn) {
  const { latenciesNs, elapsedNs } = await sampleAsync(n, concurrency, fn);
  return latencyStats(latenciesNs, elapsedNs);
}

/** Like {@link measureAsync}, but answers the raw per-call latencies (ns) and the elapsed time, to pool several batches. */
export async function sampleAsync(n, concurrency, fn) {
  const latenciesNs = [];
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t = process.hrtime.bigint();
        await fn();
        latenciesNs.push(Number(process.hrtime.bigint() - t));
      }
    }),
  );
  return { latenciesNs, elapsedNs: process.hrtime.bigint() - start };
}

/**
 * Measures several variants under the same conditions: `rounds` rounds, each running a batch of
 * `n / rounds` calls of every variant (the order rotating from round to round), pooled per
 * variant. A drift in machine load then lands on every variant alike instead of on whichever ran last.
 */
export async function measureInterleaved(variants, { n, concurrency, rounds }) {
  const pooled = variants.map(() => ({ latenciesNs: [], elapsedNs: 0n }));
  const batch = Math.max(1, Math.floor(n / rounds));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      const { latenciesNs, elapsedNs } = await sampleAsync(batch, concurrency, variants[i]);
      pooled[i].latenciesNs.push(...latenciesNs);
      pooled[i].elapsedNs += elapsedNs;
    }
  }
  return pooled.map((p) => latencyStats(p.latenciesNs, p.elapsedNs));
}

/** Polls `probe` until it answers truthy; `exited()` returning a reason aborts at once. */
export async function waitFor(what, probe, exited = () => undefined, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = exited();
    if (failure) throw new Error(`${what} ${failure}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not get ready in ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Prints a table: the first two columns left-aligned, the rest right-aligned; undefined shows as '-'. */
export function printTable(header, rows) {
  const table = [header, ...rows.map((row) => row.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, j) => (j < 2 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** The machine a result was measured on: what a reader needs to judge the numbers beside them. */
export function machineFacts() {
  const cores = cpus();
  return { node: process.version, cpus: cores.length, cpuModel: cores[0]?.model?.trim() ?? 'unknown', loadavg: loadavg().map((l) => Number(l.toFixed(2))) };
}

/**
 * Writes bench/results/<name>.json: the machine and time, `report` (the rows bench/report.mjs puts in
 * bench/README.md's table) and the bench's own detail. Each report row is
 * `{ what, baseline, measured, ratio, target, met }`: `baseline` and `measured` are short texts with units,
 * `ratio` is measured over the baseline measured in the same run, `target` a text or null when none is
 * set, and `met` true, false or null (no target).
 */
export async function writeResults(name, data, report) {
  const out = join(repoRoot, 'bench', 'results', `${name}.json`);
  await mkdir(dirname(out), { recursive: true });
  for (const row of report) {
    for (const key of ['what', 'baseline', 'measured', 'ratio', 'target', 'met']) {
      if (!(key in row)) throw new Error(`report row "${row.what}" of ${name} has no ${key}`);
    }
  }
  const doc = { benchmark: name, at: new Date().toISOString(), machine: machineFacts(), report, ...data };
  await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  return out;
}

/** A number rounded for a report cell: 3 significant digits, at most 2 decimals. */
export const sig3 = (value) => Number(Number(value).toPrecision(3));

/** A NATS URL without credentials, for result files. */
export const redactNatsUrl = (url) => url.replace(/\/\/[^@]*@/, '//');

/**
 * Runs `cleanup` before the process leaves on Ctrl-C or SIGTERM (a timeout's), which would otherwise skip
 * the benchmark's `finally` blocks and leave streams, databases or child processes behind.
 */
export function cleanUpOnInterrupt(cleanup) {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up before leaving`);
      void Promise.resolve()
        .then(cleanup)
        .catch((error) => console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => process.exit(code));
    });
  }
}
