import { PLUGIN_EVENT_TYPES, type PluginTestRunRecordedData, type TestRunMeasures, type TestRunRegression, type TestVectorResult } from '@forgeone/contracts';
import { iso, num, type TableProjection } from './table-projection.types.js';

/** One recorded test run (`test_run_recorded`): written once, never changed. */
export interface PluginTestRunRow extends Record<string, unknown> {
  readonly run_id: string;
  readonly tenant: string;
  readonly plugin: string;
  readonly version: string;
  readonly digest: string;
  readonly environment: string;
  readonly trigger: 'command' | 'install';
  readonly runner: string;
  /** Who ran it (the envelope's actor): the tester, or the installer when an install started it. */
  readonly actor: string;
  readonly started_at: string;
  readonly completed_at: string;
  readonly passed: boolean;
  readonly flagged: boolean;
  readonly vectors: TestVectorResult[];
  readonly totals: TestRunMeasures;
  readonly compared_with: PluginTestRunRecordedData['comparedWith'];
  readonly limit_factor: number;
  readonly regressions: TestRunRegression[];
  readonly sequence: number;
}

export const pluginTestRunsProjection: TableProjection<PluginTestRunRow> = {
  name: 'plugin-test-runs',
  table: 'plugin_test_runs',

  keyOf({ event }) {
    return event.type === PLUGIN_EVENT_TYPES.testRunRecorded ? { run_id: (event.data as PluginTestRunRecordedData).runId } : null;
  },

  // A run is recorded once: a second event claiming the same run id changes nothing.
  evolve(row, { sequence, event }) {
    if (row) return row;
    const d = event.data as PluginTestRunRecordedData;
    return {
      run_id: d.runId,
      tenant: event.tenant,
      plugin: d.name,
      version: d.version,
      digest: d.digest,
      environment: d.environment,
      trigger: d.trigger,
      runner: d.runner,
      actor: event.actor,
      started_at: iso(d.startedAt),
      completed_at: iso(d.completedAt),
      passed: d.passed,
      flagged: d.flagged,
      vectors: d.vectors,
      totals: d.totals,
      compared_with: d.comparedWith,
      limit_factor: d.limitFactor,
      regressions: d.regressions,
      sequence,
    };
  },

  fromDb(raw) {
    return {
      ...(raw as unknown as PluginTestRunRow),
      started_at: iso(raw.started_at),
      completed_at: iso(raw.completed_at),
      limit_factor: num(raw.limit_factor),
      sequence: num(raw.sequence),
    };
  },
};
