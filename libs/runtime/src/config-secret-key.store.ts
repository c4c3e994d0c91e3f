import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { createSecretFileOnce, readSecretJson } from './secret-file.js';

/** Where `npm start` keeps the platform's configuration key: `<dataDir>/secrets/config-secret-key.json` (0600, folder 0700). */
export function configSecretKeyFile(dataDir: string): string {
  return join(dataDir, 'secrets', 'config-secret-key.json');
}

const KeyFileSchema = z.object({ key: z.base64().length(44, 'must be 32 bytes in base64') }).strict();

/**
 * The key plugin configuration secrets are sealed with (base64, 32 bytes): FORGEONE_CONFIG_SECRET_KEY
 * when given (compose), else the one in the data folder, made the first time and never overwritten
 * (a racing start keeps the first), refused when others may read it. Losing it loses every stored secret.
 */
export async function prepareConfigSecretKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const given = env.FORGEONE_CONFIG_SECRET_KEY?.trim();
  if (given) return given;
  const file = configSecretKeyFile(dataDir);
  const existing = await read(file);
  if (existing) return existing;
  await createSecretFileOnce(file, { key: randomBytes(32).toString('base64') });
  return (await read(file))!;
}

async function read(file: string): Promise<string | undefined> {
  return (await readSecretJson(file, KeyFileSchema, 'the key plugin configuration secrets are sealed with', 'restore it from a backup: the stored secrets cannot be opened without it'))?.key;
}
