#!/usr/bin/env node
// Soak: the whole platform (`forgeone up`, as `npm start` runs it, here with several sandbox-runners) under
// mixed load for a long time, reporting the memory of every service every minute and every error the load saw,
// split into those it caused on purpose (denials, sandbox violations) and the others.
//
//   node bench/soak.mjs [--minutes 30] [--runners 2] [--sample-seconds 20]
//
// Load, each client one request at a time with a pause: plugin calls through the gateway (hello; counter,
// which uses plugin storage, the kv hooks; fetcher, which GETs a local HTTP server through the http hook),
// a reader of the plugin list (a projection), a publisher that publishes a new version of the called plugin
// and upgrades its installation (a hot swap under the callers), an installer that installs and removes
// another plugin, an auditor whose calls policy must refuse (AUTHZ.DENIED), and a plugin that never returns
// and runs out of fuel (SANDBOX.FUEL_EXHAUSTED, a sandbox violation). The called plugins' deadlines are raised
// to 5 s: on a shared machine a descheduled worker misses the examples' 100 ms, which is not what a soak looks for.
//
// Memory: RSS from /proc/<pid>/status, and V8 heap (used, total) of each service's main thread from a Node.js
// diagnostic report the service writes on SIGUSR2 (NODE_OPTIONS --report-on-signal: the services export no heap
// series), sampled every --sample-seconds. Growth compares the three minutes from minute 5 (after warm-up) with
// the last three: RSS as the median of each window's samples, heap used as each window's lowest sample (the floor
// of the collector's sawtooth; a single sample also counts garbage not yet collected). Target: no service grows by
// more than 10 %, and no error the load did not cause.
//
// Tracing on (spans exported over OTLP/HTTP to a sink in this process that discards them), metrics on (each
// service's /metrics on its own port), call recording as shipped (window summaries).
//
// Needs a build (`npm run build`), NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and Postgres at
// FORGEONE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test, allowed to create databases).
// Writes bench/results/soak.json. The namespace's streams, buckets and the database are removed at the end; every
// service's output stays in <tmp>/forgeone-soak-*/services (the report prints a crashed service's last stderr lines).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpOnInterrupt, numericArgs, printTable, redactNatsUrl, repoRoot as root, requireBuilt, writeResults } from './bench-kit.mjs';
import { soakReport } from './report-rows.mjs';

requireBuilt(['apps/cli/dist/main.js', 'apps/sandbox-runner/dist/main.js', 'libs/test-harness/dist/index.js']);

const { minutes: MINUTES, runners: RUNNERS, 'sample-seconds': SAMPLE_SECONDS } = numericArgs({ minutes: 30, runners: 2, 'sample-seconds': 20 });
if (!(MINUTES >= 1)) throw new Error(`--minutes must be at least 1, got ${MINUTES}`);
if (!Number.isInteger(RUNNERS) || RUNNERS < 1 || RUNNERS > 16) throw new Error(`--runners must be a whole number from 1 to 16, got ${RUNNERS}`);
if (!(SAMPLE_SECONDS >= 1)) throw new Error(`--sample-seconds must be at least 1, got ${SAMPLE_SECONDS}`);
// Growth is measured from this minute on (the first minutes warm up caches, JIT and pools).
const SETTLED_MINUTE = Math.min(5, MINUTES - 1);
const WINDOW_MINUTES = 3;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
process.env.FORGEONE_TEST_NATS_URL ??= NATS_URL;

const { createTestDatabase, createTokenWithCli, helloPluginCopy, removeNamespace, runCli, startTestPlatform, testNamespace, randomBootstrapToken } = await import('../libs/test-harness/dist/index.js');
const wabt = await (await import('wabt')).default();

const ENVIRONMENT = 'staging';
const work = mkdtempSync(join(tmpdir(), 'forgeone-soak-'));
const reports = join(work, 'reports');
mkdirSync(reports);
// Every service's output, kept after the soak: <instance>.log its JSON log lines, <instance>.stderr.log the rest
// (what the supervisor forwards with the instance's name: a V8 fatal error, an uncaught exception's trace).
const outputDir = join(work, 'services');
mkdirSync(outputDir);

