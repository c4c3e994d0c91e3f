import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout (or installation) this library runs from: the first folder above it holding
 * `sdk/rust` and `sdk/assemblyscript`. Both `src/` and `dist/` sit two levels below `libs/`.
 */
export function forgeoneRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'sdk', 'rust', 'Cargo.toml')) && existsSync(join(dir, 'sdk', 'assemblyscript', 'assembly', 'index.ts'))) return dir;
  }
  throw new Error(`the ForgeOne SDKs (sdk/rust, sdk/assemblyscript) were not found above ${fileURLToPath(import.meta.url)}`);
}

/** Where the SDK sources are: `sdk/rust` (a crate) and `sdk/assemblyscript/assembly`. */
export function sdkPaths(): { readonly rust: string; readonly assemblyscript: string } {
  const root = forgeoneRoot();
  return { rust: join(root, 'sdk', 'rust'), assemblyscript: join(root, 'sdk', 'assemblyscript', 'assembly') };
}
