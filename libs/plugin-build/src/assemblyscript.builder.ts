import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PluginBuildError } from './plugin-build.error.js';

/** Options every AssemblyScript plugin is built with; memory's maximum follows the manifest's limits.memoryMiB. */
export function ascArguments(entry: string, baseDir: string, abortFunction: string, memoryMiB: number): string[] {
  return [
    entry,
    '--baseDir', baseDir,
    // A fresh instance serves each call, so the never-freeing stub allocator is enough and smallest.
    '--runtime', 'stub',
    // Without it AssemblyScript declares memory with 0 initial pages.
    '--initialMemory', '1',
    '--maximumMemory', String(memoryMiB * 16),
    // Replaces the env.abort import: plugins may import only forgeone.* functions.
    '--use', `abort=${abortFunction}`,
    '-O3', '--noAssert',
    '--outFile', 'plugin.wasm',
  ];
}

export interface BuildAssemblyScriptOptions {
  /**
   * The folder paths are resolved from, which must hold both the plugin and the SDK (default: the
   * plugin folder, whose SDK copy is `forgeone-sdk/`). The examples use the repository root.
   */
  readonly baseDir?: string;
  /** The SDK's `assembly` folder (default: `<dir>/forgeone-sdk/assembly`). */
  readonly sdkAssemblyDir?: string;
}

/** Compiles `<dir>/assembly/index.ts` in memory and returns the module bytes. */
export async function buildAssemblyScript(dir: string, options: BuildAssemblyScriptOptions = {}): Promise<Uint8Array> {
  const baseDir = options.baseDir ?? dir;
  const sdk = options.sdkAssemblyDir ?? join(dir, 'forgeone-sdk', 'assembly');
  const posix = (path: string) => path.split('\\').join('/');
  const entry = posix(relative(baseDir, join(dir, 'assembly', 'index.ts')));
  const abort = posix(relative(baseDir, join(sdk, 'abi', 'forgeone_abort')));
  const manifest = JSON.parse(await readFile(join(dir, 'forgeone.plugin.json'), 'utf8')) as { limits?: { memoryMiB?: unknown } };
  const memoryMiB = manifest.limits?.memoryMiB;
  if (typeof memoryMiB !== 'number') throw new PluginBuildError(`${join(dir, 'forgeone.plugin.json')} has no limits.memoryMiB, which sets the module's memory maximum`);
  // The compiler (with binaryen) takes about half a second to load: only a build pays for it, not every CLI run.
  const { default: asc } = await import('assemblyscript/asc');
  const outputs = new Map<string, Uint8Array | string>();
  let stderr = '';
  const { error } = await asc.main(ascArguments(entry, baseDir, abort, memoryMiB), {
    writeFile: (name: string, contents: Uint8Array | string) => void outputs.set(name, contents),
    stdout: { write: () => true },
    stderr: { write: (text: string) => ((stderr += text), true) },
  } as Parameters<typeof asc.main>[1]);
  const binary = outputs.get('plugin.wasm');
  if (error || binary === undefined || typeof binary === 'string') throw new PluginBuildError(`asc failed for ${entry}: ${error?.message ?? 'no output'}\n${stderr}`);
  return new Uint8Array(binary);
}
