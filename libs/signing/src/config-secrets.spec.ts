import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigSecretBox, configSecretKeyFromEnv } from './config-secrets.js';

describe('config secrets', () => {
  const box = new ConfigSecretBox(randomBytes(32));
  it('config secrets - a sealed value opens under the same binding and holds no clear text', () => {
    const sealed = box.seal('hunter2-very-secret', 'acme\nacme/hello\nproduction\ntoken');
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(box.open(sealed, 'acme\nacme/hello\nproduction\ntoken')).toBe('hunter2-very-secret');
    expect(box.seal('hunter2-very-secret', 'b').nonce).not.toBe(box.seal('hunter2-very-secret', 'b').nonce);
  });
  it('config secrets - moved to another binding, altered, or under another key it does not open', () => {
    const sealed = box.seal('v', 'acme\nacme/hello\nproduction\ntoken');
    expect(() => box.open(sealed, 'acme\nacme/hello\nstaging\ntoken')).toThrow(/did not authenticate/);
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] ^= 1;
    expect(() => box.open({ ...sealed, ciphertext: flipped.toString('base64') }, 'acme\nacme/hello\nproduction\ntoken')).toThrow(/did not authenticate/);
    expect(() => new ConfigSecretBox(randomBytes(32)).open(sealed, 'acme\nacme/hello\nproduction\ntoken')).toThrow(/sealed under key/);
  });
  it('config secrets - the key variable must be 32 bytes of base64', () => {
    expect(configSecretKeyFromEnv({}).key()).toBeUndefined();
    expect(configSecretKeyFromEnv({ FORGEONE_CONFIG_SECRET_KEY: randomBytes(32).toString('base64') }).key()?.length).toBe(32);
    expect(() => configSecretKeyFromEnv({ FORGEONE_CONFIG_SECRET_KEY: 'short' })).toThrow(/FORGEONE_CONFIG_SECRET_KEY must be 32 bytes/);
  });
});