// --- the peers the load needs: a page for the fetcher, a sink for spans ------------------------------
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
let pageHits = 0;
const page = createServer((req, res) => {
  pageHits++;
  res.writeHead(200, { 'content-type': 'text/plain' }).end('soak page\n'.repeat(20));
});
const pagePort = await listen(page);
let spanBytes = 0;
let spanExports = 0;
const spanSink = createServer((req, res) => {
  req.on('data', (chunk) => (spanBytes += chunk.length));
  req.on('end', () => {
    spanExports++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
const spanPort = await listen(spanSink);

// --- plugin folders ---------------------------------------------------------------------------------
const pluginDir = (name, version, manifestPatch, wasm) => {
  const dir = join(work, `${name.replace('/', '-')}-${version}`);
  cpSync(join(root, 'examples', 'plugins', manifestPatch.from), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8'));
  const limits = { ...manifest.limits, ...manifestPatch.set.limits };
  writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name, version, ...manifestPatch.set, limits }, null, 2));
  if (wasm) writeFileSync(join(dir, 'plugin.wasm'), wasm);
  return dir;
};
// Deadlines raised from the examples' 100 and 500 ms: on a machine shared with other work a descheduled worker
// misses those, which says nothing about the platform over time (the other limits stay as published).
const SLACK = { limits: { timeoutMs: 5_000 } };
const helloDir = (version) => pluginDir('soak/hello', version, { from: 'hello', set: SLACK });
const spinWasm = Buffer.from(wabt.parseWat('spin.wat', readFileSync(join(root, 'test', 'hostile', 'infinite-loop-handler.wat'), 'utf8')).toBinary({}).buffer);

// --- the platform -----------------------------------------------------------------------------------
const namespace = testNamespace('soak');
const db = await createTestDatabase('soak');
const bootstrapToken = randomBootstrapToken();
let platform;
let tornDown;
const tearDown = () =>
  (tornDown ??= (async () => {
    await platform?.stop();
    await removeNamespace(namespace, NATS_URL);
    await db.drop();
    page.close();
    spanSink.close();
    if (platform) writeServiceOutput(platform.logs());
    for (const entry of readdirSync(work)) if (entry !== 'services') rmSync(join(work, entry), { recursive: true, force: true });
  })());

// The platform's output (`forgeone up --json` prints its own lines and the services' on stderr) split by instance:
// a JSON line by its logger's name (both sandbox-runners log as sandbox-runner), any other line by the
// `[instance] ` prefix the supervisor puts on it; the rest (the harness's own lines) in platform.log.
const stderrFiles = new Map(); // instance -> path of its non-JSON output
function writeServiceOutput(text) {
  const files = new Map();
  const add = (file, line) => (files.get(file) ?? files.set(file, []).get(file)).push(line);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const prefixed = /^\[([a-z0-9-]+)\] /.exec(line);
    if (prefixed) {
      add(`${prefixed[1]}.stderr.log`, line.slice(prefixed[0].length));
      stderrFiles.set(prefixed[1], join(outputDir, `${prefixed[1]}.stderr.log`));
      continue;
    }
    let name;
    try {
      name = JSON.parse(line).name;
    } catch {
      name = undefined;
    }
    add(typeof name === 'string' && /^[a-z0-9-]+$/.test(name) ? `${name}.log` : 'platform.log', line);
  }
  for (const [file, lines] of files) writeFileSync(join(outputDir, file), `${lines.join('\n')}\n`);
}
// Without the lines Node prints for each diagnostic report the sampler asks for, and blank lines.
const tailOf = (path, lines) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^(Writing Node\.js report to file: |Node\.js report completed$)/.test(line))
    .slice(-lines);
cleanUpOnInterrupt(tearDown);

