// Fault case: under steady load, the platform's PostgreSQL is stopped for 30 s. Commands are still accepted (their
// events are in NATS), queries of projections answer 503 with a code saying so, and the projector waits and
// catches up; nothing acknowledged is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNothingLost, startFaultPlatform, startLoad, summary, unclearOrUnexpectedFailures, waitUntilReady, type FaultPlatform } from './fault-platform.js';

const DOWN_MS = 30_000;
const SETTLE_MS = 5_000;

describe('faults - PostgreSQL stopped for 30 s under load', () => {
  let f: FaultPlatform;

  beforeAll(async () => {
    f = await startFaultPlatform('fault-pg');
  }, 300_000);

  afterAll(async () => {
    await f?.remove();
  }, 60_000);

  it('faults - commands accepted throughout, queries 503 with a clear code, the projector catches up; nothing lost', async () => {
    const load = startLoad(f);
    let stoppedAt = 0;
    let downAt = 0;
    let restartAt = 0;
    let startedAt = 0;
    let readyAt = 0;
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      stoppedAt = Date.now();
      await f.postgres.stop();
      // Fast shutdown takes a moment under load: the outage proper starts once the server has exited.
      downAt = Date.now();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      // The server accepts connections before start() returns: the outage ends when the start begins.
      restartAt = Date.now();
      await f.postgres.start();
      startedAt = Date.now();
      await waitUntilReady(f);
      readyAt = Date.now();
      await new Promise((r) => setTimeout(r, SETTLE_MS + 5_000));
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes();
    const count = await checkNothingLost(f, outcomes);
    // Outcomes are stamped when the answer arrives; one answered just before the exit may land a moment after it.
    const during = outcomes.filter((o) => o.at > downAt + 1_000 && o.at < restartAt);
    console.log(
      `faults - PostgreSQL down ${startedAt - stoppedAt} ms, platform ready ${readyAt - startedAt} ms after its start:\n${summary(outcomes)}\n` +
        `during the outage:\n${summary(during)}\n` +
        `commands sent ${count.sent}, acknowledged ${count.acknowledged}, projected ${count.projected.tokens} tokens + ${count.projected.config} config values; calls ${count.calls.ok} ok, ${count.calls.failed} failed; checked in ${count.checkedIn}`,
    );
    // Commands (and calls) do not need PostgreSQL: every one sent during the outage was acknowledged.
    for (const client of ['tokens', 'config', 'caller-1', 'caller-2']) {
      const mine = during.filter((o) => o.client === client);
      expect(mine.length, client).toBeGreaterThan(10);
      expect(mine.filter((o) => !o.ok).map((o) => `${o.status} ${o.code}`), client).toEqual([]);
    }
    // Queries of projections cannot be answered: 503 with a code that says why.
    const reads = during.filter((o) => o.client === 'reader');
    expect(reads.length).toBeGreaterThan(10);
    expect(new Set(reads.map((o) => `${o.status} ${o.code}: ${o.message}`))).toEqual(
      new Set(['503 SERVICE.UNAVAILABLE: the projections database is not reachable; check that Postgres is running and DATABASE_URL points at it, then retry']),
    );
    expect(unclearOrUnexpectedFailures(outcomes, [{ part: 'postgres', from: stoppedAt, to: readyAt + SETTLE_MS }])).toEqual([]);
    expect(f.platform.logs()).not.toMatch(/restarting it in/);
  }, 420_000);
});
