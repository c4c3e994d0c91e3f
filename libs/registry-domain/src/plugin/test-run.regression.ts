import { COMMAND_ERRORS, refusalOf, TEST_RUN_METRICS, type TestRunMeasures, type TestRunMetric, type TestRunRegression, type TestVectorResult } from '@forgeone/contracts';
import semver from 'semver';
import type { PluginState, TestRunState } from './plugin.state.js';

const refuse = refusalOf(COMMAND_ERRORS.testPlugin);

/**
 * What a measure may grow by, besides the factor, before it counts as a regression: tiny baselines
 * are noise (a 0.02 ms vector taking 0.05 ms on a busy machine, a few hundred instructions more, one
 * more 64 KiB page, a longer message), so a regression is `current > previous × factor + slack`.
 * Duration is wall-clock time through the worker pool, the noisiest of the four.
 */
export const TEST_RUN_SLACK: Readonly<Record<TestRunMetric, number>> = {
  durationMs: 10,
  fuel: 10_000,
  memoryPeakBytes: 65_536,
  outputBytes: 256,
};

/** A run's totals: durations, fuel and output sizes summed over its vectors; memory the highest of them. */
export function testRunTotals(vectors: readonly Pick<TestVectorResult, TestRunMetric>[]): TestRunMeasures {
  let durationMs = 0;
  let fuel = 0;
  let memoryPeakBytes = 0;
  let outputBytes = 0;
  for (const v of vectors) {
    durationMs += v.durationMs;
    fuel += v.fuel;
    memoryPeakBytes = Math.max(memoryPeakBytes, v.memoryPeakBytes);
    outputBytes += v.outputBytes;
  }
  return { durationMs: Math.round(durationMs * 1000) / 1000, fuel, memoryPeakBytes, outputBytes };
}

/**
 * The run a new run of `version` in `environment` is compared with: the latest run of the highest
 * lower version that has one there (the version installed before it, after an ordinary upgrade).
 * Null when no lower version was ever tested there.
 */
export function baselineTestRun(state: PluginState, environment: string, version: string): { readonly digest: string; readonly run: TestRunState } | null {
  let best: { digest: string; run: TestRunState } | null = null;
  for (const { digest, ...run } of Object.values(state.testRunsByVersion[environment] ?? {})) {
    if (!semver.lt(run.version, version)) continue;
    if (best === null || semver.gt(run.version, best.run.version)) best = { digest, run };
  }
  return best;
}

/**
 * Each measure of `current` beyond `factor` times `previous` plus its slack ({@link TEST_RUN_SLACK}),
 * in the order of TEST_RUN_METRICS. `factor` of a regression is current ÷ previous (0 when the
 * previous measure was 0), rounded to 3 decimals.
 */
export function testRunRegressions(previous: TestRunMeasures, current: TestRunMeasures, factor: number): TestRunRegression[] {
  const out: TestRunRegression[] = [];
  for (const metric of TEST_RUN_METRICS) {
    const before = previous[metric];
    const now = current[metric];
    if (now > before * factor + TEST_RUN_SLACK[metric]) {
      out.push({ metric, previous: before, current: now, factor: before > 0 ? Math.round((now / before) * 1000) / 1000 : 0 });
    }
  }
  return out;
}

/**
 * A test run runs the digest installed in its environment, so it needs that installation to be of
 * the version named: `REGISTRY.NOT_INSTALLED` when nothing is installed there,
 * `REGISTRY.VERSION_NOT_INSTALLED` when another version (or, after a race, another digest) is.
 */
export function requireTestedInstallation(state: PluginState, data: { readonly name: string; readonly version: string; readonly environment: string; readonly digest?: string }): { version: string; digest: string } {
  const current = state.installations[data.environment];
  if (!current) {
    throw refuse('REGISTRY.NOT_INSTALLED', `${data.name} is not installed in ${data.environment}; install ${data.name}@${data.version} there first, then run its tests`, {
      name: data.name,
      environment: data.environment,
    });
  }
  if (current.version !== data.version || (data.digest !== undefined && current.digest !== data.digest)) {
    throw refuse(
      'REGISTRY.VERSION_NOT_INSTALLED',
      `${data.name}@${data.version} is not the version installed in ${data.environment} (${current.version} is); tests run on the installed digest only: test ${data.name}@${current.version}, or install ${data.version} there first`,
      { name: data.name, environment: data.environment, installedVersion: current.version, requestedVersion: data.version },
    );
  }
  return current;
}
