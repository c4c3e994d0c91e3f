#!/usr/bin/env node
// SIEM forwarding to a real rsyslog (our own rsyslogd on a free port, plain TCP, never the system one).
//  1. Throughput: events rendered (CEF in RFC 5424, octet-counted) and delivered by the forwarder's
//     SyslogTransport, against a raw baseline: the same pre-rendered frames written to the same kind of
//     connection to the same rsyslog. Every round counts until rsyslog has written its last line. The
//     raw baseline drifts a lot between runs (rsyslog and the machine), so one run alternates rounds,
//     raw first and last (raw, forwarder, raw, ..., raw), and each forwarder round is compared with the
//     mean of the raw rounds just before and after it. A run's ratio is its worst round. Beside the
//     rates, the CPU time per event of this process (rendering and writing, or writing alone) and of
//     rsyslogd in each kind of round: what the load on a shared machine distorts far less than rates.
//  2. Delivery delay: the built siem-forwarder reading the stream of a fresh namespace on the test NATS
//     while events are appended at a steady 1,000/s; delay = rsyslog's receipt time − the event's time.
// Targets: throughput ≥ 0.5× the baseline in every round; delay p99 < 1 s at 1,000 events/s.
// Needs NATS on 127.0.0.1:4222, PostgreSQL on 127.0.0.1:5432 and a build (`npm run build`).
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, percentiles, printTable, sig3, writeResults } from './bench-kit.mjs';
import { siemReport } from './report-rows.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' }, rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '15' } } });
const N = Number(values.events);
const ROUNDS = Number(values.rounds);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const TARGETS = { throughputVsRaw: 0.5, delayP99Ms: 1000 };

const { SyslogTransport } = await import('@forgeone/siem');
const harness = await import('@forgeone/test-harness');
const { names: namesFor } = await import('@forgeone/contracts');
const { connect } = await import('@nats-io/transport-node');

const dir = mkdtempSync(join(tmpdir(), 'forgeone-siem-bench-'));
const cleanups = [];
const cleanup = async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
};
cleanUpOnInterrupt(cleanup);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const event = (i, tenant = 'bench') => ({
  specversion: '1.0',
  id: randomUUID(),
  source: '/forgeone/registry',
  type: 'io.forgeone.plugin.rolled_back.v1',
  subject: `${tenant}:acme/hello`,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data: { name: 'acme/hello', fromVersion: '2.0.0', version: '1.0.0', digest: DIGEST, environment: 'staging', reason: `rollback ${i}: p99 | a=b \\ x` },
  actor: 'alice',
  tenant,
  schemaversion: '1',
});

