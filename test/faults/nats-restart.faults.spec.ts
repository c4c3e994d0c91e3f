// Fault case: under steady load, the platform's nats-server is killed with SIGKILL and started again on the same
// store and port. Every service reconnects by itself (none is restarted), and nothing acknowledged is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNothingLost, startFaultPlatform, startLoad, summary, unclearOrUnexpectedFailures, waitUntilReady, type FaultPlatform } from './fault-platform.js';

const DOWN_MS = 5_000;
const SETTLE_MS = 5_000;

describe('faults - NATS killed and restarted on the same store under load', () => {
  let f: FaultPlatform;

  beforeAll(async () => {
    f = await startFaultPlatform('fault-nats');
  }, 300_000);

  afterAll(async () => {
    await f?.remove();
  }, 60_000);

  it('faults - every service reconnects by itself; nothing acknowledged lost, no duplicate row, projections equal a replay, audit verifies', async () => {
    const load = startLoad(f);
    const from = Date.now();
    let readyAfterMs = 0;
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      await f.nats.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await f.nats.start();
      await waitUntilReady(f);
      readyAfterMs = Date.now() - from;
      await new Promise((r) => setTimeout(r, SETTLE_MS + 5_000));
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes();
    const count = await checkNothingLost(f, outcomes);
    console.log(
      `faults - NATS down ${DOWN_MS} ms, platform ready again ${readyAfterMs} ms after the kill:\n${summary(outcomes)}\n` +
        `commands sent ${count.sent}, acknowledged ${count.acknowledged}, projected ${count.projected.tokens} tokens + ${count.projected.config} config values; calls ${count.calls.ok} ok, ${count.calls.failed} failed; checked in ${count.checkedIn}`,
    );
    expect(unclearOrUnexpectedFailures(outcomes, [{ part: 'nats', from, to: from + readyAfterMs + SETTLE_MS }])).toEqual([]);
    // Reconnected, not restarted: the supervisor restarted nothing.
    expect(f.platform.logs()).not.toMatch(/restarting it in/);
    for (const client of ['tokens', 'config', 'caller-1', 'caller-2', 'reader']) {
      expect(outcomes.filter((o) => o.client === client && o.ok && o.at > from + readyAfterMs).length, `${client} after the restart`).toBeGreaterThan(5);
    }
  }, 420_000);
});
