import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchSettingsOf } from './up.command.js';

describe('up - the plugins directory it watches', () => {
  it('watch settings - ./plugins into staging by default; FORGEONE_WATCH_DIR and FORGEONE_WATCH_ENV move it', () => {
    expect(watchSettingsOf({}, '/srv/forgeone', true)).toEqual({ dir: resolve('/srv/forgeone/plugins'), environment: 'staging' });
    expect(watchSettingsOf({ FORGEONE_WATCH: 'on', FORGEONE_WATCH_DIR: 'drops', FORGEONE_WATCH_ENV: 'qa' }, '/srv/forgeone', true)).toEqual({ dir: resolve('/srv/forgeone/drops'), environment: 'qa' });
  });

  it('watch settings - off with --no-watch or FORGEONE_WATCH=off; a bad switch or environment name is a usage error', () => {
    expect(watchSettingsOf({}, '/srv', false)).toBeUndefined();
    expect(watchSettingsOf({ FORGEONE_WATCH: 'off' }, '/srv', true)).toBeUndefined();
    expect(watchSettingsOf({ FORGEONE_WATCH: 'OFF' }, '/srv', true)).toBeUndefined();
    expect(() => watchSettingsOf({ FORGEONE_WATCH: 'maybe' }, '/srv', true)).toThrow(/FORGEONE_WATCH "maybe" must be on or off/);
    expect(() => watchSettingsOf({ FORGEONE_WATCH_ENV: 'Prod!' }, '/srv', true)).toThrow(/FORGEONE_WATCH_ENV "Prod!" is not an environment name/);
  });
});
