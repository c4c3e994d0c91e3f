import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  wholeAuditLog,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Test runs on the running platform: a version's manifest vectors run through the sandbox-runner on
// the digest installed in staging, recorded by the registry, compared with the previous version's run.
// Driven as a developer through the CLI and the HTTP API; an administrator reads the audit log.

const PLUGIN = 'acme/greeter';
const TEST_RUN_TYPE = 'io.forgeone.plugin.test_run_recorded.v1';

interface Vector {
  index: number;
  handler: string;
  passed: boolean;
  outputSha256: string | null;
  error: { code: string; message: string } | null;
  durationMs: number;
  fuel: number;
  memoryPeakBytes: number;
  outputBytes: number;
}
interface Run {
  runId: string;
  version: string;
  digest: string;
  environment: string;
  trigger: 'command' | 'install';
  runner: string;
  passed: boolean;
  flagged: boolean;
  vectors: Vector[];
  totals: { durationMs: number; fuel: number; memoryPeakBytes: number; outputBytes: number };
  comparedWith: { version: string; digest: string; runId: string } | null;
  limitFactor: number;
  regressions: { metric: string; previous: number; current: number; factor: number }[];
  actor?: string;
  sequence: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * examples/plugins/hello, optionally doing much more work per call: a counted loop before it answers
 * (fuel) and eight more pages of memory (the memory's high-water mark), with the same output.
 */
async function helloModule(heavy: boolean): Promise<Uint8Array> {
  let source = readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'plugin.wat'), 'utf8');
  if (heavy) {
    const locals = '    (local $out i32)\n    (local $outLen i32)\n';
    if (!source.includes(locals)) throw new Error('the hello source changed: adapt the heavy fixture');
    source = source.replace(
      locals,
      `${locals}    (local $i i32)
    (local.set $i (i32.const 40000))
    (block $spun (loop $spin
      (br_if $spun (i32.eqz (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $spin)))
    (drop (memory.grow (i32.const 8)))
`,
    );
  }
  const wabt = await wabtInit();
  const module = wabt.parseWat('plugin.wat', source);
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

describe('test runs - vectors in staging through the real sandbox, recorded and compared', () => {
  const namespace = testNamespace('e2e-testruns');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-testruns-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  let developer: string;
  let admin: string;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const http = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const runsOf = async (environment?: string) =>
    cliSucceeded<{ runs: Run[] }>(await as(developer, 'plugin', 'test-runs', PLUGIN, ...(environment ? ['--env', environment] : []))).runs;

  async function publish(version: string, tests: { handler: string; input: string; expect: string }[], heavy = false): Promise<void> {
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    const dir = join(work, version);
    mkdirSync(dir);
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name: PLUGIN, version, tests }, null, 2));
    writeFileSync(join(dir, 'plugin.wasm'), await helloModule(heavy));
    cliSucceeded(await as(developer, 'plugin', 'publish', dir));
  }

  const TWO_PASSING = [
    { handler: 'greet', input: 'world', expect: 'hello, world' },
    { handler: 'greet', input: 'ForgeOne', expect: 'hello, ForgeOne' },
  ];

  beforeAll(async () => {
    db = await createTestDatabase('fo_testruns');
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_TEST_ON_INSTALL: 'staging', FORGEONE_TEST_REGRESSION_FACTOR: '1.5' } });
    developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer', tenant: 'acme' })).token;
    admin = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('install into staging - runs the vectors automatically, recorded for the installer with measures per vector', async () => {
    await publish('1.0.0', TWO_PASSING);
    cliSucceeded(await as(developer, 'plugin', 'install', `${PLUGIN}@1.0.0`, '--env', 'staging'));
    const [run] = await eventually(async () => {
      const runs = await runsOf('staging');
      return runs.length > 0 ? runs : undefined;
    }, 'the test run an install into staging starts');
    expect(run).toMatchObject({ version: '1.0.0', environment: 'staging', trigger: 'install', passed: true, flagged: false, comparedWith: null, actor: 'dev-1', limitFactor: 1.5 });
    expect(run.vectors.map((v) => [v.index, v.passed, v.error])).toEqual([
      [0, true, null],
      [1, true, null],
    ]);
    expect(run.vectors[0].outputSha256).toBe(sha256('hello, world'));
    expect(run.vectors[1]).toMatchObject({ outputBytes: 'hello, ForgeOne'.length, outputSha256: sha256('hello, ForgeOne') });
    for (const v of run.vectors) {
      expect(v.fuel).toBeGreaterThan(0);
      expect(v.memoryPeakBytes).toBe(65_536);
      expect(v.durationMs).toBeGreaterThan(0);
    }
    expect(run.totals).toMatchObject({ fuel: run.vectors[0].fuel + run.vectors[1].fuel, memoryPeakBytes: 65_536, outputBytes: 27 });
    expect(run.runner).not.toBe('');
  });

  it('plugin test - a passing run through the CLI, shown by plugin show and history', async () => {
    const run = cliSucceeded<Run & { eventId: string; projected: boolean }>(await as(developer, 'plugin', 'test', `${PLUGIN}@1.0.0`, '--env', 'staging'));
    expect(run).toMatchObject({ version: '1.0.0', trigger: 'command', passed: true, flagged: false, comparedWith: null, projected: true });
    const human = await runCli(platform.apiUrl, ['plugin', 'test', `${PLUGIN}@1.0.0`, '--env', 'staging'], { token: developer });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${PLUGIN}@1.0.0 in staging`);
    expect(human.stdout).toContain('passed');
    expect(human.stdout).toContain('no earlier version was tested here');

    const show = cliSucceeded<{ testRuns: Run[] }>(await as(developer, 'plugin', 'show', PLUGIN));
    expect(show.testRuns).toHaveLength(1);
    expect(show.testRuns[0]).toMatchObject({ environment: 'staging', version: '1.0.0', passed: true, trigger: 'command' });
    const showText = await runCli(platform.apiUrl, ['plugin', 'show', PLUGIN], { token: developer });
    expect(showText.stdout).toMatch(/latest test runs\n[^\n]*\nstaging\s+1\.0\.0\s+passed/);

    const history = cliSucceeded<{ events: { type: string; actor: string; data: { trigger: string } }[] }>(await as(developer, 'plugin', 'history', PLUGIN));
    expect(history.events.filter((e) => e.type === TEST_RUN_TYPE).map((e) => [e.data.trigger, e.actor])).toEqual([
      ['install', 'dev-1'],
      ['command', 'dev-1'],
      ['command', 'dev-1'],
    ]);
    const historyText = await runCli(platform.apiUrl, ['plugin', 'history', PLUGIN], { token: developer });
    expect(historyText.stdout).toContain('plugin.test_run_recorded (passed)');
  });

  it('plugin test - a version other than the one installed, or none installed, is refused before anything runs', async () => {
    await publish('1.0.1', [TWO_PASSING[0], { handler: 'greet', input: '', expect: 'hello, ' }]);
    const before = (await runsOf()).length;
    const other = cliRefusal(await as(developer, 'plugin', 'test', `${PLUGIN}@1.0.1`, '--env', 'staging'));
    expect(other.code).toBe('REGISTRY.VERSION_NOT_INSTALLED');
    expect(other.message).toContain('1.0.0 is');
    expect(cliRefusal(await as(developer, 'plugin', 'test', `${PLUGIN}@1.0.0`, '--env', 'qa')).code).toBe('REGISTRY.NOT_INSTALLED');
    expect(cliRefusal(await as(developer, 'plugin', 'test', `${PLUGIN}@9.9.9`, '--env', 'staging')).code).toBe('REGISTRY.VERSION_NOT_FOUND');
    const response = await http(developer, 'POST', `/v1/plugins/${PLUGIN}/test-runs`, { version: '1.0.1', environment: 'staging' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('REGISTRY.VERSION_NOT_INSTALLED');
    // A developer may not test in production (default policies), whatever is installed there.
    expect(cliRefusal(await as(developer, 'plugin', 'test', `${PLUGIN}@1.0.0`, '--env', 'production')).code).toBe('AUTHZ.DENIED');
    expect((await runsOf()).length).toBe(before);
  });

  it('plugin test - a failing vector is recorded as a failed run naming the vector and its error (HTTP and CLI)', async () => {
    cliSucceeded(await as(developer, 'plugin', 'upgrade', `${PLUGIN}@1.0.1`, '--env', 'staging'));
    const response = await http(developer, 'POST', `/v1/plugins/${PLUGIN}/test-runs`, { version: '1.0.1', environment: 'staging' });
    expect(response.status).toBe(201);
    const run = (await response.json()) as Run;
    expect(run).toMatchObject({ version: '1.0.1', passed: false, trigger: 'command', comparedWith: { version: '1.0.0' } });
    expect(run.vectors[0]).toMatchObject({ index: 0, passed: true });
    expect(run.vectors[1]).toMatchObject({ index: 1, passed: false, outputSha256: null, error: { code: 'SANDBOX.GUEST_ERROR' } });
    expect(run.vectors[1].error?.message).toContain('greet needs a name');

    const cli = await runCli(platform.apiUrl, ['plugin', 'test', `${PLUGIN}@1.0.1`, '--env', 'staging'], { token: developer });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('FAILED');
    expect(cli.stdout).toMatch(/#2 greet: .*greet needs a name.*\(SANDBOX\.GUEST_ERROR\)/);

    const listed = await http(developer, 'GET', `/v1/plugins/${PLUGIN}/test-runs?environment=staging`);
    expect(listed.status).toBe(200);
    const { runs } = (await listed.json()) as { runs: Run[] };
    expect(runs[0]).toMatchObject({ version: '1.0.1', passed: false, actor: 'dev-1' });
    expect(runs.map((r) => r.sequence)).toEqual([...runs.map((r) => r.sequence)].sort((a, b) => b - a));
    // The upgrade into staging ran the vectors too, and recorded that run as failing.
    expect(runs.some((r) => r.version === '1.0.1' && r.trigger === 'install' && !r.passed)).toBe(true);
  });

  it('operational impact - a version doing much more work per vector is flagged against the previous version', async () => {
    await publish('1.1.0', TWO_PASSING, true);
    cliSucceeded(await as(developer, 'plugin', 'upgrade', `${PLUGIN}@1.1.0`, '--env', 'staging'));
    const run = cliSucceeded<Run>(await as(developer, 'plugin', 'test', `${PLUGIN}@1.1.0`, '--env', 'staging'));
    expect(run).toMatchObject({ version: '1.1.0', passed: true, flagged: true, comparedWith: { version: '1.0.1' }, limitFactor: 1.5 });
    const metrics = run.regressions.map((r) => r.metric);
    expect(metrics).toEqual(expect.arrayContaining(['fuel', 'memoryPeakBytes']));
    const fuel = run.regressions.find((r) => r.metric === 'fuel')!;
    expect(fuel.current).toBeGreaterThan(fuel.previous * 10);
    expect(run.regressions.find((r) => r.metric === 'memoryPeakBytes')).toMatchObject({ previous: 65_536, current: 9 * 65_536 });

    const human = await runCli(platform.apiUrl, ['plugin', 'test', `${PLUGIN}@1.1.0`, '--env', 'staging'], { token: developer });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('passed, FLAGGED');
    expect(human.stdout).toMatch(/compared with 1\.0\.1 .*REGRESSIONS .*fuel/);
    const show = await runCli(platform.apiUrl, ['plugin', 'show', PLUGIN], { token: developer });
    expect(show.stdout).toMatch(/staging\s+1\.1\.0\s+passed, FLAGGED/);
  });

  it('audit log - every run with its actor, trigger and result', async () => {
    // The run the last upgrade started runs in the background, beside the test's own.
    await eventually(async () => (await runsOf('staging')).filter((r) => r.version === '1.1.0').length >= 3, 'the run the upgrade to 1.1.0 started');
    const entries = await wholeAuditLog<{ sequence: number; type: string; actor: string; data: Run & { trigger: string } }>((...args) => as(admin, ...args), '--plugin', PLUGIN);
    const runs = entries.filter((e) => e.type === TEST_RUN_TYPE);
    expect(runs.every((e) => e.actor === 'dev-1')).toBe(true);
    expect(runs.map((e) => [e.data.version, e.data.trigger, e.data.passed])).toEqual(
      expect.arrayContaining([
        ['1.0.0', 'install', true],
        ['1.0.0', 'command', true],
        ['1.0.1', 'install', false],
        ['1.0.1', 'command', false],
        ['1.1.0', 'install', true],
        ['1.1.0', 'command', true],
      ]),
    );
    expect(runs.filter((e) => e.data.version === '1.1.0').every((e) => e.data.flagged)).toBe(true);
    // The inputs and outputs themselves never enter the stream: only the output's digest and size.
    expect(JSON.stringify(runs)).not.toContain('hello, ForgeOne');
  });
});
