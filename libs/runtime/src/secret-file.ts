import { readFile, stat } from 'node:fs/promises';
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
