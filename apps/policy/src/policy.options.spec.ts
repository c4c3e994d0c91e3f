import { describe, expect, it } from 'vitest';
import { parseRecordAllows, policyOptionsFromEnv } from './policy.options.js';

describe('policy options', () => {
  it('FORGEONE_AUTHZ_RECORD_ALLOWS - all by default, none, or a sampled fraction', () => {
    expect(parseRecordAllows(undefined)).toEqual({ mode: 'all' });
    expect(parseRecordAllows(' ALL ')).toEqual({ mode: 'all' });
    expect(parseRecordAllows('none')).toEqual({ mode: 'none' });
    expect(parseRecordAllows('0')).toEqual({ mode: 'none' });
    expect(parseRecordAllows('1')).toEqual({ mode: 'all' });
    expect(parseRecordAllows('0.25')).toEqual({ mode: 'sample', fraction: 0.25 });
    expect(parseRecordAllows('.5')).toEqual({ mode: 'sample', fraction: 0.5 });
    for (const bad of ['some', '1.5', '-0.1', '25%', '0x1', 'NaN']) {
      expect(() => parseRecordAllows(bad), bad).toThrow(/must be "all", "none" or a fraction between 0 and 1/);
    }
  });

  it('environment - service key validated, bootstrap token passed through', () => {
    const key = 'k'.repeat(32);
    expect(policyOptionsFromEnv({ FORGEONE_SERVICE_KEY: key, FORGEONE_AUTHZ_RECORD_ALLOWS: 'none', FORGEONE_AUTH_FAILURES_RECORDED: '3' }, 'b'.repeat(16))).toEqual({
      serviceKey: key,
      bootstrapToken: 'b'.repeat(16),
      recordAllows: { mode: 'none' },
      authenticationFailures: { windowMs: 60_000, recordedPerSource: 3, limitPerSource: 20 },
    });
    expect(policyOptionsFromEnv({}, undefined)).toEqual({ recordAllows: { mode: 'all' }, authenticationFailures: { windowMs: 60_000, recordedPerSource: 5, limitPerSource: 20 } });
    expect(() => policyOptionsFromEnv({ FORGEONE_AUTH_FAILURE_WINDOW_S: '0' }, undefined)).toThrow(/FORGEONE_AUTH_FAILURE_WINDOW_S must be a whole number from 1 to 3600/);
    expect(() => policyOptionsFromEnv({ FORGEONE_SERVICE_KEY: 'short' }, undefined)).toThrow(/at least 32 characters/);
  });

  it('FORGEONE_WATCHER_TOKEN - an API token is passed on to be issued; anything else stops the service', () => {
    const token = `fo_${'a'.repeat(16)}_${'B'.repeat(43)}`;
    expect(policyOptionsFromEnv({ FORGEONE_WATCHER_TOKEN: token }, undefined)).toMatchObject({ watcherToken: token });
    expect(policyOptionsFromEnv({ FORGEONE_WATCHER_TOKEN: ' ' }, undefined)).not.toHaveProperty('watcherToken');
    expect(() => policyOptionsFromEnv({ FORGEONE_WATCHER_TOKEN: 'letmein' }, undefined)).toThrow(/FORGEONE_WATCHER_TOKEN must be an API token/);
  });
});
