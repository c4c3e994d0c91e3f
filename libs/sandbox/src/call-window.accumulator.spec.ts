import { describe, expect, it } from 'vitest';
import { CallWindowAccumulator, type CallSample } from './call-window.accumulator.js';

const call = (over: Partial<CallSample> = {}): CallSample => ({
  tenant: 'acme',
  plugin: 'acme/echo',
  version: '1.0.0',
  environment: 'staging',
  principal: 'alice',
  durationMs: 1,
  fuelUsed: 10,
  bytesIn: 3,
  bytesOut: 5,
  ...over,
});

describe('call window accumulator - summaries', () => {
  it('groups calls by tenant, plugin, version, environment and caller', () => {
    const w = new CallWindowAccumulator();
    w.add(call());
    w.add(call({ principal: 'bob' }));
    w.add(call({ version: '2.0.0' }));
    w.add(call({ tenant: 'initech' }));
    w.add(call());
    expect(w.size).toBe(4);
    const alice = w.summaries().find((s) => s.tenant === 'acme' && s.principal === 'alice' && s.version === '1.0.0');
    expect(alice).toMatchObject({ count: 2, fuelTotal: 20, bytesIn: 6, bytesOut: 10, failures: {} });
  });

  it('counts runs of one caller and the calls between them each in their own group', () => {
    const w = new CallWindowAccumulator();
    for (const principal of ['alice', 'alice', 'bob', 'alice', 'alice', 'bob', 'bob', 'alice']) w.add(call({ principal }));
    w.add(call({ environment: 'production' }));
    w.add(call({ plugin: 'acme/other' }));
    const count = (p: string, over: Partial<CallSample> = {}) =>
      w.summaries().find((s) => s.principal === p && s.plugin === (over.plugin ?? 'acme/echo') && s.environment === (over.environment ?? 'staging'))?.count;
    expect([count('alice'), count('bob'), count('alice', { environment: 'production' }), count('alice', { plugin: 'acme/other' })]).toEqual([5, 3, 1, 1]);
    expect(w.size).toBe(4);
  });

  it('counts failures by code and keeps calls that never ran out of the durations', () => {
    const w = new CallWindowAccumulator();
    w.add(call({ code: 'SANDBOX.TRAP', durationMs: 2 }));
    w.add(call({ code: 'AUTHZ.DENIED', version: undefined, durationMs: undefined, fuelUsed: undefined }));
    w.add(call({ code: 'SANDBOX.TRAP', durationMs: 4 }));
    const [denied, trapped] = w.summaries();
    expect(denied).toMatchObject({ count: 1, failures: { 'AUTHZ.DENIED': 1 }, durationMs: null, fuelTotal: 0 });
    expect(denied).not.toHaveProperty('version');
    expect(trapped).toMatchObject({ count: 2, failures: { 'SANDBOX.TRAP': 2 } });
  });

  it('answers percentiles within 0.1 % of the exact ones', () => {
    const w = new CallWindowAccumulator();
    for (let i = 1; i <= 1000; i++) w.add(call({ durationMs: i / 10 }));
    const [s] = w.summaries();
    expect(s.count).toBe(1000);
    expect(s.durationMs!.p50).toBeCloseTo(50, 0);
    expect(Math.abs(s.durationMs!.p95 - 95) / 95).toBeLessThan(0.002);
    expect(Math.abs(s.durationMs!.p99 - 99) / 99).toBeLessThan(0.002);
    expect(Math.abs(s.durationMs!.max - 100) / 100).toBeLessThan(0.002);
  });
});
