import { describe, expect, it } from 'vitest';
import { authenticationFailureSettingsFromEnv } from './authentication-failure.settings.js';
import { AuthenticationFailureTally, OTHER_SOURCES, type FailureOrigin } from './authentication-failure.tally.js';

const WINDOW = 60_000;
const gateway = (address: string): FailureOrigin => ({ source: `http ${address}`, via: 'service.gateway' });

function tally(clock: { t: number }, options: { recordedPerWindow?: number; maxSources?: number } = {}) {
  return new AuthenticationFailureTally({ windowMs: WINDOW, recordedPerSource: 5, overflowTenant: 'default', now: () => clock.t, ...options });
}

describe('authentication failures - tally', () => {
  it('records the first failures of a source one by one and counts the rest until the window closes', () => {
    const clock = { t: 10 * WINDOW + 1_000 };
    const t = tally(clock);
    const verdicts = Array.from({ length: 500 }, (_, i) => t.admit(gateway('203.0.113.7'), 'default', i % 2 ? 'invalid token' : 'malformed token'));
    expect(verdicts.filter((v) => v === 'record')).toHaveLength(5);
    expect(verdicts.slice(0, 5)).toEqual(Array(5).fill('record'));
    // Nothing to report while the window is open.
    expect(t.drain()).toEqual([]);
    clock.t = 11 * WINDOW;
    expect(t.drain()).toEqual([
      {
        source: 'http 203.0.113.7',
        via: 'service.gateway',
        tenant: 'default',
        windowStart: new Date(10 * WINDOW),
        windowEnd: new Date(11 * WINDOW),
        count: 495,
        recorded: 5,
        reasons: { 'invalid token': 248, 'malformed token': 247 },
      },
    ]);
    expect(t.drain()).toEqual([]);
    // A new window records again.
    expect(t.admit(gateway('203.0.113.7'), 'default', 'invalid token')).toBe('record');
  });

  it('keeps sources apart: another client is recorded though the first one is past its share', () => {
    const clock = { t: 0 };
    const t = tally(clock);
    for (let i = 0; i < 50; i++) t.admit(gateway('203.0.113.7'), 'default', 'invalid token');
    expect(t.admit(gateway('198.51.100.1'), 'default', 'invalid token')).toBe('record');
    expect(t.admit({ source: 'bus', via: 'service.registry' }, 'default', 'invalid token')).toBe('record');
  });

  it('counts per tenant, so a revoked token is counted under its own tenant', () => {
    const clock = { t: 0 };
    const t = tally(clock);
    for (let i = 0; i < 5; i++) t.admit(gateway('203.0.113.7'), 'default', 'invalid token');
    t.admit(gateway('203.0.113.7'), 'acme', 'token revoked');
    t.admit(gateway('203.0.113.7'), 'default', 'invalid token');
    expect(t.drain(true).map((c) => [c.tenant, c.count, c.reasons])).toEqual([
      ['acme', 1, { 'token revoked': 1 }],
      ['default', 1, { 'invalid token': 1 }],
    ]);
  });

  it('stays bounded however many sources a caller claims', () => {
    const clock = { t: 0 };
    const t = tally(clock, { recordedPerWindow: 20, maxSources: 10 });
    let recorded = 0;
    for (let i = 0; i < 10_000; i++) if (t.admit(gateway(`10.0.${i >> 8}.${i & 255}`), 'default', 'invalid token') === 'record') recorded++;
    expect(recorded).toBe(10);
    const counts = t.drain(true);
    // Ten sources tracked, one count for all the others.
    expect(counts).toHaveLength(11);
    expect(counts.reduce((sum, c) => sum + c.count, 0) + recorded).toBe(10_000);
    expect(counts.at(-1)).toMatchObject({ source: OTHER_SOURCES, via: 'any', tenant: 'default', count: 10_000 - 10 - 10 });
  });

  it('closes the open window at shutdown at the current time', () => {
    const clock = { t: 5 * WINDOW + 500 };
    const t = tally(clock);
    for (let i = 0; i < 7; i++) t.admit(gateway('203.0.113.7'), 'default', 'invalid token');
    clock.t += 1_000;
    expect(t.drain(true)).toEqual([expect.objectContaining({ count: 2, recorded: 5, windowStart: new Date(5 * WINDOW), windowEnd: new Date(5 * WINDOW + 1_500) })]);
  });
});

describe('authentication failures - settings', () => {
  it('defaults to a minute, 5 recorded and 20 before 429', () => {
    expect(authenticationFailureSettingsFromEnv({})).toEqual({ windowMs: 60_000, recordedPerSource: 5, limitPerSource: 20 });
  });

  it('reads the variables', () => {
    expect(authenticationFailureSettingsFromEnv({ FORGEONE_AUTH_FAILURE_WINDOW_S: '2', FORGEONE_AUTH_FAILURES_RECORDED: '3', FORGEONE_AUTH_FAILURE_LIMIT: '8' })).toEqual({
      windowMs: 2_000,
      recordedPerSource: 3,
      limitPerSource: 8,
    });
  });

  it('refuses a value out of range, naming the variable', () => {
    expect(() => authenticationFailureSettingsFromEnv({ FORGEONE_AUTH_FAILURE_LIMIT: '0' })).toThrow('FORGEONE_AUTH_FAILURE_LIMIT must be a whole number from 1 to 100000, got "0"');
    expect(() => authenticationFailureSettingsFromEnv({ FORGEONE_AUTH_FAILURE_WINDOW_S: '1m' })).toThrow(/FORGEONE_AUTH_FAILURE_WINDOW_S/);
  });
});
