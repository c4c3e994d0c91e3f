#!/usr/bin/env node
// Benchmark: decisions per second and p50/p99 latency of `forgeone.authz.check` over NATS (the
// policy service as `npm start` runs it, on a namespace of its own), against the raw Cedar call with
// the same pre-parsed policy set and a raw NATS request/reply, all measured in the same run and
// interleaved round by round, so a drift in machine load lands on every variant alike.
//
// The questions vary: 3072 distinct ones, each a principal (its own token) of one of four
// tenants and three roles, a plugin of that tenant (classification and tags varying) and an
// environment, asking invoke, install or read; every one is an allow under the default policies.
// Each variant walks the list from its own position, so no question repeats within a batch; the
// policy service keeps no decision cache (it evaluates Cedar on every check). The policy service
// runs once per allow-recording mode (FORGEONE_AUTHZ_RECORD_ALLOWS), named in each row.
//
//   node bench/authz-check.bench.mjs [--n 3000] [--concurrency 16] [--record none,all] [--rounds 6] [--warmup 5000] [--cpu-prof DIR]
//
// --cpu-prof DIR profiles the policy services (bench/cpu-profile.preload.mjs) and writes their .cpuprofile into DIR.
// Needs a build (`npm run build`), NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222).
// Prints a table and writes bench/results/authz-check.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, latencyStats, printTable, redactNatsUrl, repoRoot as root, sampleAsync, sampleSync, waitFor, writeResults } from './bench-kit.mjs';
import { authzCheckReport } from './report-rows.mjs';

for (const built of [join('apps', 'policy', 'dist', 'main.js'), join('libs', 'authz', 'dist', 'index.js'), join('libs', 'test-harness', 'dist', 'index.js')]) {
  if (!existsSync(join(root, built))) {
    console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
    process.exit(2);
  }
}

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    record: { type: 'string', default: 'none,all' },
    warmup: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const RECORD_MODES = args.record.split(',').map((m) => m.trim()).filter(Boolean);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const cedar = await import('@cedar-policy/cedar-wasm/nodejs');
const { CedarPolicyEngine, DEFAULT_POLICIES, contextFor, entitiesFor, serviceCredential } = await import('@forgeone/authz');
const { names: namesFor } = await import('@forgeone/contracts');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');
const { createTestEventWriters, provisionTestStorage, removeNamespace, spawnService } = await import('@forgeone/test-harness');

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- the questions: principals, plugins, environments and actions that vary, all allowed ----------
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
const ROLES = ['developer', 'operator', 'release-manager'];
const PER_TENANT_ROLE = 4;
const PLUGINS_PER_TENANT = 64;
const ENVIRONMENTS = ['dev', 'test', 'qa', 'staging', 'preview', 'sandbox', 'perf'];
const CLASSIFICATIONS = ['public', 'internal', 'confidential'];
const ACTIONS = ['invoke', 'install', 'read'];

const principals = TENANTS.flatMap((tenant) =>
  ROLES.flatMap((role) => Array.from({ length: PER_TENANT_ROLE }, (_, k) => ({ id: `bench-${role}-${k}.${tenant}`, type: 'user', tenant, roles: [role] }))),
);
// Every principal with every plugin of its tenant, once; environment and action vary along.
const QUESTIONS = principals.length * PLUGINS_PER_TENANT;
const questions = Array.from({ length: QUESTIONS }, (_, i) => {
  const principal = principals[i % principals.length];
  const plugin = Math.floor(i / principals.length);
  const resource = {
    type: 'Plugin',
    id: `${principal.tenant}/plugin-${plugin}`,
    tenant: principal.tenant,
    attributes: { classification: CLASSIFICATIONS[plugin % CLASSIFICATIONS.length], tags: [`team-${plugin % 5}`, ...(plugin % 2 ? ['payments'] : [])] },
  };
  return { principal, action: ACTIONS[i % ACTIONS.length], resource, environment: ENVIRONMENTS[i % ENVIRONMENTS.length] };
});
const distinct = new Set(questions.map((q) => JSON.stringify([q.principal.id, q.action, q.resource.id, q.environment]))).size;
if (distinct !== QUESTIONS) throw new Error(`only ${distinct} of ${QUESTIONS} questions are distinct`);

