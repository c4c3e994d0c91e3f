import { POLICY_EVENT_TYPES } from '@forgeone/contracts';
import type { EventStore, NewEvent } from '@forgeone/event-sourcing';
import type { Logger } from '@forgeone/telemetry';
import { describe, expect, it } from 'vitest';
import { ALLOW_BATCH_WINDOW_MS, DecisionRecorder, type DecisionRecord } from './decision.recorder.js';

/** An event store that notes each append with the turn of the event loop it started in. */
function recordingStore() {
  const appends: Array<{ id: string; events: readonly NewEvent[]; turn: number }> = [];
  let turn = 0;
  const tick = setInterval(() => undefined, 1_000);
  const advance = () => {
    turn += 1;
    setImmediate(advance);
  };
  setImmediate(advance);
  const store = {
    append: async (_aggregate: string, id: string, events: readonly NewEvent[]) => {
      appends.push({ id, events, turn });
      return [];
    },
  } as unknown as EventStore;
  return { store, appends, stop: () => clearInterval(tick) };
}

const errors: unknown[] = [];
const logger = { error: (fields: unknown) => errors.push(fields) } as unknown as Logger;

function allow(n: number): DecisionRecord {
  return {
    decisionId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    decision: 'allow',
    principal: 'dev-1',
    principalTenant: 'acme',
    action: 'read',
    resource: { type: 'Plugin', id: 'acme/hello', tenant: 'acme' },
    policyIds: ['developer-read'],
    policyVersion: 1,
  };
}

describe('decision recorder - allows in the background', () => {
  it('returns before anything is written, then writes the allows of one window together, each once', async () => {
    const { store, appends, stop } = recordingStore();
    const recorder = new DecisionRecorder(store, { mode: 'all' }, logger);
    for (let i = 0; i < 5; i++) await recorder.recordInBackground(allow(i), 'dev-1');
    expect(appends).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, ALLOW_BATCH_WINDOW_MS + 20));
    expect(appends.map((a) => a.events[0].id)).toEqual([0, 1, 2, 3, 4].map((i) => allow(i).decisionId));
    expect(new Set(appends.map((a) => a.turn)).size).toBe(1);
    expect(appends.every((a) => a.id === 'acme' && a.events[0].type === POLICY_EVENT_TYPES.decisionRecorded)).toBe(true);
    await recorder.flush();
    expect(appends).toHaveLength(5);
    expect(errors).toEqual([]);
    stop();
  });

  it('a full window is written on the next turn, without waiting for its timer', async () => {
    const { store, appends, stop } = recordingStore();
    const recorder = new DecisionRecorder(store, { mode: 'all' }, logger);
    for (let i = 0; i < 64; i++) await recorder.recordInBackground(allow(i), 'dev-1');
    expect(appends).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(appends).toHaveLength(64);
    await recorder.recordInBackground(allow(64), 'dev-1');
    await recorder.flush();
    expect(appends.map((a) => a.events[0].id)).toEqual(Array.from({ length: 65 }, (_, i) => allow(i).decisionId));
    stop();
  });

  it('flush - writes the allows still waiting for their window at once and waits for them', async () => {
    const { store, appends, stop } = recordingStore();
    const recorder = new DecisionRecorder(store, { mode: 'all' }, logger);
    await recorder.recordInBackground(allow(1), 'dev-1');
    await recorder.recordInBackground(allow(2), 'dev-1');
    const started = performance.now();
    await recorder.flush();
    expect(appends.map((a) => a.events[0].id)).toEqual([allow(1).decisionId, allow(2).decisionId]);
    expect(performance.now() - started).toBeLessThan(ALLOW_BATCH_WINDOW_MS + 50);
    stop();
  });
});
