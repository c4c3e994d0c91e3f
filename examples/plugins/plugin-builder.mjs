// Builds the example plugins: plugin.wat with wabt, assembly/index.ts with AssemblyScript and the
// SDK in sdk/assemblyscript, Cargo.toml with Debian's Rust toolchain and the SDK in sdk/rust.
// Shared by build.mjs, the tests that check the committed binaries and the benchmarks.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

/** The source kind of a plugin folder: 'wat', 'assemblyscript', 'rust', or undefined. */
export function sourceKind(dir) {
  if (existsSync(join(dir, 'plugin.wat'))) return 'wat';
  if (existsSync(join(dir, 'assembly/index.ts'))) return 'assemblyscript';
  if (existsSync(join(dir, 'Cargo.toml'))) return 'rust';
  return undefined;
}

/** Example folders with their source kind, sorted by name. */
export function listExamples() {
  return readdirSync(examplesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(examplesDir, e.name))
    .map((dir) => ({ name: relative(examplesDir, dir), dir, kind: sourceKind(dir) }))
    .filter((e) => e.kind !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

// Debian's toolchain (packages rustc, libstd-rust-dev-wasm32, cargo): a rustup toolchain on PATH
// usually lacks the wasm32-unknown-unknown standard library, so these are called by full path.
export const RUST_TOOLCHAIN = { cargo: '/usr/bin/cargo', rustc: '/usr/bin/rustc' };
const rustCache = join(repoRoot, 'node_modules', '.cache', 'forgeone-rust');

/**
 * Builds a Rust plugin crate offline, as `cargo build --release --target wasm32-unknown-unknown` in
 * its folder would (its release profile, its .cargo/config.toml), and returns the module bytes. The
 * environment is fixed, so the same sources give the same bytes in any checkout: cargo settings of
 * the caller's environment and home are ignored, and source paths the module may carry (panic
 * locations) start with `forgeone/` instead of this checkout's path. The crate's Cargo.lock must be
 * current unless `locked` is false (a crate written by a test).
 */
export async function buildRust(dir, { locked = true } = {}) {
  for (const tool of Object.values(RUST_TOOLCHAIN)) {
    if (!existsSync(tool)) {
      throw new Error(`building ${relative(repoRoot, dir)} needs ${tool} with the wasm32-unknown-unknown standard library: apt-get install rustc libstd-rust-dev-wasm32 cargo`);
    }
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CARGO|RUST)/.test(name)));
  mkdirSync(join(rustCache, 'home'), { recursive: true });
  Object.assign(env, { RUSTC: RUST_TOOLCHAIN.rustc, CARGO_HOME: join(rustCache, 'home'), CARGO_TARGET_DIR: join(rustCache, 'target') });
  const manifest = join(dir, 'Cargo.toml');
  // Added to the crate's own .cargo/config.toml flags (RUSTFLAGS would replace them).
  const rustflags = `target.wasm32-unknown-unknown.rustflags=[${JSON.stringify(`--remap-path-prefix=${repoRoot}=forgeone`)}]`;
  const args = ['build', '--release', '--target', 'wasm32-unknown-unknown', '--offline', ...(locked ? ['--locked'] : []), '--config', rustflags, '--manifest-path', manifest, '--message-format', 'json-render-diagnostics'];
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(RUST_TOOLCHAIN.cargo, args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    throw new Error(`cargo failed for ${relative(repoRoot, dir)}:\n${error.stderr ?? error.message}`);
  }
  const wasm = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((m) => m.reason === 'compiler-artifact' && m.manifest_path === manifest)
    .flatMap((m) => m.filenames)
    .find((f) => f.endsWith('.wasm'));
  if (wasm === undefined) throw new Error(`cargo built no .wasm for ${relative(repoRoot, dir)}: is its crate-type ["cdylib"]?`);
  return new Uint8Array(readFileSync(wasm));
}

let wabtPromise;

/** Builds one example in memory and returns the module bytes; throws with the compiler's messages on failure. */
export async function buildExample(dir) {
  if (existsSync(join(dir, 'plugin.wat'))) return buildWat(join(dir, 'plugin.wat'));
  if (sourceKind(dir) === 'rust') return buildRust(dir);
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
