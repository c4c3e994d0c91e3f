#!/usr/bin/env node
// Guest call cost with 1 KiB in and out: the sandbox's inline path (metered, memory-capped, an
// instance restored to its initial state after every call, ABI v1 checks) against raw V8 calls of the same unmetered module measured in the same run,
// plus the worker dispatch round trip (p50/p99) of SandboxHost.call, and the same echo as an Extism
// plugin run by the Extism JS host (@extism/extism, foreground), a peer measured in the same run.
// The Rust echo (bench/plugins/echo-rs, sdk/rust) is built from source with Debian's toolchain.
// The inline rows are measured `--runs` times (default 5), each run against raw V8 measured in that run.
// Run after a build: node bench/sandbox-call.bench.mjs [--quick] [--runs 5]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import createExtismPlugin from '@extism/extism';
import wabtInit from 'wabt';
import { SandboxHost } from '../libs/sandbox/dist/index.js';
import { meterWasmModule, METERING_EXPORTS } from '../libs/plugin-abi/dist/index.js';
import { buildRust } from '../examples/plugins/plugin-builder.mjs';
import { writeResults } from './bench-kit.mjs';
import { sandboxCallReport } from './report-rows.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt === -1 ? 5 : Number(process.argv[runsAt + 1]);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error('--runs takes a whole number of runs, at least 1');

const ECHO_WAT = `(module
  (memory (export "memory") 1 16)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1))) (i32.const -1))
        (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  ;; echo: copies the input into a fresh output block with memory.copy
  (func (export "echo") (param $p i32) (param $l i32) (result i64) (local $o i32)
    (local.set $o (call $alloc (local.get $l)))
    (memory.copy (local.get $o) (local.get $p) (local.get $l))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $o)) (i64.const 32)) (i64.extend_i32_u (local.get $l))))
)`;

// The same echo for Extism: its guests read the input and write the output through host calls of
// "extism:host/env" (the input and output live in host-side blocks, not in guest memory), 8 bytes per
// call as the Extism PDKs do: input -> guest memory -> a host block set as the output.
const EXTISM_ECHO_WAT = `(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1 16)
  (func (export "echo") (result i32) (local $len i64) (local $i i64) (local $block i64)
    (local.set $len (call $input_length))
    (block $d (loop $l
      (br_if $d (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
      (i64.store (i32.wrap_i64 (i64.add (i64.const 1024) (local.get $i))) (call $input_load_u64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8))) (br $l)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.wrap_i64 (i64.add (i64.const 1024) (local.get $i))) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1))) (br $l)))
    (local.set $block (call $alloc (local.get $len)))
    (local.set $i (i64.const 0))
    (block $d (loop $l
      (br_if $d (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
      (call $store_u64 (i64.add (local.get $block) (local.get $i)) (i64.load (i32.wrap_i64 (i64.add (i64.const 1024) (local.get $i)))))
      (local.set $i (i64.add (local.get $i) (i64.const 8))) (br $l)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $block) (local.get $i)) (i32.load8_u (i32.wrap_i64 (i64.add (i64.const 1024) (local.get $i)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1))) (br $l)))
    (call $output_set (local.get $block) (local.get $len))
    (i32.const 0))
)`;

