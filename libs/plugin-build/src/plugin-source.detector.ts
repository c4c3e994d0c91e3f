import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The languages a plugin folder can be written in. */
export type PluginSourceKind = 'wat' | 'assemblyscript' | 'rust';

/** The source kind of a plugin folder (plugin.wat, assembly/index.ts or Cargo.toml), or undefined when it has none. */
export function pluginSourceKind(dir: string): PluginSourceKind | undefined {
  if (existsSync(join(dir, 'plugin.wat'))) return 'wat';
  if (existsSync(join(dir, 'assembly', 'index.ts'))) return 'assemblyscript';
  if (existsSync(join(dir, 'Cargo.toml'))) return 'rust';
  return undefined;
}