async function until(check, what, timeoutMs = 120_000, pollMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

// Lines rsyslog has written so far, counted from the bytes appended since the last look: re-reading and
// splitting the whole file on every poll cost the benchmark's own thread more than the forwarder's rendering.
function lineCounter(file) {
  let fd;
  let offset = 0;
  let lines = 0;
  const chunk = Buffer.allocUnsafe(1 << 20);
  const count = () => {
    if (fd === undefined) {
      try {
        fd = openSync(file, 'r');
      } catch {
        return 0; // rsyslog creates the file with its first line
      }
    }
    while (offset < fstatSync(fd).size) {
      const read = chunk.subarray(0, readSync(fd, chunk, 0, chunk.length, offset));
      if (read.length === 0) break;
      for (let i = read.indexOf(10); i !== -1; i = read.indexOf(10, i + 1)) lines++;
      offset += read.length;
    }
    return lines;
  };
  return { count, close: () => fd !== undefined && closeSync(fd) };
}

// CPU time (user + system, µs) a process has used, from /proc; undefined where /proc is not there.
function processCpuUs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return undefined;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput(run) {
  const events = Array.from({ length: N }, (_, i) => ({ sequence: i + 1, event: event(i) }));
  const BATCH = 500;
  const port = await harness.freePort();
  const rsyslog = await harness.startRsyslog({ dir: join(dir, `throughput-${run}`), port });
  cleanups.push(() => rsyslog.stop());
  const rsyslogPid = Number(readFileSync(join(dir, `throughput-${run}`, 'rsyslogd.pid'), 'utf8'));
  const target = { kind: 'syslog', host: '127.0.0.1', port, tls: false };
  const written = lineCounter(rsyslog.file);
  cleanups.push(async () => written.close());
  const linesWritten = written.count;
  let expected = 0;
  const cpu = { raw: [], forwarder: [], rsyslogRaw: [], rsyslogForwarder: [] };
  // One round: N events over a connection of its own, timed until rsyslog has written all of them.
  const round = async (send, kind) => {
    const transport = new SyslogTransport(target, 'bench');
    expected += N;
    const rsyslogBefore = processCpuUs(rsyslogPid);
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += BATCH) await send(transport, i, events.slice(i, i + BATCH));
    // A short poll: a round lasts a few hundred ms, and a 20 ms step would be several percent of it.
    await until(() => linesWritten() >= expected, `${expected} lines at rsyslog`, 120_000, 2);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpuBefore);
    const rsyslogAfter = processCpuUs(rsyslogPid);
    await transport.close();
    if (kind) {
      cpu[kind].push((used.user + used.system) / N);
      if (rsyslogBefore !== undefined && rsyslogAfter !== undefined) cpu[kind === 'raw' ? 'rsyslogRaw' : 'rsyslogForwarder'].push((rsyslogAfter - rsyslogBefore) / N);
    }
    return Math.round(N / seconds);
  };
  // The baseline writes frames rendered before its clock starts, over the same transport code path.
  const renderer = new SyslogTransport({ ...target, port: 1 }, 'bench');
  const rendered = [];
  for (let i = 0; i < events.length; i += BATCH) rendered.push(renderer.render(events.slice(i, i + BATCH)));
  const raw = (t, i) => t.writeFrames(rendered[i / BATCH]);
  const forwarder = (t, _i, batch) => t.deliver(batch);
  // Not counted: rsyslog's first writes to a new file and the first connections warm up.
  await round(forwarder);
  await round(raw);
  const loadBefore = Number(loadavg()[0].toFixed(2));
  const rawPerSecond = [await round(raw, 'raw')];
  const forwardedPerSecond = [];
  for (let k = 0; k < ROUNDS; k++) {
    forwardedPerSecond.push(await round(forwarder, 'forwarder'));
    rawPerSecond.push(await round(raw, 'raw'));
  }
  const loadAfter = Number(loadavg()[0].toFixed(2));
  // Nothing lost or doubled on the way: exactly every round's lines, once.
  await new Promise((r) => setTimeout(r, 200));
  if (linesWritten() !== expected) throw new Error(`rsyslog wrote ${linesWritten()} lines, ${expected} were sent`);
  await rsyslog.stop();
  const ratios = forwardedPerSecond.map((f, k) => sig3(f / ((rawPerSecond[k] + rawPerSecond[k + 1]) / 2)));
  // Medians over the rounds of each kind, µs of CPU per event (rsyslogd's from clock ticks: 10 ms steps).
  const cpuUsPerEvent = Object.fromEntries(Object.entries(cpu).filter(([, xs]) => xs.length > 0).map(([kind, xs]) => [kind, sig3(median(xs))]));
  return { rawPerSecond, forwardedPerSecond, ratios, throughputVsRaw: Math.min(...ratios), load: [loadBefore, loadAfter], cpuUsPerEvent };
}

