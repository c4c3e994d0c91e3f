import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ForgeOneError } from '@forgeone/contracts';

export const DEFAULT_PROFILE = 'default';
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const ProfileSchema = z
  .object({
    api: z.string().url(),
    token: z.string().min(1).optional(),
    /** The audit key's fingerprint this profile trusts (`forgeone audit key --pin`): checkpoints are checked against it. */
    auditKeyId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .strict();
const ProfilesFileSchema = z.object({ current: z.string().optional(), profiles: z.record(z.string(), ProfileSchema) }).strict();

export type Profile = z.infer<typeof ProfileSchema>;
export type ProfilesFile = z.infer<typeof ProfilesFileSchema>;

/** $XDG_CONFIG_HOME/forgeone, else ~/.config/forgeone. */
export function configDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_CONFIG_HOME']?.trim();
  if (xdg) return join(xdg, 'forgeone');
  return join(env['HOME']?.trim() || homedir(), '.config', 'forgeone');
}

export function profilesPath(env: Readonly<Record<string, string | undefined>>): string {
  return join(configDir(env), 'profiles.json');
}

/** A profile name as given on the command line; throws COMMAND.INVALID (usage) when it cannot be one. */
export function isProfileName(name: string): boolean {
  return PROFILE_NAME.test(name);
}

/** The profiles file, or an empty one when there is none. Throws naming the file when it does not parse. */
export async function readProfiles(env: Readonly<Record<string, string | undefined>>): Promise<ProfilesFile> {
  const path = profilesPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ForgeOneError('COMMAND.INVALID', `${path} is not valid JSON; fix it or remove it and run forgeone login again`);
  }
  const parsed = ProfilesFileSchema.safeParse(raw);
  if (!parsed.success) throw new ForgeOneError('COMMAND.INVALID', `${path} is not a ForgeOne profiles file; fix it or remove it and run forgeone login again`);
  return parsed.data;
}

/** Writes the profiles file readable by its owner only (it holds tokens): 0700 folder, 0600 file, replaced atomically. */
export async function writeProfiles(env: Readonly<Record<string, string | undefined>>, file: ProfilesFile): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = profilesPath(env);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  // writeFile keeps the mode of a file that already exists.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return path;
}
