#!/usr/bin/env node
// How long meterWasmModule takes on a large module (the publish and install path rewrites every
// module once), against V8 validating and compiling the same bytes in the same run. The module is
// the Cedar policy engine's wasm (4.3 MB, 7 110 functions, from @cedar-policy/cedar-wasm, a
// dependency), rewritten with the default options. "cold" is the first rewrite in a fresh process,
// as on a service's first publish; "warm" is the best of several in one process.
// V8 caches a compiled module by its bytes, so the warm compile is a cache hit.
// `--compare <path to another build's wasm-metering.rewriter.js>` measures that rewriter too, in the
// same processes' turns, e.g. the previous commit's dist. Writes bench/results/metering-rewrite.json with
// its report rows (meteringRewriteReport: the rewrite against validate, cold and warm). Run after a build:
//   node bench/metering-rewrite.bench.mjs [--quick] [--compare path]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printTable, repoRoot, writeResults } from './bench-kit.mjs';
import { meteringRewriteReport } from './report-rows.mjs';

const MODULE = join(repoRoot, 'node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm_bg.wasm');
const CURRENT = join(repoRoot, 'libs/plugin-abi/dist/wasm-metering.rewriter.js');
const quick = process.argv.includes('--quick');
const compareAt = process.argv.indexOf('--compare');
const compared = compareAt > 0 ? process.argv[compareAt + 1] : undefined;
const coldRuns = quick ? 3 : 7;
const warmRuns = quick ? 3 : 7;

// One child process per measurement, so every "cold" run starts with nothing compiled or cached.
const child = `
  const { readFileSync } = await import('node:fs');
  const bytes = new Uint8Array(readFileSync(process.env.MODULE));
  const kind = process.env.KIND;
  const rewriter = kind.startsWith('rewrite') ? await import(process.env.REWRITER) : undefined;
  const once = () => {
    const t = performance.now();
    let size = 0;
    if (kind === 'validate') WebAssembly.validate(bytes);
    else if (kind === 'compile') new WebAssembly.Module(bytes);
    else size = rewriter.meterWasmModule(bytes, { memoryCapPages: 65536 }).bytes.length;
    return { ms: performance.now() - t, size };
  };
  const cold = once();
  const warm = [];
  for (let i = 0; i < Number(process.env.WARM); i++) warm.push(once().ms);
  console.log(JSON.stringify({ cold: cold.ms, warm: Math.min(...warm), size: cold.size }));
`;

function measure(kind, rewriter) {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
    env: { ...process.env, MODULE, KIND: kind, REWRITER: rewriter ? pathToFileURL(rewriter).href : '', WARM: String(warmRuns) },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`${kind} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

const variants = [
  { name: 'V8 WebAssembly.validate (baseline)', kind: 'validate', label: 'V8 WebAssembly.validate' },
  { name: 'V8 new WebAssembly.Module (baseline)', kind: 'compile', label: 'V8 new WebAssembly.Module' },
  { name: 'meterWasmModule (this build)', kind: 'rewrite', rewriter: CURRENT, label: 'meterWasmModule' },
  ...(compared ? [{ name: `meterWasmModule (${compared})`, kind: 'rewrite-compared', rewriter: compared, label: 'meterWasmModule (--compare build)' }] : []),
];
const samples = new Map(variants.map((v) => [v.name, { cold: [], warm: [], size: 0 }]));
// Interleaved turn by turn, so drift on a shared machine hits every variant alike.
for (let round = 0; round < coldRuns; round++) {
  for (const v of variants) {
    const m = measure(v.kind, v.rewriter);
    const s = samples.get(v.name);
    s.cold.push(m.cold);
    s.warm.push(m.warm);
    s.size = m.size;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (xs) => Math.min(...xs);
const validate = samples.get(variants[0].name);
const rows = variants.map((v) => {
  const s = samples.get(v.name);
  return {
    variant: v.name,
    kind: v.kind,
    label: v.label,
    coldMedianMs: median(s.cold),
    coldBestMs: best(s.cold),
    warmBestMs: best(s.warm),
    warmVsValidate: best(s.warm) / best(validate.warm),
    outputBytes: s.size || undefined,
  };
});
const bytes = readFileSync(MODULE).length;
console.log(`\nmeterWasmModule on a ${(bytes / 1e6).toFixed(1)} MB module (${coldRuns} fresh processes each; warm: best of ${warmRuns} per process)`);
printTable(
  ['variant', 'cold median', 'cold best', 'warm best', 'warm / validate', 'output bytes'],
  rows.map((r) => [r.variant, `${r.coldMedianMs.toFixed(0)} ms`, `${r.coldBestMs.toFixed(0)} ms`, `${r.warmBestMs.toFixed(0)} ms`, `${r.warmVsValidate.toFixed(1)}x`, r.outputBytes]),
);
await writeResults('metering-rewrite', { quick, moduleBytes: bytes, coldRuns, warmRuns, rows }, meteringRewriteReport(rows, (bytes / 1e6).toFixed(1)));
