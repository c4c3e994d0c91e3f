import { describe, expect, it } from 'vitest';
import { parseTestRunSettings } from './test-run.js';

describe('test run settings', () => {
  it('defaults - factor 1.5, a run after installs into staging', () => {
    expect(parseTestRunSettings({})).toEqual({ regressionFactor: 1.5, onInstall: ['staging'] });
  });

  it('reads the factor and the environments; empty turns the automatic run off', () => {
    expect(parseTestRunSettings({ FORGEONE_TEST_REGRESSION_FACTOR: '2.25', FORGEONE_TEST_ON_INSTALL: ' staging, qa ,staging' })).toEqual({ regressionFactor: 2.25, onInstall: ['staging', 'qa'] });
    expect(parseTestRunSettings({ FORGEONE_TEST_ON_INSTALL: '' }).onInstall).toEqual([]);
  });

  it('refuses a factor that is not above 1 and an environment name that is not one, naming the variable', () => {
    for (const bad of ['1', '0.5', 'fast', '-2', '1e3', '5000']) expect(() => parseTestRunSettings({ FORGEONE_TEST_REGRESSION_FACTOR: bad }), bad).toThrow(/FORGEONE_TEST_REGRESSION_FACTOR/);
    expect(() => parseTestRunSettings({ FORGEONE_TEST_ON_INSTALL: 'staging,Prod Env' })).toThrow(/FORGEONE_TEST_ON_INSTALL names "Prod Env"/);
  });
});