const samples = []; // { at, minute, service, rssBytes, heapUsedBytes, heapTotalBytes }
const outcomes = new Map(); // `${client}\t${expected|unexpected}\t${status} ${code}` -> count
const unexpectedExamples = [];
const restartsSeen = [];
const serviceLog = [];
// Set when the load starts (after the platform is up and the plugins are installed).
let started = Date.now();
const record = (client, expected, ok, status, code, message) => {
  const kind = ok ? 'ok' : expected ? 'caused by the load' : 'not caused by the load';
  const key = `${client}\t${kind}\t${ok ? '' : `${status} ${code ?? ''}`.trim()}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  if (!ok && !expected && unexpectedExamples.length < 50) unexpectedExamples.push({ client, atSecond: Math.round((Date.now() - started) / 1000), status, code, message });
};

try {
  platform = await startTestPlatform({
    namespace,
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    bootstrapToken,
    timeoutMs: 180_000,
    env: {
      FORGEONE_SANDBOX_RUNNERS: String(RUNNERS),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${spanPort}`,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${reports} --report-compact`.trim(),
    },
  });
  const api = platform.apiUrl;
  const cli = async (...argv) => {
    const run = await runCli(api, argv, { token: bootstrapToken, cwd: work, env: { XDG_CONFIG_HOME: join(work, 'config') } });
    if (run.code !== 0) throw new Error(`forgeone ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run;
  };
  const services = Object.entries(platform.pids);
  // A service the supervisor restarts comes back with another pid: found again among the supervisor's children by
  // its command line and runner identity, and the restart counted as an error the load did not cause.
  const identityOf = (pid) => {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((arg) => arg.endsWith('/dist/main.js'));
    const runnerId = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((kv) => kv.startsWith('FORGEONE_RUNNER_ID='));
    return `${cmdline} ${runnerId ?? ''}`;
  };
  const parentOf = (pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const supervisor = parentOf(services[0][1]);
  const identities = new Map(services.map(([service, pid]) => [service, identityOf(pid)]));
  const current = new Map(services);
  const restarts = [];
  const pidOf = (service) => {
    const pid = current.get(service);
    try {
      if (parentOf(pid) === supervisor && identityOf(pid) === identities.get(service)) return pid;
    } catch {
      // gone: look for its successor
    }
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        if (parentOf(Number(entry)) === supervisor && identityOf(Number(entry)) === identities.get(service)) {
          current.set(service, Number(entry));
          restarts.push({ service, atSecond: Math.round((Date.now() - started) / 1000), oldPid: pid, newPid: Number(entry) });
          record(`supervisor (${service} restarted)`, false, false, 0, 'RESTARTED', `pid ${pid} → ${entry}`);
          return Number(entry);
        }
      } catch {
        // a process that ended while we looked
      }
    }
    throw Object.assign(new Error(`${service} (pid ${pid}) is gone and not restarted yet`), { code: 'ESRCH' });
  };
  console.log(`platform up: ${services.map(([name, pid]) => `${name} ${pid}`).join(', ')}`);

  // Setup: hello (upgraded under load), counter (kv), fetcher (http to the local page), spin (fuel), cycle (install/remove).
  let helloVersion = 0;
  await cli('plugin', 'publish', helloDir(`1.0.${helloVersion}`));
  await cli('plugin', 'install', `soak/hello@1.0.${helloVersion}`, '--env', ENVIRONMENT);
  await cli('plugin', 'publish', pluginDir('soak/counter', '1.0.0', { from: 'counter', set: SLACK }));
  await cli('plugin', 'install', 'soak/counter@1.0.0', '--env', ENVIRONMENT);
  // The platform administrator may allow a private address (the local page) at publish.
  await cli('plugin', 'publish', pluginDir('soak/fetcher', '1.0.0', { from: 'fetcher', set: { ...SLACK, capabilities: { http: { allow: [`127.0.0.1:${pagePort}`] } } } }));
  await cli('plugin', 'install', 'soak/fetcher@1.0.0', '--env', ENVIRONMENT);
  const spinManifest = { handlers: ['run'], capabilities: {}, limits: { memoryMiB: 1, fuel: 100_000, timeoutMs: 5_000, maxOutputBytes: 1024 }, tests: [], description: 'never returns: runs out of fuel' };
  await cli('plugin', 'publish', pluginDir('soak/spin', '1.0.0', { from: 'hello', set: spinManifest }, spinWasm));
  await cli('plugin', 'install', 'soak/spin@1.0.0', '--env', ENVIRONMENT);
  await cli('plugin', 'publish', helloPluginCopy(work, 'soak/cycle', '1.0.0'));
  const auditor = await createTokenWithCli(api, bootstrapToken, { principal: 'soak-auditor', role: 'auditor' });
  console.log(`set up in ${((Date.now() - started) / 1000).toFixed(0)} s (load ${loadavg()[0].toFixed(1)}); load runs for ${MINUTES} min`);
  started = Date.now();

  // --- load ---------------------------------------------------------------------------------------
  const request = async (method, path, token, body) => {
    try {
      const response = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, json, code: json?.error?.code, message: json?.error?.message ?? (json === undefined ? text.slice(0, 200) : undefined) };
    } catch (error) {
      return { status: 0, code: error.cause?.code ?? error.name, message: error.message };
    }
  };
  const call = (plugin, handler, input, token = bootstrapToken) => request('POST', `/v1/environments/${ENVIRONMENT}/plugins/${plugin}/calls/${handler}`, token, { input });
  const deadline = started + MINUTES * 60_000;
  let running = true;
  const loop = async (pauseMs, step) => {
    for (let n = 0; running && Date.now() < deadline; n++) {
      await step(n);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pauseMs, deadline - Date.now()))));
    }
  };
  const loops = [
    ...['hello-1', 'hello-2'].map((client) =>
      loop(50, async (n) => {
        const r = await call('soak/hello', 'greet', `n${n}`);
        record(client, false, r.status === 200 && r.json?.output === `hello, n${n}`, r.status, r.code, r.message);
      }),
    ),
    loop(100, async (n) => {
      const r = await call('soak/counter', 'increment', `c${n % 50}`);
      record('counter (kv)', false, r.status === 200 && /^\d+$/.test(String(r.json?.output)), r.status, r.code, r.message ?? JSON.stringify(r.json));
    }),
    loop(200, async (n) => {
      const r = await call('soak/fetcher', 'fetch', `http://127.0.0.1:${pagePort}/page-${n}`);
      let ok = false;
      try {
        ok = r.status === 200 && JSON.parse(r.json.output).status === 200;
      } catch {
        ok = false;
      }
      record('fetcher (http)', false, ok, r.status, r.code, r.message ?? JSON.stringify(r.json));
    }),
    loop(500, async () => {
      const r = await call('soak/hello', 'greet', 'intruder', auditor.token);
      // The refusal is the point: only AUTHZ.DENIED counts as caused by the load.
      record('auditor (denied)', r.code === 'AUTHZ.DENIED', false, r.status, r.code ?? (r.status === 200 ? 'ALLOWED' : undefined), r.message);
    }),
    loop(1_000, async () => {
      const r = await call('soak/spin', 'run', 'x');
      record('spin (fuel violation)', r.code === 'SANDBOX.FUEL_EXHAUSTED', false, r.status, r.code ?? (r.status === 200 ? 'RETURNED' : undefined), r.message);
    }),
    loop(1_000, async () => {
      const r = await request('GET', '/v1/plugins', bootstrapToken);
      record('reader (plugin list)', false, r.status === 200, r.status, r.code, r.message);
    }),
    loop(30_000, async () => {
      const version = `1.0.${helloVersion + 1}`;
      for (const [what, args] of [
        ['publish', ['plugin', 'publish', helloDir(version)]],
        ['upgrade', ['plugin', 'upgrade', `soak/hello@${version}`, '--env', ENVIRONMENT]],
      ]) {
        const run = await runCli(api, [...args, '--json'], { token: bootstrapToken, cwd: work, env: { XDG_CONFIG_HOME: join(work, 'config') } });
        record(`publisher (${what})`, false, run.code === 0, run.code, run.code === 0 ? undefined : 'CLI', run.stderr.slice(0, 300));
        if (run.code !== 0) return;
      }
      helloVersion++;
      rmSync(join(work, `soak-hello-${version}`), { recursive: true, force: true });
    }),
    loop(20_000, async (n) => {
      const args = n % 2 === 0 ? ['plugin', 'install', 'soak/cycle@1.0.0', '--env', ENVIRONMENT] : ['plugin', 'remove', 'soak/cycle', '--env', ENVIRONMENT];
      const run = await runCli(api, [...args, '--json'], { token: bootstrapToken, cwd: work, env: { XDG_CONFIG_HOME: join(work, 'config') } });
      record(`installer (${args[1]})`, false, run.code === 0, run.code, run.code === 0 ? undefined : 'CLI', run.stderr.slice(0, 300));
    }),
  ];

  // --- memory sampling --------------------------------------------------------------------------
  const rssOf = (pid) => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const heapOf = async (pid) => {
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const file = readdirSync(reports).find((f) => f.includes(`.${pid}.`));
      if (!file) continue;
      try {
        const report = JSON.parse(readFileSync(join(reports, file), 'utf8'));
        rmSync(join(reports, file));
        return { used: report.javascriptHeap.usedMemory, total: report.javascriptHeap.totalMemory };
      } catch {
        // still being written
      }
    }
    throw new Error(`no diagnostic report from pid ${pid} within 5 s`);
  };
  const sampler = (async () => {
    while (running && Date.now() < deadline) {
      const at = Date.now();
      const minute = Math.floor((at - started) / 60_000);
      for (const [service] of services) {
        try {
          const pid = pidOf(service);
          const heap = await heapOf(pid);
          samples.push({ atSecond: Math.round((at - started) / 1000), minute, service, pid, rssBytes: rssOf(pid), heapUsedBytes: heap.used, heapTotalBytes: heap.total });
        } catch (error) {
          record(`memory sampler (${service})`, false, false, 0, error.code ?? 'NO_SAMPLE', error.message);
        }
      }
      const tally = [...outcomes.entries()].reduce((acc, [key, count]) => ((acc[key.split('\t')[1]] = (acc[key.split('\t')[1]] ?? 0) + count), acc), {});
      const last = services.map(([service]) => samples.findLast((s) => s.service === service)).filter(Boolean).map((s) => `${s.service} ${(s.rssBytes / 2 ** 20).toFixed(0)}/${(s.heapUsedBytes / 2 ** 20).toFixed(0)}`);
      console.log(`[${((at - started) / 60_000).toFixed(1)} min, load ${loadavg()[0].toFixed(1)}] RSS/heap MiB: ${last.join(', ')} | ${JSON.stringify(tally)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_SECONDS * 1000 - (Date.now() - at))));
    }
  })();
  await Promise.all([...loops, sampler]);
  running = false;
  restartsSeen.push(...restarts);
  // What the services logged at error level or above, and the supervisor's restarts (messages only: no fields).
  for (const line of platform.logs().split('\n')) {
    try {
      const entry = JSON.parse(line);
      // The insecure-NATS warning is the test NATS's deliberate setting, printed once per service at start.
      if (String(entry.msg).startsWith('FORGEONE_NATS_INSECURE=1')) continue;
      if (['error', 'fatal'].includes(entry.level) || /restart/.test(entry.msg ?? '')) serviceLog.push({ time: entry.time, service: entry.service ?? entry.name, level: entry.level, msg: String(entry.msg).slice(0, 500) });
    } catch {
      // not a JSON log line
    }
  }
} finally {
  await tearDown();
}

// --- report -----------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
if (samples.length === 0 || outcomes.size === 0) throw new Error(`the soak measured nothing (${samples.length} memory samples, ${outcomes.size} kinds of outcome)`);
const mib = (bytes) => Number((bytes / 2 ** 20).toFixed(1));
const serviceNames = [...new Set(samples.map((s) => s.service))];
const lastMinute = Math.max(...samples.map((s) => s.minute));
const perMinute = serviceNames.map((service) => {
  const minutes = [];
  for (let minute = 0; minute <= lastMinute; minute++) {
    const of = samples.filter((s) => s.service === service && s.minute === minute);
    if (of.length) minutes.push({ minute, rssMiB: mib(median(of.map((s) => s.rssBytes))), heapUsedMiB: mib(median(of.map((s) => s.heapUsedBytes))), heapFloorMiB: mib(Math.min(...of.map((s) => s.heapUsedBytes))), heapTotalMiB: mib(median(of.map((s) => s.heapTotalBytes))) });
  }
  // Growth compares two windows of WINDOW_MINUTES: the first after warm-up and the last. RSS is the median of a
  // window's samples; heap is its lowest sample, the floor of the collector's sawtooth (the live heap, near
  // enough), since a single sample also counts garbage not yet collected.
  const last = minutes[minutes.length - 1].minute;
  const start = Math.min(SETTLED_MINUTE, last);
  const window = (fromMinute, toMinute) => {
    const of = samples.filter((s) => s.service === service && s.minute >= fromMinute && s.minute <= toMinute);
    return { minutes: fromMinute === toMinute ? String(fromMinute) : `${fromMinute}–${toMinute}`, rssMiB: mib(median(of.map((s) => s.rssBytes))), heapUsedMiB: mib(Math.min(...of.map((s) => s.heapUsedBytes))) };
  };
  const from = window(start, Math.min(start + WINDOW_MINUTES - 1, last));
  const to = window(Math.max(start, last - WINDOW_MINUTES + 1), last);
  const growth = (key) => Number(((to[key] / from[key] - 1) * 100).toFixed(1));
  return { service, minutes, from, to, rssGrowthPercent: growth('rssMiB'), heapUsedGrowthPercent: growth('heapUsedMiB'), peakRssMiB: Math.max(...minutes.map((m) => m.rssMiB)) };
});
const tallies = [...outcomes.entries()].map(([key, count]) => {
  const [client, kind, outcome] = key.split('\t');
  return { client, kind, outcome: outcome || 'ok', count };
});
const sum = (kind) => tallies.filter((t) => t.kind === kind).reduce((a, t) => a + t.count, 0);
const errors = { ok: sum('ok'), causedByLoad: sum('caused by the load'), notCausedByLoad: sum('not caused by the load') };

console.log('\nMemory per minute (median of the samples in each minute; heap: lowest sample)');
printTable(['service', ...Array.from({ length: lastMinute + 1 }, (_, m) => `${m}`)], perMinute.map((p) => [p.service, ...Array.from({ length: lastMinute + 1 }, (_, m) => { const x = p.minutes.find((v) => v.minute === m); return x ? `${x.rssMiB}/${x.heapFloorMiB}` : '–'; })]));
console.log(`\nGrowth from minutes ${perMinute[0]?.from.minutes} to minutes ${perMinute[0]?.to.minutes} (RSS: median of the window's samples; heap used: the window's lowest sample)`);
printTable(
  ['service', 'RSS MiB first', 'RSS MiB last', 'RSS growth %', 'heap floor MiB first', 'heap floor MiB last', 'heap growth %', 'peak RSS MiB'],
  perMinute.map((p) => [p.service, p.from.rssMiB, p.to.rssMiB, p.rssGrowthPercent, p.from.heapUsedMiB, p.to.heapUsedMiB, p.heapUsedGrowthPercent, p.peakRssMiB]),
);
console.log('\nOutcomes by client');
printTable(['client', 'kind', 'outcome', 'count'], tallies.sort((a, b) => a.client.localeCompare(b.client) || b.count - a.count).map((t) => [t.client, t.kind, t.outcome, t.count]));
for (const example of unexpectedExamples.slice(0, 10)) console.log(`unexpected: ${JSON.stringify(example)}`);
for (const restart of restartsSeen) console.log(`restart: ${JSON.stringify(restart)}`);
// Why a restarted service ended: the last lines it wrote on stderr (a V8 fatal error prints its reason and stack there).
const crashes = [...new Set(restartsSeen.map((r) => r.service))].map((service) => ({ service, stderrTail: stderrFiles.has(service) ? tailOf(stderrFiles.get(service), 40) : [] }));
for (const { service, stderrTail } of crashes) {
  console.log(`${service}: the last ${stderrTail.length} lines of its stderr${stderrTail.length ? ':' : ' (it wrote none)'}`);
  for (const line of stderrTail) console.log(`  | ${line}`);
}
console.log(`every service's output: ${outputDir}`);
console.log(`${serviceLog.length} service log lines at error level or about restarts${serviceLog.length ? ', the first:' : ''}`);
for (const entry of serviceLog.slice(0, 10)) console.log(`  ${JSON.stringify(entry)}`);
const grown = perMinute.filter((p) => p.rssGrowthPercent > 10 || p.heapUsedGrowthPercent > 10);
console.log(`\ntarget: no service grows by more than 10 % after minute ${SETTLED_MINUTE}: ${grown.length === 0 ? 'met' : `not met (${grown.map((p) => p.service).join(', ')})`}`);
console.log(`target: no error the load did not cause: ${errors.notCausedByLoad === 0 ? 'met' : `not met (${errors.notCausedByLoad})`}`);
console.log(`(${errors.ok} requests answered as expected, ${errors.causedByLoad} refusals the load caused on purpose; ${pageHits} page fetches served; ${spanExports} span exports, ${(spanBytes / 2 ** 20).toFixed(1)} MiB)`);

await writeResults(
  'soak',
  {
    nats: redactNatsUrl(NATS_URL),
    minutes: MINUTES,
    runners: RUNNERS,
    sampleSeconds: SAMPLE_SECONDS,
    settledMinute: SETTLED_MINUTE,
    settings: { tracing: 'on (OTLP/HTTP to a discarding sink)', metrics: 'on', callRecording: 'window summaries (as shipped)' },
    memory: perMinute,
    outcomes: tallies,
    errors,
    unexpectedExamples,
    restarts: restartsSeen,
    crashes,
    serviceLog: serviceLog.slice(0, 200),
    pageFetches: pageHits,
    spanExports,
    spanMiB: mib(spanBytes),
  },
  soakReport(perMinute, errors, { minutes: MINUTES, runners: RUNNERS, settledMinute: SETTLED_MINUTE }),
);
process.exit(grown.length === 0 && errors.notCausedByLoad === 0 ? 0 : 1);
