import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSecretKeyFile, prepareConfigSecretKey } from './config-secret-key.store.js';

describe('configuration key', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('config key - made once under secrets/ with mode 0600, the same on every later start', async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-config-key-'));
    const first = await prepareConfigSecretKey(dir, {});
    expect(Buffer.from(first, 'base64')).toHaveLength(32);
    expect((await stat(configSecretKeyFile(dir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await prepareConfigSecretKey(dir, {})).toBe(first);
  });

  it('config key - FORGEONE_CONFIG_SECRET_KEY given takes its place; a file others may read is refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-config-key-'));
    expect(await prepareConfigSecretKey(dir, { FORGEONE_CONFIG_SECRET_KEY: 'given' })).toBe('given');
    await prepareConfigSecretKey(dir, {});
    await chmod(configSecretKeyFile(dir), 0o644);
    await expect(prepareConfigSecretKey(dir, {})).rejects.toThrow(/may be read by other users/);
  });
});
