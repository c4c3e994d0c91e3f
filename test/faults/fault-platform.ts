// The platform a fault case breaks: its own nats-server and PostgreSQL (never the shared ones), the built platform
// started with `forgeone up` on them, the example plugin installed in staging, steady load from several clients,
// and the checks every case ends with (nothing acknowledged lost, no duplicate row, projections equal a replay,
// the audit log verifies).
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY_EVENT_TYPES, names as namesFor, PLUGIN_CONFIG_EVENT_TYPES, type RebuildStatus } from '@forgeone/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  repoRoot,
  runCli,
  startPrivateNats,
  startPrivatePostgres,
  startTestPlatform,
  testNamespace,
  type CliRun,
  type PrivateNats,
  type PrivatePostgres,
  type TestPlatform,
} from '@forgeone/test-harness';
import pg from 'pg';

export interface FaultPlatform {
  readonly nats: PrivateNats;
  readonly postgres: PrivatePostgres;
  readonly platform: TestPlatform;
  readonly namespace: string;
  /** The platform's database (on the private PostgreSQL). */
  readonly databaseUrl: string;
  /** The case's own folder (the CLI's working directory). */
  readonly work: string;
  /** A token that may read the audit log but may not call plugins (the load's would-be intruder). */
  readonly auditorToken: string;
  cli(args: readonly string[]): Promise<CliRun>;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  remove(): Promise<void>;
}

export async function startFaultPlatform(prefix: string): Promise<FaultPlatform> {
  const nats = await startPrivateNats();
  const postgres = await startPrivatePostgres().catch(async (error: unknown) => {
    await nats.remove();
    throw error;
  });
  const work = mkdtempSync(join(tmpdir(), `forgeone-${prefix}-`));
  const namespace = testNamespace(prefix);
  const databaseUrl = postgres.url.replace(/\/postgres$/, '/forgeone');
  let platform: TestPlatform | undefined;
  const remove = async () => {
    await platform?.stop();
    await postgres.remove();
    await nats.remove();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await adminQuery(postgres.url, 'create database forgeone');
    platform = await startTestPlatform({ namespace, databaseUrl, natsUrl: nats.url, timeoutMs: 180_000 });
    const started = platform;
    // The CLI's bus verbs (admin rebuild) talk to NATS themselves.
    const cli = (args: readonly string[]) =>
      runCli(started.apiUrl, args, { token: started.bootstrapToken, cwd: work, env: { NATS_URL: nats.url, FORGEONE_NAMESPACE: namespace, XDG_CONFIG_HOME: join(work, 'config') } });
    const hello = join(work, 'hello');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'hello'), hello, { recursive: true });
    for (const step of [['plugin', 'publish', hello], ['plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging']]) {
      const run = await cli(step);
      if (run.code !== 0) throw new Error(`${step.join(' ')} failed (${run.code}): ${run.stderr}`);
    }
    const auditor = await createToken(started, 'fault-auditor', 'auditor');
    return {
      nats,
      postgres,
      platform: started,
      namespace,
      databaseUrl,
      work,
      auditorToken: auditor.token,
      cli,
      sql: async <T,>(text: string, params?: unknown[]) => {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          return (await client.query(text, params)).rows as T[];
        } finally {
          await client.end();
        }
      },
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

