import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { names as namesFor } from '@forgeone/contracts';
import {
  createTestDatabase,
  eventually,
  helloPluginCopy,
  metricValue,
  removeNamespace,
  runCli,
  scrapeMetrics,
  startTestPlatform,
  testNamespace,
  TEST_NATS_URL,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// FORGEONE_SANDBOX_RUNNERS=2 under `forgeone up`: both runners share the calls through their queue group, a hot
// swap reaches both with no failed call, and a runner killed under load fails only the calls it held, each with
// a code, before the supervisor brings it back with the same identity.

const PLUGIN = 'acme/spread';
const ENVIRONMENT = 'staging';
const CLIENTS = 8;
// The gateway's deadline for a bus request; a call still unanswered well after it is hung, which must not happen.
const GATEWAY_DEADLINE_MS = 10_000;
const HUNG_AFTER_MS = GATEWAY_DEADLINE_MS + 10_000;
const RUNNERS = ['sandbox-runner', 'sandbox-runner-2'] as const;
// A request can still reach the killed runner's socket until NATS has seen that connection close.
const KILL_NOTICE_MS = 1_000;

interface Call {
  readonly started: number;
  readonly ended: number;
  readonly status: number;
  readonly version?: string;
  readonly code?: string;
  readonly message?: string;
}

async function sql<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('platform - several sandbox-runners share the calls', () => {
  const namespace = testNamespace('e2e-runners');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-runners-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  let nc: NatsConnection;
  // Runner identity by process name, as each runner names itself on the health subject.
  const identities = new Map<string, string>();
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });

  const callOnce = async (): Promise<Call> => {
    const started = performance.now();
    try {
      const res = await fetch(`${platform.apiUrl}/v1/environments/${ENVIRONMENT}/plugins/${PLUGIN}/calls/greet`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.bootstrapToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 'x' }),
        signal: AbortSignal.timeout(HUNG_AFTER_MS),
      });
      const doc = (await res.json()) as { version?: string; error?: { code: string; message: string } };
      const ended = performance.now();
      if (doc.error) return { started, ended, status: res.status, code: doc.error.code, message: doc.error.message };
      return { started, ended, status: res.status, ...(doc.version ? { version: doc.version } : {}) };
    } catch (error) {
      // No answer at all: hung past every deadline, or the connection broke.
      return { started, ended: performance.now(), status: 0, code: (error as Error).name === 'TimeoutError' ? 'HUNG' : 'NO_ANSWER', message: String(error) };
    }
  };

  /** Clients calling without pause until the returned stop() is called; stop() resolves with every call they made. */
  const load = () => {
    const calls: Call[] = [];
    let running = true;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (running) calls.push(await callOnce());
    });
    return {
      calls,
      stop: async () => {
        running = false;
        await Promise.all(clients);
        return calls;
      },
    };
  };

  const okCalls = async (runner: string, version?: string) =>
    metricValue(await scrapeMetrics(platform.metricsUrls[runner]!), 'forgeone_plugin_calls_total', { plugin: PLUGIN, outcome: 'ok', ...(version ? { version } : {}) });

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      // Short windows, so the calls each runner answered reach call_windows while the test runs.
      env: { FORGEONE_SANDBOX_RUNNERS: '2', FORGEONE_CALL_WINDOW_MS: '500' },
    });
    nc = await connect({ servers: TEST_NATS_URL, name: 'several-runners-e2e' });
    for (const version of ['1.0.0', '2.0.0']) {
      const dir = helloPluginCopy(work, PLUGIN, version);
      // hello's 100 ms deadline is the plugin's own limit: on a machine this loaded it is not what is under test.
      const manifestFile = join(dir, 'forgeone.plugin.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { limits: Record<string, number> };
      writeFileSync(manifestFile, JSON.stringify({ ...manifest, limits: { ...manifest.limits, timeoutMs: 5_000 } }, null, 2));
      const publish = await cli('plugin', 'publish', dir);
      expect(publish.stderr).toBe('');
    }
    const install = await cli('plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT);
    expect(install.stderr).toBe('');
  });

  afterAll(async () => {
    await nc?.close();
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('forgeone up --json lists each runner with its own process and metrics port; each answers health under its own identity', async () => {
    for (const runner of RUNNERS) {
      expect(platform.pids[runner], runner).toBeGreaterThan(0);
      expect(platform.metricsUrls[runner], runner).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    }
    expect(platform.pids['sandbox-runner']).not.toBe(platform.pids['sandbox-runner-2']);
    expect(platform.metricsUrls['sandbox-runner']).not.toBe(platform.metricsUrls['sandbox-runner-2']);
    expect(platform.pids['sandbox-runner-3']).toBeUndefined();

    const replies = [];
    for await (const msg of await nc.requestMany(namesFor(namespace).health('sandbox-runner'), '', { strategy: 'count', maxMessages: 2, maxWait: 5_000 })) {
      replies.push(msg.json<{ ready: boolean; checks: { runner: { detail: string } } }>());
    }
    expect(replies).toHaveLength(2);
    expect(replies.every((r) => r.ready)).toBe(true);
    const ids = replies.map((r) => r.checks.runner.detail).sort();
    expect(ids[0]).not.toBe(ids[1]);
    // The first slot keeps the single runner's identity; the second has it with "-2".
    expect(ids[1]).toBe(`${ids[0]}-2`);
    identities.set('sandbox-runner', ids[0]!);
    identities.set('sandbox-runner-2', ids[1]!);
    // Each reads the plugin events through a durable consumer of its own: a shared one would split the events between them.
    const names = namesFor(namespace);
    const consumers: string[] = [];
    for await (const info of (await jetstreamManager(nc)).consumers.list(names.stream)) consumers.push(info.name);
    for (const id of ids) expect(consumers).toContain(names.consumer(`sandbox-runner-${id}`));
  });

  it('calls under load are answered by both runners: each counts its share, and the shares add up to every call sent', async () => {
    const { stop } = load();
    await eventually(async () => (await okCalls('sandbox-runner')) >= 50 && (await okCalls('sandbox-runner-2')) >= 50, 'both runners answering', 60_000);
    const calls = await stop();
    expect(calls.filter((c) => c.status !== 200)).toEqual([]);
    const [first, second] = await Promise.all(RUNNERS.map((r) => okCalls(r)));
    console.info(`shared load: ${calls.length} calls sent by ${CLIENTS} clients, ${first} answered by sandbox-runner, ${second} by sandbox-runner-2`);
    expect(first! + second!).toBe(calls.length);
    // The same seen in the invocation windows each runner wrote under its identity.
    const windows = await eventually(async () => {
      const rows = await sql<{ runner: string; calls: string }>(db.url, `SELECT runner, sum(calls) AS calls FROM call_windows WHERE plugin = $1 GROUP BY runner`, [PLUGIN]);
      const total = rows.reduce((n, r) => n + Number(r.calls), 0);
      return total === calls.length ? rows : undefined;
    }, 'every call in a window', 30_000);
    expect(new Map(windows.map((w) => [w.runner, Number(w.calls)]))).toEqual(new Map([[identities.get('sandbox-runner'), first], [identities.get('sandbox-runner-2'), second]]));
  });

  it('an upgrade under steady load swaps on every runner with no failed call; afterwards every runner answers with the new version', async () => {
    const { calls, stop } = load();
    await eventually(async () => calls.length >= 100, 'load before the upgrade', 60_000);
    const upgrade = await cli('plugin', 'upgrade', `${PLUGIN}@2.0.0`, '--env', ENVIRONMENT);
    expect(upgrade.stderr).toBe('');
    expect(upgrade.code).toBe(0);
    const upgraded = performance.now();
    await eventually(async () => (await okCalls('sandbox-runner', '2.0.0')) >= 50 && (await okCalls('sandbox-runner-2', '2.0.0')) >= 50, 'both runners answering with 2.0.0', 60_000);
    // Settled: from here on neither runner answers with 1.0.0 any more.
    const oldCounts = await Promise.all(RUNNERS.map((r) => okCalls(r, '1.0.0')));
    const newCounts = await Promise.all(RUNNERS.map((r) => okCalls(r, '2.0.0')));
    await eventually(async () => (await Promise.all(RUNNERS.map((r) => okCalls(r, '2.0.0')))).every((n, i) => n >= newCounts[i]! + 30), 'more calls on 2.0.0 at each runner', 60_000);
    const all = await stop();
    console.info(`hot swap: ${all.length} calls sent, ${all.filter((c) => c.version === '1.0.0').length} on 1.0.0, ${all.filter((c) => c.version === '2.0.0').length} on 2.0.0, ${all.filter((c) => c.status !== 200).length} failed`);
    expect(all.filter((c) => c.status !== 200)).toEqual([]);
    expect(await Promise.all(RUNNERS.map((r) => okCalls(r, '1.0.0')))).toEqual(oldCounts);
    expect(all.some((c) => c.version === '1.0.0')).toBe(true);
    // A call that started once the upgrade had been acknowledged and both runners had swapped is answered by 2.0.0.
    const last = all.filter((c) => c.started > upgraded);
    expect(last.at(-1)?.version).toBe('2.0.0');
  });

  it('kill -9 of one runner under load: only the calls it held fail, each with a code and within the deadline; it is restarted with the same identity and serves again', async () => {
    const victim = 'sandbox-runner-2';
    const pid = platform.pids[victim]!;
    const identity = identities.get(victim)!;
    const windows = async (when: 'before' | 'after', at: Date) =>
      Number(
        (await sql<{ n: string | null }>(db.url, `SELECT ${when === 'before' ? 'max' : 'min'}(window_sequence) AS n FROM call_windows WHERE runner = $1 AND window_start ${when === 'before' ? '<' : '>'} $2`, [identity, at]))[0]?.n ?? 0,
      );

    const { calls, stop } = load();
    await eventually(async () => calls.length >= 100, 'load before the kill', 60_000);
    const answeredBefore = await okCalls(victim);
    await eventually(async () => (await okCalls(victim)) > answeredBefore + 20, 'the victim answering under load', 30_000);
    const killedAt = performance.now();
    const killedAtTime = new Date();
    process.kill(pid, 'SIGKILL');

    const restarted = new RegExp(`"service":"${victim}","pid":(\\d+),"attempt":1,"msg":"service ${victim} restarted"`);
    await eventually(async () => restarted.test(platform.logs()), `${victim} restarted by the supervisor`, 60_000);
    const newPid = Number(restarted.exec(platform.logs())?.[1]);
    expect(newPid).not.toBe(pid);
    // Serving again: its own counter (a new process, so from zero) grows under the same load.
    await eventually(async () => (await okCalls(victim)) >= 30, `${victim} serving again`, 60_000);
    const all = await stop();

    const failed = all.filter((c) => c.status !== 200);
    console.info(`kill -9: ${all.length} calls sent, ${all.length - failed.length} ok, ${failed.length} failed (${[...new Set(failed.map((c) => c.code))].join(', ') || 'none'})`);
    // Nothing lost silently: every call sent got an answer, either a success or an error with a code.
    expect(all.every((c) => c.status === 200 || (c.code !== undefined && c.code !== 'HUNG' && c.code !== 'NO_ANSWER'))).toBe(true);
    expect(all.filter((c) => c.status === 200).length + failed.length).toBe(all.length);
    // Only calls in flight at the kill: at most one per client, each sent before NATS saw the runner go, each a timeout at the gateway's deadline.
    expect(failed.length).toBeLessThanOrEqual(CLIENTS);
    for (const call of failed) {
      expect(call.started, JSON.stringify(call)).toBeLessThan(killedAt + KILL_NOTICE_MS);
      expect(call.code, JSON.stringify(call)).toBe('SERVICE.TIMEOUT');
      expect(call.status).toBe(504);
      expect(call.ended - call.started).toBeLessThan(HUNG_AFTER_MS);
    }
    // The restarted runner kept its identity: its windows go on from the numbers before the kill.
    const firstAfter = await eventually(async () => windows('after', killedAtTime), `windows of ${identity} after the restart`, 30_000);
    const lastBefore = await windows('before', killedAtTime);
    expect(lastBefore).toBeGreaterThan(0);
    expect(firstAfter).toBeGreaterThan(lastBefore);
  });
});
