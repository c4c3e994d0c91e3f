#!/usr/bin/env node
// Benchmark: decisions per second and p50/p99 latency of `forgeone.authz.check` over NATS (the
// policy service as its own process, on a namespace of its own), against the raw Cedar call with
// the same pre-parsed policy set and a raw NATS request/reply, all measured in the same run.
//
//   node bench/authz-check.bench.mjs [--n 3000] [--concurrency 16] [--record none,all]
//
// Needs a build (`npm run build`) and NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222).
// Prints a table and writes bench/results/authz-check.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, measureAsync, measureSync, printTable, redactNatsUrl, repoRoot as root, waitFor, writeResults } from './bench-kit.mjs';
import { authzCheckReport } from './report-rows.mjs';

const entry = join(root, 'apps', 'policy', 'dist', 'main.js');
if (!existsSync(entry) || !existsSync(join(root, 'libs', 'authz', 'dist', 'index.js'))) {
  console.error(`Not built: ${entry} missing. Run \`npm run build\` first.`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    record: { type: 'string', default: 'none,all' },
    warmup: { type: 'string', default: '300' },
  },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const WARMUP = Number(args.warmup);
const RECORD_MODES = args.record.split(',').map((m) => m.trim()).filter(Boolean);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const cedar = await import('@cedar-policy/cedar-wasm/nodejs');
const { CedarPolicyEngine, DEFAULT_POLICIES, entitiesFor, serviceCredential } = await import('@forgeone/authz');
const { names: namesFor } = await import('@forgeone/contracts');
const { connect, headers: natsHeaders } = await import('@nats-io/transport-node');
const { jetstreamManager } = await import('@nats-io/jetstream');

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The request measured everywhere: a developer publishing a plugin of its own tenant (an allow).
const principal = { id: 'bench-dev', type: 'user', tenant: 'acme', roles: ['developer'] };
const resource = { type: 'Plugin', id: 'acme/hello', tenant: 'acme', attributes: { classification: 'internal' } };
const action = 'publish';




// --- raw Cedar with the pre-parsed default set, in this process --------------------------------
const results = [];
const entities = entitiesFor(principal, resource);
const PRESET = `bench-${randomBytes(4).toString('hex')}`;
const preparsed = cedar.preparsePolicySet(PRESET, { staticPolicies: { ...DEFAULT_POLICIES } });
if (preparsed.type !== 'success') throw new Error(`cannot pre-parse the default policies: ${JSON.stringify(preparsed)}`);
const rawCall = {
  principal: { type: 'ForgeOne::User', id: principal.id },
  action: { type: 'ForgeOne::Action', id: action },
  resource: { type: 'ForgeOne::Plugin', id: resource.id },
  context: {},
  preparsedPolicySetId: PRESET,
  entities,
};
const rawAnswer = cedar.statefulIsAuthorized(rawCall);
if (rawAnswer.type !== 'success' || rawAnswer.response.decision !== 'allow') throw new Error(`raw Cedar did not allow: ${JSON.stringify(rawAnswer)}`);
const engine = new CedarPolicyEngine();
engine.apply(DEFAULT_POLICIES, 1);
// Both warm before either is measured: V8 tiers the Cedar module up in the background.
measureSync(WARMUP * 10, () => cedar.statefulIsAuthorized(rawCall));
measureSync(WARMUP * 10, () => engine.authorize({ principal, action, resource }));
results.push({ scenario: 'raw Cedar statefulIsAuthorized (pre-parsed set)', mode: 'sequential', ...measureSync(N, () => cedar.statefulIsAuthorized(rawCall)) });
results.push({ scenario: 'CedarPolicyEngine.authorize (entities + Cedar)', mode: 'sequential', ...measureSync(N, () => engine.authorize({ principal, action, resource })) });

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
  const jsm = await jetstreamManager(nc);
  for await (const stream of jsm.streams.names()) {
    // Stream names spell the namespace as is (buckets) or upper-cased with '_' (the event stream).
    const spelled = stream.toLowerCase().replaceAll('_', '-');
    if ([...namespaces].some((namespace) => spelled.includes(namespace))) await jsm.streams.delete(stream).catch(() => undefined);
  }
});

async function withChild(args, env, work) {
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    return await work(() => (child.exitCode !== null ? `exited (${child.exitCode}): ${stderr}` : undefined));
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    children.delete(child);
  }
}