/** A walker over the questions from its own starting point: each variant asks them in turn. */
function walker(start = 0) {
  let next = start;
  return () => questions[next++ % QUESTIONS];
}

// --- raw Cedar with the pre-parsed default set, in this process --------------------------------
const PRESET = `bench-${randomBytes(4).toString('hex')}`;
const preparsed = cedar.preparsePolicySet(PRESET, { staticPolicies: { ...DEFAULT_POLICIES } });
if (preparsed.type !== 'success') throw new Error(`cannot pre-parse the default policies: ${JSON.stringify(preparsed)}`);
// Raw Cedar gets its calls ready-made (uids, context and entities built beforehand): the floor.
const rawCalls = questions.map((q) => ({
  principal: { type: 'ForgeOne::User', id: q.principal.id },
  action: { type: 'ForgeOne::Action', id: q.action },
  resource: { type: 'ForgeOne::Plugin', id: q.resource.id },
  context: contextFor(q.resource, { environment: q.environment }),
  preparsedPolicySetId: PRESET,
  entities: entitiesFor(q.principal, q.resource),
}));
for (const call of rawCalls) {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== 'success' || answer.response.decision !== 'allow') throw new Error(`raw Cedar did not allow ${call.principal.id} ${call.action.id} ${call.resource.id}: ${JSON.stringify(answer)}`);
}
const engine = new CedarPolicyEngine();
engine.apply(DEFAULT_POLICIES, 1);
let rawNext = 0;
const rawCedar = () => cedar.statefulIsAuthorized(rawCalls[rawNext++ % QUESTIONS]);
const engineQuestion = walker(QUESTIONS / 2);
const engineAuthorize = () => {
  const q = engineQuestion();
  return engine.authorize({ principal: q.principal, action: q.action, resource: q.resource, context: { environment: q.environment } });
};

// CPU time (user + system) a process has used, from /proc: what a check costs the responder,
// whatever the machine's load does to latency. Undefined where /proc is not there.
function cpuNsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e9) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;


// --- NATS: a raw echo responder in its own process, then the policy service -------------------
const nc = await connect({ servers: NATS_URL, name: 'authz-check-bench' });

// The smallest possible service: parse the request, answer JSON; same process boundary as policy.
const ECHO_RESPONDER = `
import { connect } from '@nats-io/transport-node';
const nc = await connect({ servers: process.env.NATS_URL });
const decoder = new TextDecoder(), encoder = new TextEncoder();
nc.subscribe(process.env.ECHO_SUBJECT, { callback: (_e, msg) => msg.respond(encoder.encode(JSON.stringify({ echo: JSON.parse(decoder.decode(msg.data)) }))) });
await nc.flush();
process.on('SIGTERM', async () => { await nc.close(); process.exit(0); });
setInterval(() => undefined, 60_000);
`;

// What an interrupted run must still undo: the child processes it started and the namespaces' streams.
const children = new Set();
const namespaces = new Set();
cleanUpOnInterrupt(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const namespace of namespaces) await removeNamespace(namespace, NATS_URL).catch(() => undefined);
});

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The echo responder, answering once ready; its ask() sends each question's request body. */
async function startEcho() {
  const subject = `bench-${randomBytes(4).toString('hex')}.echo`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', ECHO_RESPONDER], { cwd: root, env: { PATH: process.env.PATH, NATS_URL, ECHO_SUBJECT: subject }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const token = 'fo_0000000000000000_' + 'a'.repeat(43);
  const next = walker();
  const ask = async () => {
    const q = next();
    const body = { credential: token, action: q.action, resource: q.resource, context: { environment: q.environment } };
    return JSON.parse(decoder.decode((await nc.request(subject, encoder.encode(JSON.stringify(body)), { timeout: 30_000 })).data));
  };
  await waitFor('the echo responder', async () => Boolean(await ask()), () => (child.exitCode !== null ? `exited (${child.exitCode}): ${stderr}` : undefined));
  return { ask, pid: child.pid, stop: () => stopChild(child) };
}

