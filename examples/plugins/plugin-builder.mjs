// Builds the example plugins: plugin.wat with wabt, assembly/index.ts with AssemblyScript and the
// SDK in sdk/assemblyscript. Shared by build.mjs and the tests that check the committed binaries.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import wabtInit from 'wabt';

export const examplesDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(examplesDir, '../..');

/** Options every AssemblyScript plugin is built with; memory's maximum follows the manifest's limits.memoryMiB. */
export function ascArguments(entry, memoryMiB) {
  return [
    entry,
    '--baseDir', repoRoot,
    // A fresh instance serves each call, so the never-freeing stub allocator is enough and smallest.
    '--runtime', 'stub',
    // Without it AssemblyScript declares memory with 0 initial pages.
    '--initialMemory', '1',
    '--maximumMemory', String(memoryMiB * 16),
    // Replaces the env.abort import: plugins may import only forgeone.* functions.
    '--use', 'abort=sdk/assemblyscript/assembly/abi/forgeone_abort',
    '-O3', '--noAssert',
    '--outFile', 'plugin.wasm',
  ];
}

/** Example folders with their source kind, sorted by name. */
export function listExamples() {
  return readdirSync(examplesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(examplesDir, e.name))
    .map((dir) => ({ name: relative(examplesDir, dir), dir, kind: existsSync(join(dir, 'plugin.wat')) ? 'wat' : existsSync(join(dir, 'assembly/index.ts')) ? 'assemblyscript' : undefined }))
    .filter((e) => e.kind !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

let wabtPromise;

/** Builds one example in memory and returns the module bytes; throws with the compiler's messages on failure. */
export async function buildExample(dir) {
  if (existsSync(join(dir, 'plugin.wat'))) return buildWat(join(dir, 'plugin.wat'));
  const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8'));
  const entry = relative(repoRoot, join(dir, 'assembly/index.ts')).split('\\').join('/');
  const outputs = new Map();
  let stderr = '';
  const { error } = await asc.main(ascArguments(entry, manifest.limits.memoryMiB), {
    writeFile: (name, contents) => void outputs.set(name, contents),
    stdout: { write: () => true },
    stderr: { write: (text) => ((stderr += text), true) },
  });
  const binary = outputs.get('plugin.wasm');
  if (error || binary === undefined) throw new Error(`asc failed for ${entry}: ${error?.message ?? 'no output'}\n${stderr}`);
  return new Uint8Array(binary);
}

async function buildWat(source) {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const parsed = wabt.parseWat(relative(repoRoot, source), readFileSync(source, 'utf8'));
  try {
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}