const wabt = await wabtInit();
function wat2wasm(name, text) {
  const parsed = wabt.parseWat(name, text);
  try {
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}
// The same echo in the memory layout Rust and C toolchains produce: 17 pages, a stack growing down
// from 1 MiB (each call pushes a frame), data and heap above it. Writes land on both sides of 1 MiB.
const STACK_FIRST_ECHO_WAT = ECHO_WAT.replace('(memory (export "memory") 1 16)', '(memory (export "memory") 17 64)')
  .replace('(global $heap (mut i32) (i32.const 1024))', `(global $sp (mut i32) (i32.const 1048576))
  (global $heap (mut i32) (i32.const 1052672))
  (data (i32.const 1048576) "read-only data above the stack")`)
  .replace(`(func (export "echo") (param $p i32) (param $l i32) (result i64) (local $o i32)
    (local.set $o (call $alloc (local.get $l)))`, `(func (export "echo") (param $p i32) (param $l i32) (result i64) (local $o i32) (local $frame i32)
    (local.set $frame (i32.sub (global.get $sp) (i32.const 64)))
    (global.set $sp (local.get $frame))
    (i32.store (local.get $frame) (local.get $p))
    (i32.store offset=4 (local.get $frame) (local.get $l))
    (local.set $o (call $alloc (i32.load offset=4 (local.get $frame))))
    (global.set $sp (i32.add (local.get $frame) (i32.const 64)))`);
if (!STACK_FIRST_ECHO_WAT.includes('$frame')) throw new Error('the stack-first echo was not derived from ECHO_WAT');
const echoWasm = wat2wasm('echo.wat', ECHO_WAT);
const stackFirstEchoWasm = wat2wasm('stack-first-echo.wat', STACK_FIRST_ECHO_WAT);
const extismEchoWasm = wat2wasm('extism-echo.wat', EXTISM_ECHO_WAT);
const helloWasm = new Uint8Array(readFileSync(join(root, 'examples/plugins/hello/plugin.wasm')));
const rustEchoWasm = await buildRust(join(root, 'bench/plugins/echo-rs'));

const input = new Uint8Array(1024).map((_, i) => 97 + (i % 26));
const noImports = { forgeone: { error() {} } };

/**
 * ns per operation of each variant: batches are interleaved round by round so load from other
 * processes hits every variant alike; reports the best batch (least disturbed) and the median.
 */
function measureAll(variants, { batch, rounds }) {
  for (const fn of Object.values(variants)) for (let i = 0; i < batch * 2; i++) fn();
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) fn();
      samples[name].push(Number(process.hrtime.bigint() - t0) / batch);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, xs]) => {
      xs.sort((a, b) => a - b);
      return [k, { best: xs[0], median: xs[Math.floor(xs.length / 2)] }];
    }),
  );
}