/** A policy service recording allows as `recordAllows`, with a token per principal; its ask() checks each question. */
async function startPolicy(recordAllows, writers) {
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  namespaces.add(namespace);
  const names = namesFor(namespace);
  const serviceKey = randomBytes(32).toString('base64url');
  const bootstrap = randomBytes(24).toString('hex');
  await provisionTestStorage(namespace, NATS_URL);
  const service = spawnService('policy', {
    NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    FORGEONE_SERVICE_KEY: serviceKey,
    FORGEONE_BOOTSTRAP_TOKEN: bootstrap,
    FORGEONE_AUTHZ_RECORD_ALLOWS: recordAllows,
    OTEL_TRACES_EXPORTER: 'none',
    ...writers.env('policy'),
    ...(args['cpu-prof'] ? { NODE_OPTIONS: `--import=${join(root, 'bench', 'cpu-profile.preload.mjs')}`, FORGEONE_CPU_PROF_DIR: args['cpu-prof'] } : {}),
  });
  children.add(service.child);
  const exited = () => (service.child.exitCode !== null ? `exited (${service.child.exitCode}): ${service.output()}` : undefined);
  await waitFor(
    'the policy service',
    async () => JSON.parse(decoder.decode((await nc.request(names.health('policy'), undefined, { timeout: 1_000 })).data)).ready === true,
    exited,
    // Under a loaded machine a service may take well over the default 30 s to load and start.
    120_000,
  );
  const command = async (verb, body, credential) => {
    const hdrs = natsHeaders();
    hdrs.set('Authorization', credential);
    const reply = JSON.parse(decoder.decode((await nc.request(names.command('policy', verb), encoder.encode(JSON.stringify(body)), { headers: hdrs, timeout: 5_000 })).data));
    if (reply?.error) throw new Error(`${verb}: ${reply.error.code} ${reply.error.message}`);
    return reply;
  };
  const tokens = new Map();
  for (const p of principals) tokens.set(p.id, (await command('token_create', { principal: p.id, role: p.roles[0], tenant: p.tenant }, bootstrap)).token);
  const hdrs = natsHeaders();
  hdrs.set('Authorization', serviceCredential('gateway', serviceKey));
  const next = walker();
  const ask = async () => {
    const q = next();
    const body = { credential: tokens.get(q.principal.id), action: q.action, resource: q.resource, context: { environment: q.environment } };
    const reply = JSON.parse(decoder.decode((await nc.request(names.authzCheck, encoder.encode(JSON.stringify(body)), { headers: hdrs, timeout: 30_000 })).data));
    if (reply.decision !== 'allow' || reply.principal?.id !== q.principal.id) throw new Error(`authz.check did not allow ${q.principal.id} ${q.action} ${q.resource.id}: ${JSON.stringify(reply)}`);
  };
  return {
    ask,
    pid: service.child.pid,
    stop: async () => {
      await service.stop();
      await removeNamespace(namespace, NATS_URL).catch(() => undefined);
      namespaces.delete(namespace);
    },
  };
}

