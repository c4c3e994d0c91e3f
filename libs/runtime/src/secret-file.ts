import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';

/**
 * Reads a JSON file of secrets from the data folder: undefined when it does not exist; refused,
 * naming the file and what to do, when other users may read it (like ssh with a private key),
 * when it is not JSON or when it does not match `schema`. `holds` says what it holds, for messages.
 */
export async function readSecretJson<S extends z.ZodType>(file: string, schema: S, holds: string, ifUnreadable: string): Promise<z.infer<S> | undefined> {
  let text: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new Error(`${file} may be read by other users (mode ${(info.mode & 0o777).toString(8)}): it holds ${holds}; run chmod 600 on it`);
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); ${ifUnreadable}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} does not hold ${holds}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Writes `value` as JSON to `file` (0600, its folder 0700) only if the file does not exist yet: written
 * to a temporary file first and linked into place, so a racing writer keeps the first file whole and a
 * reader never sees half of one. Callers read the file back afterwards, whoever won.
 */
export async function createSecretFileOnce(file: string, value: unknown): Promise<void> {
  const folder = dirname(file);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
  const partial = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(partial, `${JSON.stringify(value)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(partial, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}