async function delay(run) {
  const namespace = harness.testNamespace('siembench');
  const names = namesFor(namespace);
  await harness.provisionTestStorage(namespace);
  cleanups.push(() => harness.removeNamespace(namespace));
  const db = await harness.createTestDatabase('siembench');
  cleanups.push(() => db.drop());
  const writers = harness.createTestEventWriters();
  const nc = await connect({ servers: harness.TEST_NATS_URL });
  cleanups.push(() => nc.close());
  const store = writers.store(nc, names, 'registry');
  const port = await harness.freePort();
  const rsyslog = await harness.startRsyslog({ dir: join(dir, `delay-${run}`), port, stampReceipt: true });
  cleanups.push(() => rsyslog.stop());
  const forwarder = harness.spawnService('siem-forwarder', {
    NATS_URL: harness.TEST_NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    DATABASE_URL: db.url,
    FORGEONE_SERVICE_KEY: randomBytes(32).toString('hex'),
    FORGEONE_SIEM_SYSLOG_URL: `tcp://127.0.0.1:${port}`,
    ...writers.env('siem-forwarder'),
  });
  cleanups.push(() => forwarder.stop('SIGKILL'));
  const { BusClient } = await import('@forgeone/bus');
  const bus = new BusClient(nc, names);
  await until(() => bus.checkHealth('siem-forwarder').then((h) => h.ready).catch(() => false), `siem-forwarder ready\n${forwarder.output()}`, 60_000);
  // A steady rate: every 10 ms the events due by then, appended together (one signed batch).
  const total = RATE * SECONDS;
  const times = new Map();
  const started = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
    if (due > sent) {
      const batch = Array.from({ length: due - sent }, (_, k) => {
        const e = event(sent + k);
        return { id: e.id, type: e.type, data: e.data, time: new Date().toISOString(), actor: e.actor, tenant: e.tenant };
      });
      await store.append('plugin', 'bench:acme/hello', batch, { expectedSequence: 'any' });
      for (const e of batch) times.set(e.id, Date.parse(e.time));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const achievedRate = Math.round(total / ((Date.now() - started) / 1000));
  await until(() => rsyslog.lines().length >= total, `${total} lines at rsyslog`);
  const delaysUs = [];
  for (const line of rsyslog.lines()) {
    const at = line.slice(0, line.indexOf(' '));
    const id = /eventId="([^"]+)"/.exec(line)?.[1];
    if (id && times.has(id)) delaysUs.push((Date.parse(at) + Number(/\.\d{3}(\d{3})/.exec(at)?.[1] ?? 0) / 1000 - times.get(id)) * 1000);
  }
  const p = percentiles(delaysUs);
  return { steadyRate: RATE, achievedRate, delivered: delaysUs.length, delayP50Ms: sig3(p.p50Us / 1000), delayP99Ms: sig3(p.p99Us / 1000), delayMaxMs: sig3(Math.max(...delaysUs) / 1000) };
}

try {
  const t = await throughput(1);
  const d = await delay(1);
  const run = { ...t, ...d };
  printTable(
    ['path', 'value'],
    [
      ['raw frames to rsyslog, events/s, rounds', run.rawPerSecond.join(' ')],
      ['rendered + delivered to rsyslog, events/s, rounds', run.forwardedPerSecond.join(' ')],
      ['ratio per round, to the raw rounds around it', run.ratios.join(' ')],
      ['worst round (target ≥ 0.5)', run.throughputVsRaw],
      ['CPU µs per event, this process: raw rounds / forwarder rounds (median)', `${run.cpuUsPerEvent.raw} / ${run.cpuUsPerEvent.forwarder}`],
      ['CPU µs per event, rsyslogd: raw rounds / forwarder rounds (median)', `${run.cpuUsPerEvent.rsyslogRaw ?? '-'} / ${run.cpuUsPerEvent.rsyslogForwarder ?? '-'}`],
      ['load average (1 min) before / after', run.load.join(' / ')],
      [`delay p50 / p99 / max at ${run.achievedRate}/s (target p99 < 1000 ms)`, `${run.delayP50Ms} / ${run.delayP99Ms} / ${run.delayMaxMs} ms`],
    ],
  );
  // Runs accumulate: each appends to the previous result file's runs (the report shows the spread).
  const { existsSync } = await import('node:fs');
  const file = join(harness.repoRoot(), 'bench', 'results', 'siem.json');
  const previous = existsSync(file) && process.env.SIEM_BENCH_FRESH !== '1' ? JSON.parse(readFileSync(file, 'utf8')).runs ?? [] : [];
  const runs = [...previous, run];
  await writeResults('siem', { events: N, runs }, siemReport(runs, TARGETS));
} finally {
  await cleanup();
}
