// Builds the example plugins with @forgeone/plugin-build (the same code as `forgeone plugin build`):
// plugin.wat with wabt, assembly/index.ts with AssemblyScript and the SDK in sdk/assemblyscript,
// Cargo.toml with Debian's Rust toolchain and the SDK in sdk/rust. Shared by build.mjs, the tests
// that check the committed binaries and the benchmarks; run under plain node it needs the built lib
// (npm run build).
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAssemblyScript, buildRust as buildRustCrate, buildWat, pluginSourceKind, RUST_TOOLCHAIN } from '@forgeone/plugin-build';

export const examplesDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(examplesDir, '../..');
export { RUST_TOOLCHAIN };

/** The source kind of a plugin folder: 'wat', 'assemblyscript', 'rust', or undefined. */
export const sourceKind = pluginSourceKind;

/** Example folders with their source kind, sorted by name. */
export function listExamples() {
  return readdirSync(examplesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(examplesDir, e.name))
    .map((dir) => ({ name: relative(examplesDir, dir), dir, kind: sourceKind(dir) }))
    .filter((e) => e.kind !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

const rustCache = join(repoRoot, 'node_modules', '.cache', 'forgeone-rust');

/**
 * Builds a Rust crate of this repository offline and returns the module bytes. Cargo's output goes
 * to one cache for all of them, and source paths the module may carry (panic locations) start with
 * `forgeone/` instead of this checkout's path, so the same sources give the same bytes in any
 * checkout. The crate's Cargo.lock must be current unless `locked` is false (a crate written by a test).
 */
export async function buildRust(dir, { locked = true } = {}) {
  mkdirSync(join(rustCache, 'home'), { recursive: true });
  return buildRustCrate(dir, {
    locked,
    targetDir: join(rustCache, 'target'),
    cargoHome: join(rustCache, 'home'),
    remapPathPrefix: { from: repoRoot, to: 'forgeone' },
    shownName: relative(repoRoot, dir),
  });
}

/** Builds one example in memory and returns the module bytes; throws with the compiler's messages on failure. */
export async function buildExample(dir) {
  const kind = sourceKind(dir);
  if (kind === 'wat') return buildWat(join(dir, 'plugin.wat'), relative(repoRoot, join(dir, 'plugin.wat')));
  if (kind === 'rust') return buildRust(dir);
  // The examples share the repository's SDK, so paths are resolved from the repository root.
  return buildAssemblyScript(dir, { baseDir: repoRoot, sdkAssemblyDir: join(repoRoot, 'sdk', 'assemblyscript', 'assembly') });
}