async function createToken(platform: TestPlatform, principal: string, role: string): Promise<{ token: string }> {
  const response = await fetch(`${platform.apiUrl}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.bootstrapToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ principal, role }),
  });
  if (response.status !== 201) throw new Error(`token create for ${principal} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { token: string };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** One request of the load and how it ended. */
export interface Outcome {
  readonly client: string;
  readonly at: number;
  readonly ok: boolean;
  readonly status: number;
  /** The error code of the answer, or the transport error (ECONNREFUSED, ...) when there was no answer. */
  readonly code?: string;
  /** What the request was about (a principal, a config key). */
  readonly subject?: string;
  /** The error message of the answer. */
  readonly message?: string;
}

export interface Load {
  /** Stops every client after its request in flight; resolves with every outcome. */
  stop(): Promise<Outcome[]>;
  outcomes(): readonly Outcome[];
}

const REQUEST_TIMEOUT_MS = 20_000;

async function request(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; code?: string; message?: string; json?: unknown }> {
  try {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    return { status: response.status, ...(error?.code ? { code: error.code } : {}), ...(error?.message ? { message: error.message } : {}), json };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, code: cause ?? (error as Error).name };
  }
}

/**
 * Steady, modest load from six clients, each one request at a time with a pause between: an administrator issuing
 * tokens (policy), one setting plugin configuration (registry), two calling the plugin (sandbox-runner), one reading
 * the plugin list (a projection in PostgreSQL), and an auditor trying to call the plugin, which policy must refuse
 * every time (fail closed).
 */
export function startLoad(f: FaultPlatform, pauseMs = 150): Load {
  const api = f.platform.apiUrl;
  const admin = f.platform.bootstrapToken;
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async (step: (n: number) => Promise<Outcome>) => {
    for (let n = 0; running; n++) {
      outcomes.push(await step(n));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const call = (token: string) => request(`${api}/v1/environments/staging/plugins/forgeone/hello/calls/greet`, 'POST', token, { input: 'world' });
  const loops = [
    loop(async (n) => {
      const principal = `load-${n}`;
      const r = await request(`${api}/v1/tokens`, 'POST', admin, { principal, role: 'auditor' });
      return { client: 'tokens', at: Date.now(), ok: r.status === 201, status: r.status, subject: principal, ...(r.code ? { code: r.code } : {}) };
    }),
    loop(async (n) => {
      const key = `k${n}`;
      const r = await request(`${api}/v1/environments/staging/plugins/forgeone/hello/config/${key}`, 'PUT', admin, { value: `v${n}` });
      return { client: 'config', at: Date.now(), ok: r.status === 200, status: r.status, subject: key, ...(r.code ? { code: r.code } : {}) };
    }),
    ...['caller-1', 'caller-2'].map((client) =>
      loop(async () => {
        const r = await call(admin);
        const ok = r.status === 200 && (r.json as { output?: string }).output === 'hello, world';
        return { client, at: Date.now(), ok, status: r.status, ...(r.code ? { code: r.code } : {}) };
      }),
    ),
    loop(async () => {
      const r = await request(`${api}/v1/plugins`, 'GET', admin);
      return { client: 'reader', at: Date.now(), ok: r.status === 200, status: r.status, ...(r.code ? { code: r.code } : {}), ...(r.message ? { message: r.message } : {}) };
    }),
    loop(async () => {
      const r = await call(f.auditorToken);
      // Refused is the right answer here; a 2xx is a breach.
      return { client: 'intruder', at: Date.now(), ok: r.status === 403 && r.code === 'AUTHZ.DENIED', status: r.status, ...(r.code ? { code: r.code } : {}) };
    }),
  ];
  const all = Promise.all(loops);
  return {
    outcomes: () => outcomes,
    stop: async () => {
      running = false;
      await all;
      return outcomes;
    },
  };
}

/** Resolves once GET /readyz answers 200 (every service ready), or throws after `timeoutMs`. */
export async function waitUntilReady(f: FaultPlatform, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const response = await fetch(`${f.platform.apiUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`platform not ready again after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What every case ends with; throws naming what does not hold. */
export interface FinalCount {
  readonly sent: number;
  readonly acknowledged: number;
  readonly projected: { readonly tokens: number; readonly config: number };
  readonly calls: { readonly ok: number; readonly failed: number };
  /** How long the checks took, by step. */
  readonly checkedIn: string;
}

/**
 * Waits for the audit-projector to reach the stream's last sequence, then checks: every acknowledged token and
 * configuration value is there through the API and projected exactly once (no duplicate row for any subject, not
 * even for an unacknowledged attempt), projections equal a replay (`forgeone admin rebuild`), and the audit log
 * verifies (`forgeone audit verify`).
 */
export async function checkNothingLost(f: FaultPlatform, outcomes: readonly Outcome[]): Promise<FinalCount> {
  const lastSeq = await streamLastSequence(f);
  const started = Date.now();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await f.sql<{ max: string | null }>('select max(sequence)::text as max from audit_log');
    if (Number(row?.max ?? 0) >= lastSeq) break;
    if (Date.now() > deadline) throw new Error(`audit-projector at ${row?.max} of ${lastSeq} after 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const acked = (client: string) => outcomes.filter((o) => o.client === client && o.ok).map((o) => o.subject!);
  const problems: string[] = [];

  const timings: string[] = [];
  let mark = Date.now();
  const took = (what: string) => {
    timings.push(`${what} ${Date.now() - mark} ms`);
    mark = Date.now();
  };
  took('projector caught up');
  const tokens = (await get<{ tokens: { principal: string }[] }>(f, '/v1/tokens')).tokens;
  const listed = new Map<string, number>();
  for (const t of tokens) listed.set(t.principal, (listed.get(t.principal) ?? 0) + 1);
  for (const principal of acked('tokens')) if (!listed.has(principal)) problems.push(`token of ${principal} acknowledged, not listed`);
  for (const [principal, count] of listed) if (count > 1) problems.push(`${count} tokens listed for ${principal}, one asked for`);

  const config = await get<{ entries: { key: string }[] }>(f, '/v1/environments/staging/plugins/forgeone/hello/config');
  const keys = new Set(config.entries.map((e) => e.key));
  for (const key of acked('config')) if (!keys.has(key)) problems.push(`config ${key} acknowledged, not listed`);

  const tokenRows = await f.sql<{ subject: string; n: number }>(
    `select data->>'principal' as subject, count(*)::int as n from audit_log where type = $1 and data->>'principal' like 'load-%' group by 1`,
    [IDENTITY_EVENT_TYPES.tokenIssued],
  );
  const configRows = await f.sql<{ subject: string; n: number }>(`select data->>'key' as subject, count(*)::int as n from audit_log where type = $1 group by 1`, [PLUGIN_CONFIG_EVENT_TYPES.valueSet]);
  for (const [what, rows, subjects] of [
    ['token', tokenRows, acked('tokens')],
    ['config', configRows, acked('config')],
  ] as const) {
    const projected = new Map(rows.map((r) => [r.subject, r.n]));
    for (const subject of subjects) if (!projected.has(subject)) problems.push(`${what} ${subject} acknowledged, not projected`);
    for (const [subject, n] of projected) if (n > 1) problems.push(`${what} ${subject} projected ${n} times`);
  }
  took('API and audit_log compared');

  // The replay and the audit verification read different things; run side by side, they take the time of the longer.
  writeFileSync(join(f.work, 'audit-key.pem'), (await auditKey(f)).publicKeyPem);
  const [rebuild, verify] = await Promise.all([f.cli(['admin', 'rebuild', '--poll-ms', '200', '--json']), f.cli(['audit', 'verify', '--key', 'audit-key.pem'])]);
  const status = rebuild.stdout ? (JSON.parse(rebuild.stdout) as RebuildStatus) : undefined;
  if (rebuild.code !== 0 || status?.comparison?.equal !== true) {
    problems.push(`projections differ from a replay (${rebuild.code}): ${JSON.stringify(status?.comparison?.tables.filter((t) => !t.equal) ?? rebuild.stderr)}`);
  }
  if (verify.code !== 0) problems.push(`audit verify failed (${verify.code}): ${verify.stderr}${verify.stdout}`);
  took('admin rebuild and audit verify');

  const calls = outcomes.filter((o) => o.client.startsWith('caller-'));
  const count: FinalCount = {
    sent: outcomes.filter((o) => o.client === 'tokens' || o.client === 'config').length,
    acknowledged: acked('tokens').length + acked('config').length,
    projected: { tokens: tokenRows.length, config: configRows.length },
    calls: { ok: calls.filter((o) => o.ok).length, failed: calls.filter((o) => !o.ok).length },
    checkedIn: `${Date.now() - started} ms (${timings.join(', ')})`,
  };
  if (problems.length > 0) throw new Error(`${problems.length} problems (counts ${JSON.stringify(count)}):\n${problems.slice(0, 30).join('\n')}`);
  return count;
}

// The key is named by the latest signed checkpoint, which the audit-projector signs a while after its first events.
async function auditKey(f: FaultPlatform): Promise<{ publicKeyPem: string }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await get<{ publicKeyPem: string }>(f, '/v1/audit-log/key');
    } catch (error) {
      if (Date.now() > deadline || !/answered 404/.test((error as Error).message)) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function get<T>(f: FaultPlatform, path: string): Promise<T> {
  const response = await fetch(`${f.platform.apiUrl}${path}`, { headers: { authorization: `Bearer ${f.platform.bootstrapToken}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function streamLastSequence(f: FaultPlatform): Promise<number> {
  const nc = await connect({ servers: f.nats.url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(namesFor(f.namespace).stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

/** A window of time in which a part was down (from the fault until ready again plus `graceMs`). */
export interface DownWindow {
  readonly part: string;
  readonly from: number;
  readonly to: number;
}

/**
 * Failures outside every down window, and failures without a clear answer: a status and error code (or, with the
 * gateway itself down, a refused connection). The intruder must never get through, down or not.
 */
export function unclearOrUnexpectedFailures(outcomes: readonly Outcome[], windows: readonly DownWindow[]): string[] {
  const problems: string[] = [];
  for (const o of outcomes) {
    if (o.client === 'intruder' && o.status >= 200 && o.status < 300) problems.push(`intruder got ${o.status} at ${new Date(o.at).toISOString()}: not fail closed`);
    if (o.ok) continue;
    const during = windows.find((w) => o.at >= w.from && o.at <= w.to);
    // With the gateway itself gone, no one can answer: the connection is refused, or reset under a request in flight.
    const clear = (o.status >= 400 && o.code !== undefined && /^[A-Z_]+\.[A-Z_]+$/.test(o.code)) || (o.status === 0 && ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(o.code ?? '') && during?.part === 'gateway');
    if (!during) problems.push(`${o.client} failed outside any fault at ${new Date(o.at).toISOString()}: ${o.status} ${o.code ?? ''}`);
    else if (!clear) problems.push(`${o.client} got no clear error while ${during.part} was down: ${o.status} ${o.code ?? ''}`);
  }
  return problems;
}

/** One line per client: sent, ok, and the failures by status and code. */
export function summary(outcomes: readonly Outcome[]): string {
  const clients = [...new Set(outcomes.map((o) => o.client))];
  return clients
    .map((client) => {
      const mine = outcomes.filter((o) => o.client === client);
      const failures = new Map<string, number>();
      for (const o of mine.filter((m) => !m.ok)) failures.set(`${o.status} ${o.code ?? ''}`.trim(), (failures.get(`${o.status} ${o.code ?? ''}`.trim()) ?? 0) + 1);
      return `${client}: ${mine.length} sent, ${mine.filter((m) => m.ok).length} ok${failures.size ? `, failed: ${[...failures].map(([k, n]) => `${n}× ${k}`).join(', ')}` : ''}`;
    })
    .join('\n');
}
