#!/usr/bin/env node
// The example plugins in both languages: module size, and call time through the sandbox. Plugins
// whose host functions the calling thread can answer (log, metrics) are timed on the inline path
// against raw V8 calls of the same unmetered module measured in the same run; every plugin is timed
// through a worker (SandboxHost.call) with in-process storage and a local HTTP server. The committed
// plugin.wasm files are measured (test/examples checks they match their sources).
// Run after a build: node bench/plugin-examples.bench.mjs [--quick]
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { SandboxHost } from '../libs/sandbox/dist/index.js';
import { listExamples } from '../examples/plugins/plugin-builder.mjs';
import { percentiles, printTable, writeResults } from './bench-kit.mjs';
import { pluginExamplesReport } from './report-rows.mjs';

const quick = process.argv.includes('--quick');
const LANGUAGE = { wat: 'WAT', assemblyscript: 'AssemblyScript', rust: 'Rust' };
const SENTENCE = 'write to alice.smith+crm@mail.example.com, card 4111 1111 1111 1111, order 1234567890123 on 2024-05-01. ';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'text/plain' }).end('ok'));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const store = new Map();
const hooks = {
  kvGet: async (ctx, key) => store.get(`${ctx.plugin}/${key}`),
  kvSet: async (ctx, key, value) => void store.set(`${ctx.plugin}/${key}`, value),
  kvDelete: async (ctx, key) => store.delete(`${ctx.plugin}/${key}`),
  httpRequest: async (_ctx, request) => {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  },
};
const host = new SandboxHost({ hooks });

// What each example is called with; `inline` when the calling thread can answer all its host functions.
const CALLS = {
  hello: [{ label: '"world"', handler: 'greet', input: () => 'world', inline: true }],
  'pii-redactor': [
    { label: '110 B text', handler: 'redact', input: () => SENTENCE, inline: true },
    { label: '4 KiB text', handler: 'redact', input: () => SENTENCE.repeat(38), inline: true },
  ],
  counter: [{ label: 'a name (kv get + set)', handler: 'increment', input: () => 'visits' }],
  fetcher: [{ label: 'GET a local server', handler: 'fetch', input: () => `${origin}/x` }],
  'webhook-relay-rs': [{ label: 'POST a local server (kv get + set)', handler: 'relay', input: () => JSON.stringify({ to: `${origin}/in`, event: { type: 'deploy', n: 1 } }) }],
};
CALLS['pii-redactor-rs'] = CALLS['pii-redactor'];

const noop = () => {};
const rawImports = { forgeone: { error: noop, log: noop, metric: noop } };

/** ns per call of each variant: batches interleaved round by round; best batch and median. */
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
  return Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.sort((a, b) => a - b)[0]]));
}

const opts = quick ? { batch: 100, rounds: 5, calls: 300 } : { batch: 400, rounds: 15, calls: 2000 };
const rows = [];
for (const example of listExamples()) {
  const manifest = JSON.parse(readFileSync(join(example.dir, 'forgeone.plugin.json'), 'utf8'));
  const wasm = new Uint8Array(readFileSync(join(example.dir, 'plugin.wasm')));
  const key = `${manifest.name}@${manifest.version}`;
  // Outbound calls go to the local server; relay limits are lifted so no call is throttled.
  const capabilities = manifest.capabilities.http ? { ...manifest.capabilities, http: { allow: [new URL(origin).host] } } : manifest.capabilities;
  // The deadline is not what is measured: a long pause of this shared machine must not end the run.
  const limits = { ...manifest.limits, timeoutMs: Math.max(manifest.limits.timeoutMs, 5000) };
  await host.load({ key, wasm, handlers: manifest.handlers, capabilities, limits, config: { per_minute: '10000' } });
  for (const call of CALLS[example.name] ?? []) {
    const input = new TextEncoder().encode(call.input());
    const check = await host.call(key, call.handler, input);
    if (!check.ok) throw new Error(`${example.name} ${call.handler}: ${check.error.code} ${check.error.message}`);
    const row = { example: example.name, language: LANGUAGE[example.kind], sizeBytes: wasm.length, input: call.label, fuel: check.fuelUsed };
    if (call.inline) {
      const raw = new WebAssembly.Module(wasm);
      let e;
      let uses = 0;
      const m = measureAll(
        {
          // A reused instance (state leaks: the floor); its allocator never frees, so it is replaced
          // every 400 calls, or when a call runs out of memory.
          raw: () => {
            if (uses++ % 400 === 0) e = new WebAssembly.Instance(raw, rawImports).exports;
            for (;;) {
              try {
                const ptr = e.forgeone_alloc(input.length);
                new Uint8Array(e.memory.buffer, ptr, input.length).set(input);
                const r = e[call.handler](ptr, input.length);
                return new Uint8Array(e.memory.buffer, Number(r >> 32n), Number(r & 0xffffffffn)).slice();
              } catch {
                e = new WebAssembly.Instance(raw, rawImports).exports;
              }
            }
          },
          inline: () => host.runInline(key, call.handler, input),
        },
        opts,
      );
      Object.assign(row, { rawUs: m.raw / 1000, inlineUs: m.inline / 1000, inlineOverRaw: m.inline / m.raw });
    }
    // Sequential calls through a worker; with the relay the clock moves a minute per call (a fresh window).
    const latencies = [];
    for (let i = 0; i < opts.calls + 100; i++) {
      const t0 = process.hrtime.bigint();
      const result = await host.call(key, call.handler, input, { nowMs: 1_700_000_000_000 + i * 60_000 });
      if (i >= 100) latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (!result.ok) throw new Error(`${example.name} ${call.handler}: ${result.error.code} ${result.error.message}`);
    }
    const { p50Us, p99Us } = percentiles(latencies);
    Object.assign(row, { workerP50Us: p50Us, workerP99Us: p99Us });
    rows.push(row);
  }
}
await host.close();
await new Promise((resolve) => server.close(resolve));

const us = (v) => (v === undefined ? undefined : v.toFixed(2));
console.log(`\nExample plugins: size, inline call (best of ${opts.rounds} interleaved batches) against raw V8, worker call p50/p99 (${opts.calls} sequential calls)\n`);
printTable(
  ['example', 'language', 'size', 'input', 'raw V8 µs', 'runInline µs', 'inline / raw', 'worker p50 µs', 'worker p99 µs', 'fuel'],
  rows.map((r) => [r.example, r.language, `${(r.sizeBytes / 1024).toFixed(1)} KiB`, r.input, us(r.rawUs), us(r.inlineUs), r.inlineOverRaw === undefined ? undefined : `${r.inlineOverRaw.toFixed(2)}×`, us(r.workerP50Us), us(r.workerP99Us), r.fuel]),
);
await writeResults('plugin-examples', { quick, rows }, pluginExamplesReport(rows));
