import { cloudEvent, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, type CloudEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { pluginTestRunsProjection } from './plugin-test-runs.projection.js';

const run = (runId: string, passed: boolean): CloudEvent =>
  cloudEvent(PLUGIN_AGGREGATE, 'acme:acme/echo', {
    id: `e-${runId}`,
    type: PLUGIN_EVENT_TYPES.testRunRecorded,
    time: '2026-12-07T10:00:02Z',
    actor: 'alice',
    tenant: 'acme',
    subject: 'acme/echo',
    data: {
      runId,
      name: 'acme/echo',
      version: '1.0.0',
      digest: `sha256:${'a'.repeat(64)}`,
      environment: 'staging',
      trigger: 'install',
      runner: 'runner-1',
      startedAt: '2026-12-07T10:00:00Z',
      completedAt: '2026-12-07T10:00:01Z',
      passed,
      vectors: [{ index: 0, handler: 'echo', passed, outputSha256: null, error: passed ? null : { code: 'SANDBOX.TRAP', message: 'unreachable' }, durationMs: 0.1, fuel: 10, memoryPeakBytes: 65536, outputBytes: 0 }],
      totals: { durationMs: 0.1, fuel: 10, memoryPeakBytes: 65536, outputBytes: 0 },
      comparedWith: null,
      limitFactor: 1.5,
      regressions: [],
      flagged: false,
    },
  });

describe('plugin test runs projection', () => {
  it('writes one row per run with its actor, once, and ignores other events', () => {
    const id = '00000000-0000-4000-8000-000000000001';
    const row = pluginTestRunsProjection.evolve(null, { sequence: 9, event: run(id, false) });
    expect(row).toMatchObject({ run_id: id, tenant: 'acme', plugin: 'acme/echo', actor: 'alice', trigger: 'install', passed: false, started_at: '2026-12-07T10:00:00.000Z', sequence: 9 });
    expect(row?.vectors[0].error).toEqual({ code: 'SANDBOX.TRAP', message: 'unreachable' });
    expect(pluginTestRunsProjection.evolve(row, { sequence: 10, event: run(id, true) })).toBe(row);
    expect(pluginTestRunsProjection.keyOf({ sequence: 9, event: run(id, true) })).toEqual({ run_id: id });
  });
});