function abiCall(instance, handler) {
  const e = instance.exports;
  const ptr = e.forgeone_alloc(input.length);
  new Uint8Array(e.memory.buffer, ptr, input.length).set(input);
  const r = e[handler](ptr, input.length);
  return new Uint8Array(e.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
}

/** Grows a memory by at least `bytes` (less when its maximum does not allow that much). */
function growAhead(memory, bytes) {
  for (let pages = Math.ceil(bytes / 65536); pages > 0; pages >>= 1) {
    try {
      memory.grow(pages);
      return;
    } catch {
      // above the declared maximum: try half
    }
  }
}

const opts = quick ? { batch: 100, rounds: 5 } : { batch: 500, rounds: 21 };
const host = new SandboxHost();
const PLUGINS = [
  ['echo (memory.copy)', echoWasm, 'echo'],
  ['hello (byte loop)', helloWasm, 'greet'],
  ['echo, stack-first 17 pages', stackFirstEchoWasm, 'echo', 'echo-stack-first'],
  ['echo, Rust (sdk/rust)', rustEchoWasm, 'echo', 'echo-rust'],
];
for (const [, wasm, handler, keyName = handler] of PLUGINS) {
  await host.load({ key: `bench/${keyName}@1.0.0`, wasm, handlers: [handler], capabilities: {}, limits: { memoryMiB: 16, fuel: 10_000_000, timeoutMs: 1000, maxOutputBytes: 1 << 20 } });
}

const inlineRuns = [];
for (let run = 1; run <= RUNS; run++) {
const rows = [];
for (const [name, wasm, handler, keyName = handler] of PLUGINS) {
  const raw = new WebAssembly.Module(wasm);
  const metered = new WebAssembly.Module(meterWasmModule(wasm, { memoryCapPages: 256 }).bytes);
  const key = `bench/${keyName}@1.0.0`;

  // Baseline 1: an instance reused across calls (state leaks; the cheapest thing V8 can do). The
  // bump allocators never free, so a new instance is taken every 400 calls (amortised: under 1 µs a call).
  let e;
  let inPtr;
  let uses = 0;
  // Baseline 1b, the floor: the same calls on instances made before timing, their memory grown ahead by what
  // 400 calls allocate and paged in, so no timed call pays for instantiation, a memory.grow or a page fault
  // (the sandbox's calls pay none of these either: each reuses the initial image's pages).
  const resident = Array.from({ length: Math.ceil((opts.batch * (opts.rounds + 2)) / 400) + 1 }, () => {
    const x = new WebAssembly.Instance(raw, noImports).exports;
    growAhead(x.memory, 400 * 2 * input.length);
    const bytes = new Uint8Array(x.memory.buffer);
    for (let at = 0; at < bytes.length; at += 4096) bytes[at] = bytes[at];
    return { exports: x, ptr: x.forgeone_alloc(input.length) };
  });
  let g;
  let grownPtr;
  let grownUses = 0;
  const check = host.runInline(key, handler, input);
  if (!check.ok) throw check.error;
  const m = measureAll(
    {
      rawReused: () => {
        if (uses++ % 400 === 0) {
          e = new WebAssembly.Instance(raw, noImports).exports;
          inPtr = e.forgeone_alloc(input.length);
        }
        new Uint8Array(e.memory.buffer, inPtr, input.length).set(input);
        const r = e[handler](inPtr, input.length);
        return new Uint8Array(e.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
      },
      rawReusedGrown: () => {
        if (grownUses++ % 400 === 0) {
          ({ exports: g, ptr: grownPtr } = resident[(grownUses - 1) / 400]);
        }
        new Uint8Array(g.memory.buffer, grownPtr, input.length).set(input);
        const r = g[handler](grownPtr, input.length);
        return new Uint8Array(g.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
      },
      // Baseline 2: the same ABI sequence on a fresh instance per call, unmetered.
      rawFresh: () => abiCall(new WebAssembly.Instance(raw, noImports), handler),
      // Metering alone: fresh metered instance, fuel set, no host bookkeeping.
      meteredFresh: () => {
        const instance = new WebAssembly.Instance(metered, noImports);
        instance.exports[METERING_EXPORTS.fuel].value = 10_000_000n;
        return abiCall(instance, handler);
      },
      // The sandbox's inline path: metered, capped, limits and result checks, result object.
      sandboxInline: () => host.runInline(key, handler, input),
    },
    opts,
  );
  const ns = (k) => m[k].best;
  rows.push({
    plugin: name,
    // The 1.5× target is judged on the echo and hello in the usual layout; the toolchain layout
    // (stack-first rows) has its own target below.
    judged: keyName !== 'echo-stack-first' && keyName !== 'echo-rust',
    rawReusedNs: ns('rawReused'),
    rawReusedGrownNs: ns('rawReusedGrown'),
    // The faster of the two reused baselines: the stricter one to judge against.
    rawFloorNs: Math.min(ns('rawReused'), ns('rawReusedGrown')),
    rawFreshNs: ns('rawFresh'),
    meteredFreshNs: ns('meteredFresh'),
    sandboxInlineNs: ns('sandboxInline'),
    medians: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.median])),
    fuelPerCall: check.fuelUsed,
  });
}
inlineRuns.push({ run, loadavg: loadavg(), rows });
const rust = rows.find((r) => r.plugin.startsWith('echo, Rust'));
console.log(`run ${run}/${RUNS}: Rust echo inline ${(rust.sandboxInlineNs / 1000).toFixed(2)} µs, faster raw ${(rust.rawFloorNs / 1000).toFixed(2)} µs, ${(rust.sandboxInlineNs / rust.rawFloorNs).toFixed(2)}× (loadavg ${loadavg()[0].toFixed(1)})`);
}
const rows = inlineRuns[inlineRuns.length - 1].rows;

