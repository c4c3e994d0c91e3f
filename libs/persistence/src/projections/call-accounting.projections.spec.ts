import { cloudEvent, DECISION_AGGREGATE, INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES, POLICY_EVENT_TYPES, type CloudEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { callWindowsProjection } from './call-windows.projection.js';
import { complianceRecordsProjection } from './compliance-records.projection.js';
import { pluginCallsDailyProjection } from './plugin-calls-daily.projection.js';

const summary = (count: number, failures: Record<string, number>, start = '2026-12-07T23:59:58Z'): CloudEvent =>
  cloudEvent(INVOCATION_AGGREGATE, 'acme', {
    id: `w-${count}-${start}`,
    type: INVOCATION_EVENT_TYPES.invocationsRecorded,
    time: '2026-12-08T00:00:01Z',
    actor: 'runner:r1',
    tenant: 'acme',
    data: {
      tenant: 'acme',
      plugin: 'acme/echo',
      environment: 'staging',
      principal: 'alice',
      count,
      failures,
      durationMs: null,
      fuelTotal: 0,
      bytesIn: 0,
      bytesOut: 0,
      window: { runner: 'r1', sequence: 7, part: 1, parts: 1, start, end: '2026-12-08T00:00:01Z' },
    },
  });

const allow = cloudEvent(DECISION_AGGREGATE, 'acme', {
  id: 'allow-1',
  type: POLICY_EVENT_TYPES.decisionRecorded,
  time: '2026-12-07T10:00:00Z',
  actor: 'alice',
  tenant: 'acme',
  data: { decisionId: 'd1', decision: 'allow', principal: 'alice', principalTenant: 'acme', action: 'read', resource: { type: 'Tenant', id: 'acme', tenant: 'acme' }, policyIds: [], policyVersion: 1 },
});

describe('call accounting projections', () => {
  it('plugin-calls-daily - a window counts on the day it opened, and an event already folded counts once', () => {
    const first = summary(10, { 'SANDBOX.TRAP': 2 });
    const key = pluginCallsDailyProjection.keyOf({ sequence: 5, event: first });
    expect(key).toEqual({ tenant: 'acme', plugin: 'acme/echo', environment: 'staging', day: '2026-12-07' });
    const row = pluginCallsDailyProjection.evolve(null, { sequence: 5, event: first })!;
    expect(row).toMatchObject({ calls: 10, failed: 2, last_sequence: 5 });
    expect(pluginCallsDailyProjection.evolve(row, { sequence: 5, event: first })).toBe(row);
    expect(pluginCallsDailyProjection.evolve(row, { sequence: 6, event: summary(3, {}) })).toMatchObject({ calls: 13, failed: 2, last_sequence: 6 });
  });

  it('call-windows - one row per runner, number and part, written once', () => {
    const event = summary(4, {});
    expect(callWindowsProjection.keyOf({ sequence: 9, event })).toEqual({ runner: 'r1', window_sequence: 7, part: 1 });
    const row = callWindowsProjection.evolve(null, { sequence: 9, event })!;
    expect(row).toMatchObject({ calls: 4, failed: 0, version: null, duration_p50_ms: null, sequence: 9 });
    expect(callWindowsProjection.evolve(row, { sequence: 12, event: summary(5, {}) })).toBe(row);
  });

  it('compliance-records - allows and window summaries are no compliance record', () => {
    expect(complianceRecordsProjection.keyOf({ sequence: 1, event: allow })).toBeNull();
    expect(complianceRecordsProjection.keyOf({ sequence: 2, event: summary(1, {}) })).toBeNull();
  });
});
