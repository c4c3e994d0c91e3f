import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ForgeOneError, PluginManifestSchema, describeIssues } from '@forgeone/contracts';
import { locateJsonSyntaxError } from './json-syntax.locator.js';

export const MANIFEST_FILE = 'forgeone.plugin.json';
export const WASM_FILE = 'plugin.wasm';
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export interface PluginFolder {
  /** The manifest exactly as written; the registry validates it again and is the authority. */
  readonly manifest: Record<string, unknown>;
  readonly wasm: Uint8Array;
}

/**
 * Reads a plugin folder for publishing and checks locally what can be checked without the
 * registry, so a typo fails fast and names the file, line and field.
 */
export async function readPluginFolder(dir: string, cwd: string): Promise<PluginFolder> {
  const folder = resolve(cwd, dir);
  await checkFolder(folder, dir);
  const manifestPath = join(folder, MANIFEST_FILE);
  const manifestText = await readPluginFile(manifestPath, 'utf8', `a plugin folder holds ${MANIFEST_FILE} (the manifest) next to ${WASM_FILE}`);
  const manifest = parseManifest(manifestText, manifestPath);
  const wasm = await readPluginFile(join(folder, WASM_FILE), null, `build the plugin to ${WASM_FILE} next to ${MANIFEST_FILE}`);
  if (wasm.length < 8 || WASM_MAGIC.some((byte, i) => wasm[i] !== byte)) {
    throw new ForgeOneError('REGISTRY.WASM_INVALID', `${join(folder, WASM_FILE)} is not a WebAssembly binary (it does not start with "\\0asm"); build the plugin to a core wasm module`);
  }
  return { manifest, wasm };
}

/** Reads and checks only the manifest of a plugin folder (for building, before plugin.wasm exists). */
export async function readPluginManifest(dir: string, cwd: string): Promise<Record<string, unknown>> {
  const folder = resolve(cwd, dir);
  await checkFolder(folder, dir);
  const manifestPath = join(folder, MANIFEST_FILE);
  const manifestText = await readPluginFile(manifestPath, 'utf8', `a plugin folder holds ${MANIFEST_FILE} (the manifest); forgeone plugin new writes one`);
  return parseManifest(manifestText, manifestPath);
}

async function checkFolder(folder: string, given: string): Promise<void> {
  const info = await stat(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new ForgeOneError('COMMAND.INVALID', `folder ${folder} does not exist; give the folder that holds ${MANIFEST_FILE} and ${WASM_FILE}`);
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${folder}: ${error.message}`);
  });
  if (!info.isDirectory()) {
    const hint = basename(folder) === MANIFEST_FILE || basename(folder) === WASM_FILE ? `: try "${dirname(given)}"` : '';
    throw new ForgeOneError('COMMAND.INVALID', `${folder} is a file; give the plugin's folder${hint}`);
  }
}

async function readPluginFile(path: string, encoding: 'utf8', hint: string): Promise<string>;
async function readPluginFile(path: string, encoding: null, hint: string): Promise<Uint8Array>;
async function readPluginFile(path: string, encoding: 'utf8' | null, hint: string): Promise<string | Uint8Array> {
  try {
    return encoding ? await readFile(path, encoding) : new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ForgeOneError('COMMAND.INVALID', `${path} is missing: ${hint}`);
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${path}: ${(error as Error).message}`);
  }
}

function parseManifest(rawText: string, path: string): Record<string, unknown> {
  // Some editors save a byte-order mark, which JSON.parse refuses.
  const text = rawText.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = locateJsonSyntaxError(text);
    const reason = (error as Error).message
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ \(line \d+ column \d+\)$/, '');
    const where = position ? ` at line ${position.line}, column ${position.column}` : '';
    throw new ForgeOneError('REGISTRY.MANIFEST_INVALID', `${path} is not valid JSON${where}: ${reason}`, {
      file: path,
      ...(position ? { line: position.line, column: position.column } : {}),
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ForgeOneError('REGISTRY.MANIFEST_INVALID', `${path} must hold one JSON object (the manifest), not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, { file: path });
  }
  const result = PluginManifestSchema.safeParse(value);
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    throw new ForgeOneError('REGISTRY.MANIFEST_INVALID', `${path} is not a valid manifest: fix the field(s) listed below`, { file: path, problems });
  }
  return value as Record<string, unknown>;
}
