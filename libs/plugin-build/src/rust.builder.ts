import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PluginBuildError } from './plugin-build.error.js';

/**
 * Debian's toolchain (packages rustc, libstd-rust-dev-wasm32, cargo): a rustup toolchain on PATH
 * usually lacks the wasm32-unknown-unknown standard library, so these are called by full path.
 */
export const RUST_TOOLCHAIN = { cargo: '/usr/bin/cargo', rustc: '/usr/bin/rustc' } as const;

export interface BuildRustOptions {
  /** Require the crate's Cargo.lock to be current (default false). */
  readonly locked?: boolean;
  /** CARGO_TARGET_DIR (default: `<dir>/target`, as cargo itself would). */
  readonly targetDir?: string;
  /** CARGO_HOME (default: `<targetDir>/cargo-home`), so the caller's cargo settings play no part. */
  readonly cargoHome?: string;
  /** Source paths the module may carry (panic locations) start with `to` instead of `from`. */
  readonly remapPathPrefix?: { readonly from: string; readonly to: string };
  /** The folder named in messages (default: `dir`). */
  readonly shownName?: string;
}

/**
 * Builds a Rust plugin crate offline, as `cargo build --release --target wasm32-unknown-unknown` in
 * its folder would (its release profile, its .cargo/config.toml), and returns the module bytes.
 * Cargo and Rust variables of the caller's environment are ignored, so the same sources give the
 * same bytes anywhere.
 */
export async function buildRust(dir: string, options: BuildRustOptions = {}): Promise<Uint8Array> {
  const shown = options.shownName ?? dir;
  for (const tool of Object.values(RUST_TOOLCHAIN)) {
    if (!existsSync(tool)) {
      throw new PluginBuildError(`building ${shown} needs ${tool} with the wasm32-unknown-unknown standard library: apt-get install rustc libstd-rust-dev-wasm32 cargo`);
    }
  }
  const targetDir = options.targetDir ?? join(dir, 'target');
  const cargoHome = options.cargoHome ?? join(targetDir, 'cargo-home');
  await mkdir(cargoHome, { recursive: true });
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CARGO|RUST)/.test(name)));
  Object.assign(env, { RUSTC: RUST_TOOLCHAIN.rustc, CARGO_HOME: cargoHome, CARGO_TARGET_DIR: targetDir });
  const manifest = join(dir, 'Cargo.toml');
  const args = ['build', '--release', '--target', 'wasm32-unknown-unknown', '--offline', ...(options.locked ? ['--locked'] : [])];
  if (options.remapPathPrefix) {
    // Added to the crate's own .cargo/config.toml flags (RUSTFLAGS would replace them).
    const flag = `--remap-path-prefix=${options.remapPathPrefix.from}=${options.remapPathPrefix.to}`;
    args.push('--config', `target.wasm32-unknown-unknown.rustflags=[${JSON.stringify(flag)}]`);
  }
  args.push('--manifest-path', manifest, '--message-format', 'json-render-diagnostics');
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(RUST_TOOLCHAIN.cargo, args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new PluginBuildError(`cargo failed for ${shown}:\n${failed.stderr || failed.message}`);
  }
  const wasm = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { reason?: string; manifest_path?: string; filenames?: string[] })
    .filter((m) => m.reason === 'compiler-artifact' && m.manifest_path === manifest)
    .flatMap((m) => m.filenames ?? [])
    .find((f) => f.endsWith('.wasm'));
  if (wasm === undefined) throw new PluginBuildError(`cargo built no .wasm for ${shown}: is its crate-type ["cdylib"]?`);
  return new Uint8Array(await readFile(wasm));
}
