import { ForgeOneError, PLUGIN_EVENT_TYPES, type PluginEvent, type PluginManifest, type TestVectorResult } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { RecordTestRun } from './plugin.commands.js';
import { decide, evolve } from './plugin.decider.js';
import { initialPluginState, type PluginState } from './plugin.state.js';
import { baselineTestRun, TEST_RUN_SLACK, testRunRegressions, testRunTotals } from './test-run.regression.js';

const NAME = 'acme/hello';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (version: string): PluginManifest => ({
  name: NAME,
  version,
  abi: 1,
  description: 'says hello',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 65536 },
  tests: [{ handler: 'greet', input: 'a', expect: 'hello a' }],
});
const published = (version: string, d: string): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.versionPublished,
  data: { name: NAME, version, digest: d, sizeBytes: 10, manifestDigest: digest('m'), manifest: manifest(version), publisher: 'user:1' },
});
const installed = (version: string, d: string, environment = 'staging'): PluginEvent => ({ type: PLUGIN_EVENT_TYPES.installed, data: { name: NAME, version, digest: d, environment } });
const upgraded = (fromVersion: string, version: string, d: string, environment = 'staging'): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.upgraded,
  data: { name: NAME, fromVersion, version, digest: d, environment },
});
const vector = (measures: Partial<TestVectorResult> = {}): TestVectorResult => ({
  index: 0,
  handler: 'greet',
  passed: true,
  outputSha256: 'f'.repeat(64),
  error: null,
  durationMs: 0.05,
  fuel: 1_000,
  memoryPeakBytes: 65_536,
  outputBytes: 7,
  ...measures,
});
const record = (version: string, d: string, vectors: TestVectorResult[], runId = '00000000-0000-4000-8000-000000000001'): RecordTestRun => ({
  type: 'RecordTestRun',
  data: {
    runId,
    name: NAME,
    version,
    digest: d,
    environment: 'staging',
    trigger: 'command',
    runner: 'runner-1',
    startedAt: '2026-12-07T10:00:00.000Z',
    completedAt: '2026-12-07T10:00:01.000Z',
    vectors,
    limitFactor: 1.5,
  },
});

