import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareWatcherToken, watcherTokenFile } from './watcher-token.store.js';

describe('watcher token', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('watcher token - an API token made once under secrets/ with mode 0600, the same on every later start', async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-watcher-token-'));
    const first = await prepareWatcherToken(dir);
    expect(first).toMatch(/^fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect((await stat(watcherTokenFile(dir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await prepareWatcherToken(dir)).toBe(first);
  });

  it('watcher token - a file others may read is refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-watcher-token-'));
    await prepareWatcherToken(dir);
    await chmod(watcherTokenFile(dir), 0o640);
    await expect(prepareWatcherToken(dir)).rejects.toThrow(/may be read by other users/);
  });
});
