// The runner-scaling mode of bench/invoke-bus.bench.mjs (`--runners 2`): forgeone.invoke of hello greet at 1, 16
// and 64 calls in flight on a platform with 1, then 2, ... sandbox-runners, each against raw NATS request/reply
// at the same concurrency, with the CPU time every process spent on each batch (utime + stime from
// /proc/<pid>/stat: the services, the nats-server, the echo responder and this client). A private nats-server
// carries only this bench's traffic, so its CPU time is this bench's.
//
// Tracing off (no exporter, as in the bench's other modes), metrics on (each service's /metrics on its own port,
// not scraped), call recording as shipped (window summaries). Writes bench/results/invoke-bus-scaling.json.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cleanUpOnInterrupt, latencyStats, printTable, repoRoot as root, sampleAsync, sig3, waitFor, writeResults } from './bench-kit.mjs';

const CONCURRENCIES = [1, 16, 64];
const PLUGIN = 'forgeone/hello';
const ENVIRONMENT = 'staging';
// Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere that matters).
const TICKS = 100;

/** utime + stime of a process in ms, or undefined when it is gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return undefined;
  }
}

export async function runInvokeBusScaling({ n, warmup, maxRunners }) {
  const { createTestDatabase, removeNamespace, runCli, startPrivateNats, startTestPlatform, testNamespace, randomBootstrapToken } = await import('../libs/test-harness/dist/index.js');
  const { names: namesFor } = await import('@forgeone/contracts');
  const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const body = encoder.encode(JSON.stringify({ handler: 'greet', input: 'world' }));
  const nats = await startPrivateNats();
  const db = await createTestDatabase('bench');
  const nc = await connect({ servers: nats.url, name: 'invoke-bus-scaling' });
  const echoSubject = 'bench.echo';
  const responder = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { connect } from '@nats-io/transport-node'; const nc = await connect({ servers: process.env.NATS_URL }); nc.subscribe('${echoSubject}', { callback: (_e, m) => m.respond(m.data) }); setInterval(() => undefined, 60_000);`],
    { cwd: root, env: { PATH: process.env.PATH, NATS_URL: nats.url }, stdio: 'ignore' },
  );
  let platform;
  const namespaces = [];
  let tornDown;
  const tearDown = () =>
    (tornDown ??= (async () => {
      responder.kill('SIGTERM');
      await platform?.stop();
      for (const namespace of namespaces) await removeNamespace(namespace, nats.url).catch(() => undefined);
      await nc.close().catch(() => undefined);
      await db.drop();
      await nats.remove();
    })());
  cleanUpOnInterrupt(tearDown);

  const echo = async () => {
    if ((await nc.request(echoSubject, body, { timeout: 5_000 })).data.length !== body.length) throw new Error('the echo answered another payload');
  };
  const rows = [];
  try {
    await waitFor('the echo responder', async () => (await echo(), true));
    for (let runners = 1; runners <= maxRunners; runners++) {
      const namespace = testNamespace('bench-scale');
      namespaces.push(namespace);
      const bootstrapToken = randomBootstrapToken();
      platform = await startTestPlatform({ namespace, databaseUrl: db.url, natsUrl: nats.url, bootstrapToken, timeoutMs: 180_000, env: { OTEL_TRACES_EXPORTER: 'none', FORGEONE_SANDBOX_RUNNERS: String(runners) } });
      for (const argv of [['plugin', 'publish', join(root, 'examples', 'plugins', 'hello')], ['plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT]]) {
        const run = await runCli(platform.apiUrl, argv, { token: bootstrapToken });
        if (run.code !== 0) throw new Error(`forgeone ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
      }
      const subject = namesFor(namespace).invoke(ENVIRONMENT, PLUGIN);
      const hdrs = natsHeaders();
      hdrs.set('Authorization', `Bearer ${bootstrapToken}`);
      const failures = {};
      const invoke = async () => {
        const reply = JSON.parse(decoder.decode((await nc.request(subject, body, { headers: hdrs, timeout: 10_000 })).data));
        if (reply.error !== undefined) failures[reply.error.code] = (failures[reply.error.code] ?? 0) + 1;
        else if (reply.output !== 'hello, world') throw new Error(`invoke did not greet: ${JSON.stringify(reply)}`);
      };
      await waitFor('every sandbox-runner', async () => (await invoke(), Object.keys(failures).length === 0));
      // Enough warm-up calls that every runner has loaded hello and its workers are warm (calls spread by the queue group).
      await sampleAsync(warmup * runners, 16, invoke);
      for (const key of Object.keys(failures)) delete failures[key];

      const processes = { ...platform.pids, 'nats-server': nats.pid, 'echo responder': responder.pid, 'bench client': process.pid };
      const measure = async (fn, concurrency) => {
        const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)]));
        const { latenciesNs, elapsedNs } = await sampleAsync(n, concurrency, fn);
        const wallMs = Number(elapsedNs) / 1e6;
        const cpu = {};
        for (const [name, pid] of Object.entries(processes)) {
          const after = cpuMs(pid);
          if (after !== undefined && before[name] !== undefined) cpu[name] = Number((after - before[name]).toFixed(0));
        }
        const totalCpuMs = Object.values(cpu).reduce((a, b) => a + b, 0);
        return { ...latencyStats(latenciesNs, elapsedNs), wallMs: Number(wallMs.toFixed(0)), cpuMs: cpu, cpuUsPerCall: Number(((totalCpuMs * 1000) / n).toFixed(0)), coresBusy: Number((totalCpuMs / wallMs).toFixed(2)), load: Number(loadavg()[0].toFixed(1)) };
      };
      for (const concurrency of CONCURRENCIES) {
        const raw = await measure(echo, concurrency);
        const call = await measure(invoke, concurrency);
        rows.push({ runners, concurrency, raw, invoke: call, failures: { ...failures }, throughputVsRaw: Number((call.perSecond / raw.perSecond).toFixed(3)) });
        for (const key of Object.keys(failures)) delete failures[key];
        console.log(`${runners} runner(s), ${concurrency} in flight: ${call.perSecond} calls/s (raw ${raw.perSecond}/s), p50 ${call.p50Us} µs, ${call.coresBusy} cores busy, load ${call.load}`);
      }
      await platform.stop();
      platform = undefined;
    }
  } finally {
    await tearDown();
  }

  // --- report ---------------------------------------------------------------------------------------
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.invoke.cpuMs)))];
  printTable(
    ['runners', 'in flight', 'calls/s', 'p50 µs', 'p99 µs', 'raw calls/s', 'throughput × raw', 'failed', 'CPU µs per call (all)', 'cores busy', 'load'],
    rows.map((r) => [r.runners, r.concurrency, r.invoke.perSecond, r.invoke.p50Us, r.invoke.p99Us, r.raw.perSecond, r.throughputVsRaw, Object.entries(r.failures).map(([c, k]) => `${k} ${c}`).join(', ') || '0', r.invoke.cpuUsPerCall, r.invoke.coresBusy, r.invoke.load]),
  );
  console.log('\nWhere the cores go: CPU µs per call by process (forgeone.invoke batches)');
  printTable(
    ['runners', 'in flight', ...names],
    rows.map((r) => [r.runners, r.concurrency, ...names.map((name) => (r.invoke.cpuMs[name] === undefined ? '' : Math.round((r.invoke.cpuMs[name] * 1000) / r.invoke.n)))]),
  );
  const scaling = CONCURRENCIES.map((concurrency) => {
    const one = rows.find((r) => r.runners === 1 && r.concurrency === concurrency);
    const most = rows.find((r) => r.runners === maxRunners && r.concurrency === concurrency);
    return { concurrency, oneRunner: one.invoke.perSecond, runners: maxRunners, perSecond: most.invoke.perSecond, ratio: Number((most.invoke.perSecond / one.invoke.perSecond).toFixed(2)) };
  });
  for (const s of scaling) console.log(`${s.concurrency} in flight: ${s.runners} runners ${s.perSecond} calls/s against 1 runner ${s.oneRunner} calls/s (× ${s.ratio})`);

  const cpuText = (r) =>
    Object.entries(r.invoke.cpuMs)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => `${name} ${Math.round((ms * 1000) / r.invoke.n)}`)
      .join(', ');
  await writeResults(
    'invoke-bus-scaling',
    {
      nats: 'private nats-server (this bench only)',
      settings: { tracing: 'off (no exporter)', metrics: 'on', callRecording: 'window summaries (as shipped)' },
      n,
      concurrencies: CONCURRENCIES,
      results: rows,
      scaling,
    },
    rows
      .filter((r) => r.runners === maxRunners)
      .map((r) => {
        const one = rows.find((x) => x.runners === 1 && x.concurrency === r.concurrency);
        return {
          what: `forgeone.invoke hello greet, ${r.concurrency} in flight, ${maxRunners} runners against 1, calls/s (tracing off, metrics on, window summaries; load ${one.invoke.load}/${r.invoke.load}); CPU µs per call with ${maxRunners}: ${cpuText(r)}`,
          baseline: `1 runner ${one.invoke.perSecond}/s (${sig3(one.throughputVsRaw)}× raw NATS)`,
          measured: `${r.invoke.perSecond}/s (${sig3(r.throughputVsRaw)}× raw NATS)`,
          ratio: sig3(r.invoke.perSecond / one.invoke.perSecond),
          target: null,
          met: null,
        };
      }),
  );
}
