// Fault case: under steady load, every service of the platform is killed with SIGKILL in turn; `forgeone up`'s
// supervisor restarts it. Nothing acknowledged may be lost or projected twice, and callers see clear errors only
// while the part is down.
import { SERVICES } from '@forgeone/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNothingLost, startFaultPlatform, startLoad, summary, unclearOrUnexpectedFailures, waitUntilReady, type DownWindow, type FaultPlatform } from './fault-platform.js';

// After a restart, how long callers may still see errors: clients reconnect, consumers resume, caches refill.
const SETTLE_MS = 4_000;

describe('faults - kill -9 of each service in turn under load', () => {
  let f: FaultPlatform;

  beforeAll(async () => {
    f = await startFaultPlatform('fault-kill');
  }, 300_000);

  afterAll(async () => {
    await f?.remove();
  }, 60_000);

  it('faults - every service killed and restarted: nothing acknowledged lost, no duplicate row, projections equal a replay, audit verifies', async () => {
    const load = startLoad(f);
    const windows: DownWindow[] = [];
    const restarts: string[] = [];
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      for (const service of SERVICES) {
        const pid = f.platform.pids[service];
        expect(pid, `pid of ${service}`).toBeGreaterThan(0);
        const from = Date.now();
        process.kill(pid!, 'SIGKILL');
        // The supervisor says so, then the service is ready again.
        const said = new RegExp(`"service":"${service}","pid":${pid},"code":null,"signal":"SIGKILL"[^\\n]*restarting it in`);
        const deadline = Date.now() + 60_000;
        while (!said.test(f.platform.logs()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(f.platform.logs(), `no restart line for ${service}`).toMatch(said);
        await waitUntilReady(f);
        restarts.push(`${service} ready again ${Date.now() - from} ms after the kill`);
        windows.push({ part: service, from, to: Date.now() + SETTLE_MS });
        // Steady load with every part up between two faults.
        await new Promise((r) => setTimeout(r, SETTLE_MS + 1_000));
      }
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes();
    const count = await checkNothingLost(f, outcomes);
    console.log(`faults - service kills:\n${restarts.join('\n')}\n${summary(outcomes)}\ncommands sent ${count.sent}, acknowledged ${count.acknowledged}, projected ${count.projected.tokens} tokens + ${count.projected.config} config values; calls ${count.calls.ok} ok, ${count.calls.failed} failed; checked in ${count.checkedIn}`);
    expect(unclearOrUnexpectedFailures(outcomes, windows)).toEqual([]);
    // The load really ran through the faults, and each client got through most of the time.
    for (const client of ['tokens', 'config', 'caller-1', 'caller-2', 'reader']) {
      const mine = outcomes.filter((o) => o.client === client);
      expect(mine.filter((o) => o.ok).length, client).toBeGreaterThan(mine.length / 2);
    }
    expect(count.acknowledged).toBeGreaterThan(50);
  }, 420_000);
});
