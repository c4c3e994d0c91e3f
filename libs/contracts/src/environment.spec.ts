import { describe, expect, it } from 'vitest';
import { capLimits, changedSettingFields, defaultEnvironmentSettings, weakenedSettingFields } from './environment.js';

const production = defaultEnvironmentSettings('production', {});

describe('environment settings', () => {
  it('caps - each capped limit is the lower of the manifest and the environment; others stay', () => {
    const limits = { memoryMiB: 8, fuel: 5_000_000, timeoutMs: 1000, maxOutputBytes: 64 };
    expect(capLimits(limits, {})).toEqual(limits);
    expect(capLimits(limits, { memoryMiB: 2, fuel: 9_000_000, timeoutMs: 100 })).toEqual({ memoryMiB: 2, fuel: 5_000_000, timeoutMs: 100, maxOutputBytes: 64 });
  });
  it('weakening - a new cap is a strengthening; raising or removing one weakens', () => {
    expect(weakenedSettingFields(production, { ...production, limitCaps: { fuel: 10_000 } })).toEqual([]);
    const capped = { ...production, limitCaps: { fuel: 10_000 } };
    expect(weakenedSettingFields(capped, production)).toEqual(['limitCaps']);
    expect(weakenedSettingFields(capped, { ...production, limitCaps: { fuel: 20_000 } })).toEqual(['limitCaps']);
    expect(weakenedSettingFields(capped, { ...production, limitCaps: { fuel: 5_000 } })).toEqual([]);
  });
  it('changes - caps compare by value whatever the order of their keys', () => {
    const a = { ...production, limitCaps: { fuel: 10_000, memoryMiB: 2 } };
    const b = { ...production, limitCaps: { memoryMiB: 2, fuel: 10_000 } };
    expect(changedSettingFields(a, b)).toEqual([]);
  });
});