function stateOf(events: PluginEvent[]): PluginState {
  return events.reduce(evolve, initialPluginState());
}
function refusal(run: () => unknown): ForgeOneError {
  try {
    run();
  } catch (error) {
    if (error instanceof ForgeOneError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const A = digest('a');
const B = digest('b');

describe('plugin decider - test runs', () => {
  it('records a passing run of the installed version with its totals and no baseline', () => {
    const [event] = decide(record('1.0.0', A, [vector(), vector({ index: 1, memoryPeakBytes: 131_072 })]), stateOf([published('1.0.0', A), installed('1.0.0', A)]));
    expect(event.type).toBe(PLUGIN_EVENT_TYPES.testRunRecorded);
    const data = event.data as Extract<PluginEvent, { type: typeof PLUGIN_EVENT_TYPES.testRunRecorded }>['data'];
    expect(data).toMatchObject({ passed: true, flagged: false, comparedWith: null, regressions: [], totals: { durationMs: 0.1, fuel: 2_000, memoryPeakBytes: 131_072, outputBytes: 14 } });
  });

  it('records a failing vector as a failed run', () => {
    const failing = vector({ passed: false, outputSha256: null, outputBytes: 0, error: { code: 'SANDBOX.GUEST_ERROR', message: 'boom' } });
    const [event] = decide(record('1.0.0', A, [vector(), { ...failing, index: 1 }]), stateOf([published('1.0.0', A), installed('1.0.0', A)]));
    expect(event.data).toMatchObject({ passed: false, vectors: [{ passed: true }, { index: 1, passed: false, error: { code: 'SANDBOX.GUEST_ERROR' } }] });
  });

  it('refuses a version other than the installed one, and an environment with nothing installed', () => {
    const state = stateOf([published('1.0.0', A), published('1.1.0', B), installed('1.0.0', A)]);
    expect(refusal(() => decide(record('1.1.0', B, [vector()]), state)).code).toBe('REGISTRY.VERSION_NOT_INSTALLED');
    expect(refusal(() => decide(record('1.0.0', B, [vector()]), state)).code).toBe('REGISTRY.VERSION_NOT_INSTALLED');
    expect(refusal(() => decide(record('1.0.0', A, [vector()]), stateOf([published('1.0.0', A)]))).code).toBe('REGISTRY.NOT_INSTALLED');
    expect(refusal(() => decide(record('2.0.0', A, [vector()]), state)).code).toBe('REGISTRY.VERSION_NOT_FOUND');
  });

  it('flags the measures beyond the factor over the previous version, and keeps the latest run per digest', () => {
    const first = decide(record('1.0.0', A, [vector()]), stateOf([published('1.0.0', A), installed('1.0.0', A)]));
    const history = [published('1.0.0', A), installed('1.0.0', A), ...first, published('1.1.0', B), upgraded('1.0.0', '1.1.0', B)];
    const [event] = decide(record('1.1.0', B, [vector({ fuel: 500_000, memoryPeakBytes: 4 * 65_536 })], '00000000-0000-4000-8000-000000000002'), stateOf(history));
    expect(event.data).toMatchObject({
      flagged: true,
      comparedWith: { version: '1.0.0', digest: A, runId: '00000000-0000-4000-8000-000000000001' },
      regressions: [
        { metric: 'fuel', previous: 1_000, current: 500_000, factor: 500 },
        { metric: 'memoryPeakBytes', previous: 65_536, current: 262_144, factor: 4 },
      ],
    });
    const after = stateOf([...history, event]);
    expect(after.testRuns.staging[B]).toMatchObject({ runId: '00000000-0000-4000-8000-000000000002', version: '1.1.0', passed: true, flagged: true });
    expect(after.testRuns.staging[A]).toMatchObject({ version: '1.0.0', flagged: false });
  });

  it('compares with the previous version even when both versions share a digest (only the manifest changed)', () => {
    const first = decide(record('1.0.0', A, [vector()]), stateOf([published('1.0.0', A), installed('1.0.0', A)]));
    const history = [published('1.0.0', A), installed('1.0.0', A), ...first, published('1.0.1', A), upgraded('1.0.0', '1.0.1', A)];
    const second = decide(record('1.0.1', A, [vector()], '00000000-0000-4000-8000-000000000002'), stateOf(history));
    const [third] = decide(record('1.0.1', A, [vector()], '00000000-0000-4000-8000-000000000003'), stateOf([...history, ...second]));
    expect(third.data).toMatchObject({ comparedWith: { version: '1.0.0', digest: A, runId: '00000000-0000-4000-8000-000000000001' } });
  });
});

describe('test run regressions - comparison', () => {
  const base = { durationMs: 0.02, fuel: 100, memoryPeakBytes: 65_536, outputBytes: 5 };

  it('ignores growth of tiny baselines within the absolute slack', () => {
    expect(testRunRegressions(base, { durationMs: 0.2, fuel: 5_000, memoryPeakBytes: 65_536 * 2, outputBytes: 200 }, 1.5)).toEqual([]);
  });

  it('counts a measure beyond factor × previous + slack, and not one at exactly that bound', () => {
    const previous = { durationMs: 100, fuel: 1_000_000, memoryPeakBytes: 1_048_576, outputBytes: 1_000 };
    const atBound = { durationMs: 150 + TEST_RUN_SLACK.durationMs, fuel: 1_500_000 + TEST_RUN_SLACK.fuel, memoryPeakBytes: 1_572_864 + TEST_RUN_SLACK.memoryPeakBytes, outputBytes: 1_500 + TEST_RUN_SLACK.outputBytes };
    expect(testRunRegressions(previous, atBound, 1.5)).toEqual([]);
    const beyond = { durationMs: atBound.durationMs + 1, fuel: atBound.fuel + 1, memoryPeakBytes: atBound.memoryPeakBytes + 1, outputBytes: atBound.outputBytes + 1 };
    expect(testRunRegressions(previous, beyond, 1.5).map((r) => r.metric)).toEqual(['durationMs', 'fuel', 'memoryPeakBytes', 'outputBytes']);
  });

  it('names factor 0 when the previous measure was 0, and never flags an improvement', () => {
    expect(testRunRegressions({ ...base, outputBytes: 0 }, { ...base, outputBytes: 10_000 }, 2)).toEqual([{ metric: 'outputBytes', previous: 0, current: 10_000, factor: 0 }]);
    expect(testRunRegressions({ durationMs: 500, fuel: 1e9, memoryPeakBytes: 1e8, outputBytes: 1e6 }, base, 1.5)).toEqual([]);
  });

  it('sums durations, fuel and output over the vectors and takes the highest memory', () => {
    expect(testRunTotals([vector({ durationMs: 1.25 }), vector({ durationMs: 2.5, memoryPeakBytes: 3 })])).toEqual({ durationMs: 3.75, fuel: 2_000, memoryPeakBytes: 65_536, outputBytes: 14 });
    expect(testRunTotals([])).toEqual({ durationMs: 0, fuel: 0, memoryPeakBytes: 0, outputBytes: 0 });
  });

  it('compares with the highest lower version that has a run, never a higher or the same one', () => {
    const run = (version: string, d: string) => ({ runId: version, version, passed: true, flagged: false, completedAt: '2026-12-07T10:00:00.000Z', totals: base, digest: d });
    const runs = [run('1.0.0', digest('1')), run('1.2.0', digest('2')), run('2.0.0', digest('3')), run('1.5.0', digest('4'))];
    const state: PluginState = { ...initialPluginState(), testRunsByVersion: { staging: Object.fromEntries(runs.map((r) => [r.version, r])) } };
    expect(baselineTestRun(state, 'staging', '1.5.0')?.run.version).toBe('1.2.0');
    expect(baselineTestRun(state, 'staging', '1.0.0')).toBeNull();
    expect(baselineTestRun(state, 'production', '3.0.0')).toBeNull();
  });
});