// --- measure, interleaved: each round runs a batch of every variant, the order rotating -----------
const writers = createTestEventWriters();
const echo = await startEcho();
const policies = [];
let results;
try {
  for (const mode of RECORD_MODES) policies.push({ mode, ...(await startPolicy(mode, writers)) });

  const syncVariants = [
    { scenario: 'raw Cedar statefulIsAuthorized (pre-parsed set)', run: rawCedar },
    { scenario: 'CedarPolicyEngine.authorize (entities + Cedar)', run: engineAuthorize },
  ];
  const asyncVariants = [
    { scenario: 'raw NATS request/reply (echo process, JSON)', run: echo.ask, pid: echo.pid },
    ...policies.map((p) => ({ scenario: `authz.check over NATS (allows recorded: ${p.mode})`, run: p.ask, pid: p.pid })),
  ];
  // Every path as warm as raw Cedar before any is measured: V8 compiles the Cedar module in tiers, in
  // the background, and a process asks it a few thousand times before its decisions reach full speed.
  for (const v of syncVariants) sampleSync(WARMUP, v.run);
  for (const v of asyncVariants) await sampleAsync(WARMUP, CONCURRENCY, v.run);
  for (const v of asyncVariants) await sampleAsync(WARMUP / 5, 1, v.run);

  const pooled = new Map();
  const add = (scenario, mode, { latenciesNs, elapsedNs }, cpuNs) => {
    const key = `${scenario}\u0000${mode}`;
    const entry = pooled.get(key) ?? { scenario, mode, latenciesNs: [], elapsedNs: 0n, cpuNs: 0 };
    entry.latenciesNs.push(...latenciesNs);
    entry.elapsedNs += elapsedNs;
    entry.cpuNs = cpuNs === undefined || entry.cpuNs === undefined ? undefined : entry.cpuNs + cpuNs;
    pooled.set(key, entry);
  };
  // A batch of an asynchronous variant with the CPU its responder used meanwhile.
  const batchOf = async (v, n, concurrency) => {
    const before = cpuNsOf(v.pid);
    const sample = await sampleAsync(n, concurrency, v.run);
    const after = cpuNsOf(v.pid);
    return [sample, before === undefined || after === undefined ? undefined : after - before];
  };
  const batch = Math.max(1, Math.floor(N / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of syncVariants) add(v.scenario, 'sequential', sampleSync(batch, v.run));
    for (let k = 0; k < asyncVariants.length; k++) {
      const v = asyncVariants[(round + k) % asyncVariants.length];
      add(v.scenario, 'sequential', ...(await batchOf(v, batch, 1)));
    }
    for (let k = 0; k < asyncVariants.length; k++) {
      const v = asyncVariants[(round + k) % asyncVariants.length];
      add(v.scenario, `concurrency ${CONCURRENCY}`, ...(await batchOf(v, batch, CONCURRENCY)));
    }
  }
  results = [...pooled.values()]
    .sort((a, b) => (a.mode === b.mode ? 0 : a.mode === 'sequential' ? -1 : 1))
    .sort((a, b) => [...syncVariants, ...asyncVariants].findIndex((v) => v.scenario === a.scenario) - [...syncVariants, ...asyncVariants].findIndex((v) => v.scenario === b.scenario))
    .map((p) => ({
      scenario: p.scenario,
      mode: p.mode,
      ...latencyStats(p.latenciesNs, p.elapsedNs),
      ...(p.cpuNs > 0 ? { responderCpuUsPerRequest: Math.round(p.cpuNs / p.latenciesNs.length / 1000) } : {}),
    }));
} finally {
  for (const p of policies) await p.stop();
  await echo.stop();
  await nc.close();
}

// --- report ----------------------------------------------------------------------------------
const raw = results[0];
const rows = results.map((r) => ({ ...r, p50VsRawCedar: Number((r.p50Us / raw.p50Us).toFixed(2)), throughputVsRawCedar: Number((r.perSecond / raw.perSecond).toFixed(3)) }));
const header = ['scenario', 'mode', 'n', 'decisions/s', 'p50 µs', 'p99 µs', 'p50 × raw', 'throughput × raw', 'responder CPU µs/request'];
printTable(header, rows.map((r) => [r.scenario, r.mode, r.n, r.perSecond, r.p50Us, r.p99Us, r.p50VsRawCedar, r.throughputVsRawCedar, r.responderCpuUsPerRequest]));
const report = authzCheckReport(rows);
for (const row of report) console.log(`${row.what}: ${row.measured} against ${row.baseline} (${row.ratio}×)${row.target ? `, target ${row.target}: ${row.met ? 'met' : 'NOT met'}` : ''}`);
await writeResults(
  'authz-check',
  {
    cedar: cedar.getCedarVersion(),
    nats: redactNatsUrl(NATS_URL),
    questions: {
      distinct: QUESTIONS,
      principals: principals.length,
      tenants: TENANTS,
      roles: ROLES,
      pluginsPerTenant: PLUGINS_PER_TENANT,
      environments: ENVIRONMENTS,
      actions: ACTIONS,
      note: 'every variant walks the distinct questions in turn; all are allows; the policy service keeps no decision cache',
    },
    allowRecording: RECORD_MODES,
    tracing: 'OTEL_TRACES_EXPORTER=none',
    n: N,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    results: rows,
  },
  report,
);
