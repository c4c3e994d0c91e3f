import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DROP_MANIFEST_MAX_BYTES, DROP_MODULE_MAX_BYTES, encodeSubjectToken, SIGNATURE_FILE, SIGNATURE_LIMITS, type DropRejectionCheck } from '@forgeone/contracts';
import { MANIFEST_FILE, WASM_FILE } from '../plugin-folder.reader.js';

/** The folder under DIR where the watcher keeps its own files (rejections, which folder installed what). */
export const WATCHER_FOLDER = '.forgeone';

/** The size each file of a drop may have; the module's is the platform's, the others generous for what they hold. */
export interface DropLimits {
  readonly moduleBytes: number;
  readonly manifestBytes: number;
  readonly signatureBytes: number;
}

export const DEFAULT_DROP_LIMITS: DropLimits = {
  moduleBytes: DROP_MODULE_MAX_BYTES,
  manifestBytes: DROP_MANIFEST_MAX_BYTES,
  signatureBytes: SIGNATURE_LIMITS.envelopeBytes,
};

/** What the checks found before anything is read: a drop to read, one to refuse, or nothing to do. */
export type DropInspection =
  | { readonly kind: 'ready'; readonly path: string; readonly signed: boolean }
  | { readonly kind: 'rejected'; readonly check: DropRejectionCheck; readonly reason: string }
  /** Not a drop: a hidden folder (a drop being assembled, the watcher's own) or a plain file next to the drops. */
  | { readonly kind: 'ignored'; readonly why: string }
  /** The folder is not there (any more). */
  | { readonly kind: 'absent' };

// Anything that could be read as a path step or hide in a terminal: separators, NUL and control characters.
const UNSAFE_CHARACTER = /[/\\\u0000-\u001f\u007f]/;

/**
 * Why a folder name found in DIR is not a plain name inside it, or undefined when it is. A name
 * with a separator (`/`, or `\` which other systems read as one), `..` at its start, an absolute
 * path or a control character could lead out of DIR or into another file where it is used as a path
 * (the rejection file) or shown; such a drop is refused, not repaired.
 */
export function dropNameProblem(dir: string, name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (isAbsolute(name)) return `"${printable(name)}" is an absolute path; a drop is a folder directly inside the watched directory`;
  if (name === '.' || name.startsWith('..')) return `"${printable(name)}" starts with "..", which names a folder outside the watched directory; rename the folder`;
  if (UNSAFE_CHARACTER.test(name)) return `"${printable(name)}" holds a path separator or a control character; rename the folder with letters, digits, ".", "_" or "-"`;
  if (name.length > 255) return 'the name is longer than 255 characters';
  const root = resolve(dir);
  const path = resolve(root, name);
  if (dirname(path) !== root || basename(path) !== name) return `"${printable(name)}" does not resolve to a folder directly inside ${root}`;
  return undefined;
}

/** The name as it can be shown on one line: control characters escaped. */
export function printable(name: string): string {
  return JSON.stringify(name).slice(1, -1);
}

/**
 * The file under `.forgeone/rejected/` that reports a refused drop: the folder's name when it is a
 * plain name, else the name spelled with only letters, digits, "-" and "_" (`~xx` for any other byte),
 * so even a name that was refused for its characters cannot place the report elsewhere.
 */
export function rejectionFileName(folder: string): string {
  const plain = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(folder);
  return `${plain ? folder : encodeSubjectToken(folder).slice(0, 200)}.txt`;
}

/**
 * Checks one entry of DIR without reading any file: the name, then the folder and each file of the
 * drop by lstat (never following a link): no symbolic link, only regular files, within the limits,
 * the manifest and the module present. A drop that passes is read next (readPluginFolder).
 */
export async function inspectDropFolder(dir: string, name: string, limits: DropLimits = DEFAULT_DROP_LIMITS): Promise<DropInspection> {
  const nameProblem = dropNameProblem(dir, name);
  if (nameProblem) return { kind: 'rejected', check: 'name', reason: `folder name refused: ${nameProblem}` };
  if (name.startsWith('.')) return { kind: 'ignored', why: 'a hidden folder (where a drop is assembled before it is renamed into place)' };
  const path = join(resolve(dir), name);
  const folder = await lstatOrNull(path);
  if (!folder) return { kind: 'absent' };
  if (folder.isSymbolicLink()) return { kind: 'rejected', check: 'symlink', reason: `${name} is a symbolic link; copy or move the plugin folder itself into the watched directory` };
  if (folder.isFile()) return { kind: 'ignored', why: 'a file, not a plugin folder' };
  if (!folder.isDirectory()) return { kind: 'rejected', check: 'special-file', reason: `${name} is ${kindOf(folder)}, not a plugin folder` };

  const files = [
    { file: MANIFEST_FILE, limit: limits.manifestBytes, required: true },
    { file: WASM_FILE, limit: limits.moduleBytes, required: true },
    { file: SIGNATURE_FILE, limit: limits.signatureBytes, required: false },
  ];
  let signed = false;
  for (const { file, limit, required } of files) {
    const info = await lstatOrNull(join(path, file));
    if (!info) {
      if (required) return { kind: 'rejected', check: 'missing-file', reason: `${name}/${file} is missing: a plugin folder holds ${MANIFEST_FILE} and ${WASM_FILE} (and ${SIGNATURE_FILE} when signed)` };
      continue;
    }
    if (info.isSymbolicLink()) return { kind: 'rejected', check: 'symlink', reason: `${name}/${file} is a symbolic link; put the file itself in the folder` };
    if (!info.isFile()) return { kind: 'rejected', check: 'special-file', reason: `${name}/${file} is ${kindOf(info)}, not a regular file` };
    if (info.size > limit) {
      return { kind: 'rejected', check: 'too-large', reason: `${name}/${file} is ${info.size} bytes, over the limit of ${limit} bytes${file === WASM_FILE ? ' (what one publish carries)' : ''}` };
    }
    if (file === SIGNATURE_FILE) signed = true;
  }
  return { kind: 'ready', path, signed };
}

/**
 * Size, modification time and inode of each file of a drop, as one string: equal twice in a row a
 * settle time apart means nobody is writing; equal before and after reading means what was read is
 * what is there. A file replaced by rename (the convention) gets a new inode, so it counts as a change.
 */
export async function dropSnapshot(path: string): Promise<string> {
  const parts: string[] = [];
  for (const file of [MANIFEST_FILE, WASM_FILE, SIGNATURE_FILE]) {
    const info = await lstatOrNull(join(path, file));
    parts.push(info ? `${file}:${info.ino}:${info.size}:${info.mtimeMs}:${info.isFile() ? 'f' : 'x'}` : `${file}:-`);
  }
  return parts.join('|');
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw error;
  }
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe (fifo)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a folder';
  return 'a special file';
}
