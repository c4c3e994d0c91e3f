import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { names as namesFor } from '@forgeone/contracts';
import {
  createTestDatabase,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  TEST_NATS_URL,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Hot swap under load (ARCHITECTURE.md, Sandbox: in-flight calls finish on the old version, new calls go to the new
// one, no call fails): clients call a plugin over forgeone.invoke without pause while it is upgraded,
// rolled back and upgraded again through the CLI.

const PLUGIN = 'acme/versioned';
const ENVIRONMENT = 'staging';
const CLIENTS = 8;
// Calls each phase must see on its own version once the swap has settled, and at the least this long.
const SETTLED_CALLS = 300;
const SETTLED_MS = 1_500;
const INPUT = 'x';
const output = (version: string) => `v${version} ${INPUT}`;

interface Call {
  readonly started: number;
  readonly ended: number;
  readonly version?: string;
  readonly output?: string;
  readonly error?: string;
}

interface Change {
  readonly args: readonly string[];
  readonly version: string;
  started: number;
  done: number;
}

/** examples/plugins/hello with its 7-byte greeting replaced, so the output names the version ("v1.0.0 x"). */
async function versionedModule(version: string): Promise<Uint8Array> {
  const source = readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'plugin.wat'), 'utf8');
  const segment = '(data (i32.const 16) "hello, ")';
  const greeting = `v${version} `;
  if (!source.includes(segment) || greeting.length !== 7) throw new Error('the hello source changed: adapt the versioned fixture');
  const wabt = await wabtInit();
  const module = wabt.parseWat('plugin.wat', source.replace(segment, `(data (i32.const 16) "${greeting}")`));
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

describe('platform - hot swap under load', () => {
  const namespace = testNamespace('e2e-swap');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-swap-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  let nc: NatsConnection;
  const cli = (...args: string[]) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken });

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    const hello = JSON.parse(readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    for (const version of ['1.0.0', '2.0.0']) {
      const dir = join(work, version);
      mkdirSync(dir);
      const manifest = { ...hello, name: PLUGIN, version, description: 'Answers "v<version> " followed by the input', tests: [{ handler: 'greet', input: 'world', expect: `v${version} world` }] };
      writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify(manifest, null, 2));
      writeFileSync(join(dir, 'plugin.wasm'), await versionedModule(version));
      const publish = await cli('plugin', 'publish', dir);
      expect(publish.stderr).toBe('');
    }
    expect((await cli('plugin', 'install', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT)).code).toBe(0);
    nc = await connect({ servers: TEST_NATS_URL, name: 'hot-swap-e2e' });
  });

  afterAll(async () => {
    await nc?.close();
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('upgrade, rollback and upgrade while clients call without pause: no call fails, each phase settles on its version', async () => {
    const names = namesFor(namespace);
    const subject = names.invoke(ENVIRONMENT, PLUGIN);
    const auth = natsHeaders();
    auth.set('Authorization', `Bearer ${platform.bootstrapToken}`);
    const body = new TextEncoder().encode(JSON.stringify({ handler: 'greet', input: INPUT }));
    const calls: Call[] = [];
    let running = true;

    const client = async () => {
      while (running) {
        const started = performance.now();
        try {
          const reply = await nc.request(subject, body, { headers: auth, timeout: 10_000 });
          const doc = reply.json<{ version?: string; output?: string; error?: { code: string; message: string } }>();
          const ended = performance.now();
          if (doc.error) calls.push({ started, ended, error: `${doc.error.code}: ${doc.error.message}` });
          else calls.push({ started, ended, version: doc.version, output: doc.output });
        } catch (error) {
          calls.push({ started, ended: performance.now(), error: String(error) });
        }
      }
    };

    // Waits until `version` has answered SETTLED_CALLS calls that started after its first answer, for SETTLED_MS at least.
    const settleOn = async (version: string, since: number) => {
      const deadline = performance.now() + 30_000;
      for (;;) {
        const first = calls.find((c) => c.started >= since && c.version === version);
        if (first) {
          const settled = calls.filter((c) => c.started > first.ended).length;
          if (settled >= SETTLED_CALLS && performance.now() - first.ended >= SETTLED_MS) return;
        }
        if (performance.now() > deadline) throw new Error(`calls did not settle on ${version} within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    const changes: Change[] = [
      { args: ['plugin', 'upgrade', `${PLUGIN}@2.0.0`, '--env', ENVIRONMENT], version: '2.0.0', started: 0, done: 0 },
      { args: ['plugin', 'rollback', `${PLUGIN}@1.0.0`, '--env', ENVIRONMENT, '--reason', 'load test: back to 1.0.0'], version: '1.0.0', started: 0, done: 0 },
      { args: ['plugin', 'upgrade', `${PLUGIN}@2.0.0`, '--env', ENVIRONMENT], version: '2.0.0', started: 0, done: 0 },
    ];

    const clients = Array.from({ length: CLIENTS }, client);
    try {
      await settleOn('1.0.0', 0);
      for (const change of changes) {
        change.started = performance.now();
        const result = await cli(...change.args);
        change.done = performance.now();
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        await settleOn(change.version, change.started);
      }
    } finally {
      running = false;
      await Promise.all(clients);
    }

    // No call failed, and every answer is exactly one version's output.
    expect(calls.filter((c) => c.error !== undefined).slice(0, 5)).toEqual([]);
    const wrong = calls.filter((c) => c.version === undefined || !['1.0.0', '2.0.0'].includes(c.version) || c.output !== output(c.version));
    expect(wrong.slice(0, 5)).toEqual([]);

    // Before the first change: only 1.0.0.
    const before = calls.filter((c) => c.started < changes[0].started);
    expect(before.length).toBeGreaterThanOrEqual(SETTLED_CALLS);
    expect(new Set(before.map((c) => c.version))).toEqual(new Set(['1.0.0']));

    changes.forEach((change, i) => {
      const end = changes[i + 1]?.started ?? Number.POSITIVE_INFINITY;
      const phase = calls.filter((c) => c.started >= change.started && c.started < end);
      const first = phase.filter((c) => c.version === change.version).sort((a, b) => a.ended - b.ended)[0];
      expect(first, `a call answered by ${change.version} after change ${i + 1}`).toBeDefined();
      // Load went on through the swap itself (the CLI command and the runner's switch).
      expect(phase.filter((c) => c.started < first.ended).length, `calls during change ${i + 1}`).toBeGreaterThan(CLIENTS);
      // Once the new version has answered, no call that starts later is answered by the old one.
      const after = phase.filter((c) => c.started > first.ended);
      expect(after.length, `calls after change ${i + 1}`).toBeGreaterThanOrEqual(SETTLED_CALLS);
      expect(after.filter((c) => c.version !== change.version).slice(0, 3), `calls after change ${i + 1}`).toEqual([]);
      // And the switch came soon after the command returned (the runner reads the event stream).
      expect(first.ended - change.done, `switch delay after change ${i + 1}`).toBeLessThan(10_000);
    });

    // The runner agrees: every call counted as a success, none as a failure, and 2.0.0 is what it runs.
    const stats = (
      await nc.request(names.command('sandbox-runner', 'stats'), new TextEncoder().encode('{}'), { headers: auth, timeout: 10_000 })
    ).json<{ invocations: Record<string, { ok: number; failed: number }>; installations: Array<{ name: string; version: string }> }>();
    expect(stats.invocations[`${ENVIRONMENT}/${PLUGIN}`]).toEqual({ ok: calls.length, failed: 0 });
    expect(stats.installations.filter((i) => i.name === PLUGIN).map((i) => i.version)).toEqual(['2.0.0']);
  });
});