{
  const subject = `bench-${randomBytes(4).toString('hex')}.echo`;
  await withChild(['--input-type=module', '-e', ECHO_RESPONDER], { NATS_URL, ECHO_SUBJECT: subject }, async (exited) => {
    const payload = encoder.encode(JSON.stringify({ credential: 'fo_0000000000000000_' + 'a'.repeat(43), action, resource, context: {} }));
    const echo = async () => JSON.parse(decoder.decode((await nc.request(subject, payload, { timeout: 5_000 })).data));
    await waitFor('the echo responder', async () => Boolean(await echo()), exited);
    await measureAsync(WARMUP, 1, echo);
    const label = 'raw NATS request/reply (echo process, JSON)';
    results.push({ scenario: label, mode: 'sequential', ...(await measureAsync(N, 1, echo)) });
    results.push({ scenario: label, mode: `concurrency ${CONCURRENCY}`, ...(await measureAsync(N, CONCURRENCY, echo)) });
  });
}

async function runPolicyService(recordAllows) {
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  namespaces.add(namespace);
  const names = namesFor(namespace);
  const serviceKey = randomBytes(32).toString('base64url');
  const bootstrap = randomBytes(24).toString('hex');
  const env = {
    NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    FORGEONE_SERVICE_KEY: serviceKey,
    FORGEONE_BOOTSTRAP_TOKEN: bootstrap,
    FORGEONE_AUTHZ_RECORD_ALLOWS: recordAllows,
    FORGEONE_LOG_LEVEL: 'warn',
    OTEL_TRACES_EXPORTER: 'none',
  };
  try {
    await withChild([entry], env, async (exited) => {
      await waitFor(
        'the policy service',
        async () => JSON.parse(decoder.decode((await nc.request(names.health('policy'), undefined, { timeout: 1_000 })).data)).ready === true,
        exited,
      );
      const command = async (verb, body, credential) => {
        const hdrs = natsHeaders();
        hdrs.set('Authorization', credential);
        const reply = JSON.parse(decoder.decode((await nc.request(names.command('policy', verb), encoder.encode(JSON.stringify(body)), { headers: hdrs, timeout: 5_000 })).data));
        if (reply?.error) throw new Error(`${verb}: ${reply.error.code} ${reply.error.message}`);
        return reply;
      };
      const { token } = await command('token_create', { principal: principal.id, role: 'developer', tenant: 'acme' }, bootstrap);
      const hdrs = natsHeaders();
      hdrs.set('Authorization', serviceCredential('gateway', serviceKey));
      const payload = encoder.encode(JSON.stringify({ credential: token, action, resource, context: {} }));
      const check = async () => {
        const reply = JSON.parse(decoder.decode((await nc.request(names.authzCheck, payload, { headers: hdrs, timeout: 5_000 })).data));
        if (reply.decision !== 'allow') throw new Error(`authz.check did not allow: ${JSON.stringify(reply)}`);
      };
      await measureAsync(WARMUP, 1, check);
      const label = `authz.check over NATS (allows recorded: ${recordAllows})`;
      results.push({ scenario: label, mode: 'sequential', ...(await measureAsync(N, 1, check)) });
      results.push({ scenario: label, mode: `concurrency ${CONCURRENCY}`, ...(await measureAsync(N, CONCURRENCY, check)) });
    });
  } finally {
    await (await jetstreamManager(nc)).streams.delete(names.stream).catch(() => undefined);
  }
}

for (const mode of RECORD_MODES) await runPolicyService(mode);
await nc.close();

// --- report ----------------------------------------------------------------------------------
const raw = results[0];
const rows = results.map((r) => ({ ...r, p50VsRawCedar: Number((r.p50Us / raw.p50Us).toFixed(2)), throughputVsRawCedar: Number((r.perSecond / raw.perSecond).toFixed(3)) }));
const header = ['scenario', 'mode', 'n', 'decisions/s', 'p50 µs', 'p99 µs', 'p50 × raw', 'throughput × raw'];
printTable(header, rows.map((r) => [r.scenario, r.mode, r.n, r.perSecond, r.p50Us, r.p99Us, r.p50VsRawCedar, r.throughputVsRawCedar]));
const report = authzCheckReport(rows);
await writeResults(
  'authz-check',
  {
    cedar: cedar.getCedarVersion(),
    nats: redactNatsUrl(NATS_URL),
    request: { principal: principal.id, role: 'developer', action, resource },
    n: N,
    concurrency: CONCURRENCY,
    results: rows,
  },
  report,
);