// Extism column: its call is asynchronous, so it gets its own interleaved rounds, alongside the
// sandbox's inline path and raw V8 (fresh and reused instance) on the same echo, in the same run.
// Extism keeps one instance per plugin across calls (state persists); ForgeOne uses a fresh one per call.
const extism = await createExtismPlugin({ wasm: [{ data: extismEchoWasm }] }, { useWasi: false, runInWorker: false });
const extismCheck = await extism.call('echo', input);
if (extismCheck === null || !Buffer.from(extismCheck.bytes()).equals(Buffer.from(input))) throw new Error('the Extism echo did not return its input');
const echoRaw = new WebAssembly.Module(echoWasm);
let reusedEcho;
let reusedPtr;
let reusedUses = 0;
const peerVariants = {
  extism: async () => extism.call('echo', input),
  sandboxInline: () => host.runInline('bench/echo@1.0.0', 'echo', input),
  rawFresh: () => abiCall(new WebAssembly.Instance(echoRaw, noImports), 'echo'),
  rawReused: () => {
    if (reusedUses++ % 400 === 0) {
      reusedEcho = new WebAssembly.Instance(echoRaw, noImports).exports;
      reusedPtr = reusedEcho.forgeone_alloc(input.length);
    }
    new Uint8Array(reusedEcho.memory.buffer, reusedPtr, input.length).set(input);
    const r = reusedEcho.echo(reusedPtr, input.length);
    return new Uint8Array(reusedEcho.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
  },
};
const peerBatch = quick ? 50 : 200;
const peerSamples = Object.fromEntries(Object.keys(peerVariants).map((k) => [k, []]));
for (const fn of Object.values(peerVariants)) for (let i = 0; i < peerBatch * 2; i++) await fn();
for (let r = 0; r < opts.rounds; r++) {
  for (const [name, fn] of Object.entries(peerVariants)) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < peerBatch; i++) await fn();
    peerSamples[name].push(Number(process.hrtime.bigint() - start) / peerBatch);
  }
}
const peer = Object.fromEntries(
  Object.entries(peerSamples).map(([k, xs]) => {
    xs.sort((a, b) => a - b);
    return [k, { bestNs: xs[0], medianNs: xs[Math.floor(xs.length / 2)] }];
  }),
);
await extism.close();
const extismRow = {
  callsPerSec: Math.round(1e9 / peer.extism.bestNs),
  perCallUs: peer.extism.bestNs / 1000,
  medianUs: peer.extism.medianNs / 1000,
  sandboxInlineUs: peer.sandboxInline.bestNs / 1000,
  rawFreshUs: peer.rawFresh.bestNs / 1000,
  rawReusedUs: peer.rawReused.bestNs / 1000,
  vsSandboxInline: peer.extism.bestNs / peer.sandboxInline.bestNs,
  vsRawFresh: peer.extism.bestNs / peer.rawFresh.bestNs,
  vsRawReused: peer.extism.bestNs / peer.rawReused.bestNs,
};

// Worker dispatch round trip: sequential calls through SandboxHost.call, interleaved with a raw
// worker round trip measured in the same run (a worker that echoes a 1 KiB message with postMessage
// both ways: the floor of any thread hand-off in Node).
const echoWorker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
const rawRoundTrip = () => new Promise((resolve) => {
  echoWorker.once('message', resolve);
  echoWorker.postMessage({ input });
});
const latencies = [];
const rawLatencies = [];
const n = quick ? 300 : 3000;
for (let i = 0; i < 200; i++) {
  await host.call('bench/echo@1.0.0', 'echo', input);
  await rawRoundTrip();
}
// Alternating blocks of 100 back-to-back calls: load from other processes hits both alike, and each
// side sees the sequential pattern it is measured for (a call every few microseconds).
for (let block = 0; block < n / 100; block++) {
  for (let i = 0; i < 100; i++) {
    const t0 = process.hrtime.bigint();
    const r = await host.call('bench/echo@1.0.0', 'echo', input);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (!r.ok) throw r.error;
  }
  for (let i = 0; i < 100; i++) {
    const t1 = process.hrtime.bigint();
    await rawRoundTrip();
    rawLatencies.push(Number(process.hrtime.bigint() - t1) / 1000);
  }
}
await echoWorker.terminate();
latencies.sort((a, b) => a - b);
rawLatencies.sort((a, b) => a - b);
const pct = (p, xs = latencies) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
// Throughput with the pool's concurrency (4 workers by default; this machine has few cores).
const t0 = performance.now();
const parallel = quick ? 400 : 4000;
for (let i = 0; i < parallel; i += 16) {
  await Promise.all(Array.from({ length: 16 }, () => host.call('bench/echo@1.0.0', 'echo', input)));
}
const throughput = parallel / ((performance.now() - t0) / 1000);
await host.close();

