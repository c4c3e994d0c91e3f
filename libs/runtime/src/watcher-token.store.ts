import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { createSecretFileOnce, readSecretJson } from './secret-file.js';

/** Where `npm start` keeps the plugins/ directory watcher's API token: `<dataDir>/secrets/watcher-token.json` (0600, folder 0700). */
export function watcherTokenFile(dataDir: string): string {
  return join(dataDir, 'secrets', 'watcher-token.json');
}

const TokenFileSchema = z.object({ token: z.string().regex(/^fo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, 'must be an API token (fo_<16 hex>_<43 base64url characters>)') }).strict();

/**
 * The watcher's API token: the one in the data folder, else a new random one written there once (a
 * racing start keeps the first). The policy service issues it (role watcher, tenant default) when it
 * does not know it yet (FORGEONE_WATCHER_TOKEN); `npm start` hands it to its watcher only.
 */
export async function prepareWatcherToken(dataDir: string): Promise<string> {
  const file = watcherTokenFile(dataDir);
  const existing = await read(file);
  if (existing) return existing;
  const token = `fo_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  await createSecretFileOnce(file, { token });
  return (await read(file))!;
}

async function read(file: string): Promise<string | undefined> {
  return (await readSecretJson(file, TokenFileSchema, "the plugins directory watcher's API token", 'delete it: npm start makes a new one (and revoke the old one with forgeone token revoke)'))?.token;
}
