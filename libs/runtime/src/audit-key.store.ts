import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, loadPrivateKey } from '@forgeone/signing';
import type { Logger } from 'pino';

/** Where `npm start` keeps the audit log's checkpoint key: `<dataDir>/secrets/audit-key.pem` (0600, folder 0700). */
export function auditKeyFile(dataDir: string): string {
  return join(dataDir, 'secrets', 'audit-key.pem');
}

/**
 * The audit log's Ed25519 checkpoint key in the data folder, made the first time (never
 * overwritten, also when two starts race) and refused when others may read it or it is no Ed25519
 * private key. Its path is handed to the audit-projector alone (FORGEONE_AUDIT_KEY_FILE); the key
 * must outlive the platform: checkpoints signed with it are verified with its public key.
 */
export async function prepareAuditKey(dataDir: string, logger: Logger): Promise<string> {
  const file = auditKeyFile(dataDir);
  if (await check(file)) return file;
  const folder = join(dataDir, 'secrets');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
  const pair = generateKeyPair();
  const partial = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(partial, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  try {
    await link(partial, file);
    logger.info({ file, keyId: pair.keyId }, 'audit log checkpoint key created');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await check(file);
  } finally {
    await unlink(partial).catch(() => undefined);
  }
  return file;
}

async function check(file: string): Promise<boolean> {
  let pem: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new Error(`${file} may be read by other users (mode ${(info.mode & 0o777).toString(8)}): it holds the audit log's checkpoint key; run chmod 600 on it`);
    }
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    loadPrivateKey(pem);
  } catch (error) {
    throw new Error(`${file} does not hold the audit log's checkpoint key: ${(error as Error).message}; restore it from a backup`);
  }
  return true;
}
