import { join } from 'node:path';
import { buildAssemblyScript } from './assemblyscript.builder.js';
import { PluginBuildError } from './plugin-build.error.js';
import { pluginSourceKind, type PluginSourceKind } from './plugin-source.detector.js';
import { buildRust } from './rust.builder.js';
import { buildWat } from './wat.builder.js';

export interface PluginBuildResult {
  readonly kind: PluginSourceKind;
  readonly wasm: Uint8Array;
}

/**
 * Builds a plugin folder written by `forgeone plugin new` (or by hand) in memory: plugin.wat with
 * wabt, assembly/index.ts with AssemblyScript and the SDK copy in `forgeone-sdk/`, Cargo.toml with
 * Debian's cargo into `<dir>/target`. Throws {@link PluginBuildError} with the compiler's messages.
 */
export async function buildPluginFolder(dir: string): Promise<PluginBuildResult> {
  const kind = pluginSourceKind(dir);
  switch (kind) {
    case 'wat':
      return { kind, wasm: await buildWat(join(dir, 'plugin.wat'), 'plugin.wat') };
    case 'assemblyscript':
      return { kind, wasm: await buildAssemblyScript(dir) };
    case 'rust':
      return { kind, wasm: await buildRust(dir, { remapPathPrefix: { from: dir, to: 'plugin' } }) };
    case undefined:
      throw new PluginBuildError(`${dir} holds no plugin source: expected Cargo.toml (Rust), assembly/index.ts (AssemblyScript) or plugin.wat`);
  }
}