const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
console.log(`\nGuest call, 1 KiB in / 1 KiB out, on the calling thread (best of ${opts.rounds} interleaved batches), ${RUNS} runs`);
console.table(
  inlineRuns.flatMap(({ run, rows }) => rows.map((r) => ({
    run,
    plugin: r.plugin,
    'raw V8, reused instance': fmt(r.rawReusedNs),
    'raw V8, reused, resident': fmt(r.rawReusedGrownNs),
    'raw V8, fresh instance': fmt(r.rawFreshNs),
    'metered, fresh instance': fmt(r.meteredFreshNs),
    'sandbox runInline': fmt(r.sandboxInlineNs),
    'inline / raw fresh': (r.sandboxInlineNs / r.rawFreshNs).toFixed(2) + '×',
    'inline / raw reused': (r.sandboxInlineNs / r.rawReusedNs).toFixed(2) + '×',
    'inline / faster raw reused': (r.sandboxInlineNs / r.rawFloorNs).toFixed(2) + '×',
    fuel: r.fuelPerCall,
  }))),
);
const inlineEchoUs = rows[0].sandboxInlineNs / 1000;
const worker = {
  calls: n,
  p50Us: pct(50),
  p90Us: pct(90),
  p99Us: pct(99),
  maxUs: latencies.at(-1),
  dispatchOverheadP50Us: pct(50) - inlineEchoUs,
  rawPostMessageP50Us: pct(50, rawLatencies),
  rawPostMessageP99Us: pct(99, rawLatencies),
  throughputPerSec: Math.round(throughput),
};
console.log("Worker dispatch round trip (SandboxHost.call, echo 1 KiB, sequential), alternating blocks of 100 with a raw postMessage echo worker");
console.table([
  { path: 'SandboxHost.call', p50: `${worker.p50Us.toFixed(1)} µs`, p90: `${worker.p90Us.toFixed(1)} µs`, p99: `${worker.p99Us.toFixed(1)} µs`, max: `${worker.maxUs.toFixed(0)} µs`, 'p50 − inline': `${worker.dispatchOverheadP50Us.toFixed(1)} µs`, 'calls/s (16 in flight)': worker.throughputPerSec },
  { path: 'raw postMessage echo worker', p50: `${worker.rawPostMessageP50Us.toFixed(1)} µs`, p90: `${pct(90, rawLatencies).toFixed(1)} µs`, p99: `${worker.rawPostMessageP99Us.toFixed(1)} µs`, max: `${rawLatencies.at(-1).toFixed(0)} µs` },
]);

console.log(`Peer: the same echo as an Extism plugin (@extism/extism, foreground, awaited; best of ${opts.rounds} interleaved batches of ${peerBatch})`);
console.table([
  { runner: 'Extism JS host (call)', 'calls/s': extismRow.callsPerSec, 'µs/call': extismRow.perCallUs.toFixed(2), 'median µs': extismRow.medianUs.toFixed(2) },
  { runner: 'ForgeOne runInline', 'calls/s': Math.round(1e6 / extismRow.sandboxInlineUs), 'µs/call': extismRow.sandboxInlineUs.toFixed(2), 'median µs': (peer.sandboxInline.medianNs / 1000).toFixed(2) },
  { runner: 'raw V8, fresh instance', 'calls/s': Math.round(1e6 / extismRow.rawFreshUs), 'µs/call': extismRow.rawFreshUs.toFixed(2), 'median µs': (peer.rawFresh.medianNs / 1000).toFixed(2) },
  { runner: 'raw V8, reused instance', 'calls/s': Math.round(1e6 / extismRow.rawReusedUs), 'µs/call': extismRow.rawReusedUs.toFixed(2), 'median µs': (peer.rawReused.medianNs / 1000).toFixed(2) },
]);
console.log(
  `Extism / ForgeOne inline ${extismRow.vsSandboxInline.toFixed(2)}×, Extism / raw V8 fresh ${extismRow.vsRawFresh.toFixed(2)}×, Extism / raw V8 reused ${extismRow.vsRawReused.toFixed(2)}×`,
);

const allRows = inlineRuns.flatMap((r) => r.rows);
const targets = {
  guestCallWithin1_5xRaw: allRows.filter((r) => r.judged).every((r) => r.sandboxInlineNs <= 1.5 * r.rawReusedNs),
  rustEchoWithin1_3xRaw: allRows.filter((r) => r.plugin.startsWith('echo, Rust')).every((r) => r.sandboxInlineNs <= 1.3 * r.rawFloorNs),
  atLeast5xFasterThanExtism: extismRow.vsSandboxInline >= 5,
  dispatchP50Under30us: worker.dispatchOverheadP50Us < 30,
};
console.log('Targets:', Object.entries(targets).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', '));

await writeResults('sandbox-call', { targets, quick, runs: RUNS, inline: rows, inlineRuns, worker, extism: extismRow }, sandboxCallReport(inlineRuns, worker, extismRow));
