import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginManifestSchema } from '@forgeone/contracts';
import { sdkPaths } from './sdk.locator.js';

/** The languages `forgeone plugin new` writes. */
export type ScaffoldLanguage = 'rust' | 'assemblyscript';

export const SCAFFOLD_LANGUAGES: readonly ScaffoldLanguage[] = ['rust', 'assemblyscript'];

/** The folder, inside a new plugin, that holds its copy of the SDK. */
export const SDK_COPY_DIR = 'forgeone-sdk';

export interface ScaffoldPluginInput {
  /** An empty or missing folder. */
  readonly dir: string;
  /** `<publisher>/<plugin>`. */
  readonly name: string;
  readonly language: ScaffoldLanguage;
}

export interface ScaffoldPluginResult {
  readonly dir: string;
  readonly files: readonly string[];
}

/**
 * Writes a new plugin folder that builds and passes its manifest's tests: a `greet` handler, a
 * manifest with test vectors, and a copy of the SDK in `forgeone-sdk/` (the source refers to it by
 * a relative path), so the folder builds offline wherever it is moved and keeps the SDK version it
 * was written with. Throws when the folder exists and is not empty.
 */
export async function scaffoldPlugin(input: ScaffoldPluginInput): Promise<ScaffoldPluginResult> {
  const entries = await readdir(input.dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) throw new Error(`${input.dir} already exists and is not empty; choose another --dir or name`);
  const plugin = input.name.split('/')[1];
  const files = input.language === 'rust' ? rustFiles(plugin) : assemblyScriptFiles();
  files['forgeone.plugin.json'] = `${JSON.stringify(manifest(input.name, input.language), null, 2)}\n`;
  files['.gitignore'] = input.language === 'rust' ? 'target/\n' : '';
  await mkdir(input.dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    if (text === '') continue;
    await mkdir(join(input.dir, path, '..'), { recursive: true });
    await writeFile(join(input.dir, path), text);
  }
  const sdk = sdkPaths();
  if (input.language === 'rust') {
    await cp(sdk.rust, join(input.dir, SDK_COPY_DIR), { recursive: true, filter: (path) => !/[\\/](target|Cargo\.lock)$/.test(path) });
  } else {
    await cp(sdk.assemblyscript, join(input.dir, SDK_COPY_DIR, 'assembly'), { recursive: true });
  }
  return { dir: input.dir, files: [...Object.keys(files).filter((f) => files[f] !== ''), `${SDK_COPY_DIR}/`].sort() };
}

function manifest(name: string, language: ScaffoldLanguage): Record<string, unknown> {
  const value = {
    name,
    version: '0.1.0',
    abi: 1,
    description: `Greets by name (${language === 'rust' ? 'Rust' : 'AssemblyScript'}): returns "hello, " followed by the input`,
    handlers: ['greet'],
    capabilities: { log: true },
    // rustc places a 1 MiB stack below the data, so a Rust module starts at 17 pages.
    limits: { memoryMiB: language === 'rust' ? 2 : 1, fuel: 10_000_000, timeoutMs: 500, maxInputBytes: 65536, maxOutputBytes: 65536 },
    tests: [
      { handler: 'greet', input: 'ada', expect: 'hello, ada' },
      { handler: 'greet', input: '  grace ', expect: 'hello, grace' },
    ],
  };
  // The scaffold must always be publishable as written.
  PluginManifestSchema.parse(value);
  return value;
}

function rustFiles(plugin: string): Record<string, string> {
  return {
    'Cargo.toml': `[package]
name = "${plugin}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
# A copy of the ForgeOne Rust SDK, written by \`forgeone plugin new\`.
forgeone-plugin-sdk = { path = "${SDK_COPY_DIR}" }

# A standalone crate, not a member of any workspace above it.
[workspace]

# Small modules; a panic reports its message and traps (wasm32 cannot unwind).
[profile.release]
opt-level = "s"
panic = "abort"
lto = true
codegen-units = 1
strip = "symbols"
`,
    '.cargo/config.toml': `# Copies and fills become memory.copy and memory.fill: one metered instruction each instead of a loop.
[target.wasm32-unknown-unknown]
rustflags = ["-C", "target-feature=+bulk-memory"]
`,
    'src/lib.rs': `//! greet: "ada" -> "hello, ada". Build with \`forgeone plugin build\`, run the manifest's tests with
//! \`forgeone plugin test --local\`.
use forgeone::{log, Error};

forgeone::handlers!(greet);

fn greet(name: &str) -> forgeone::Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::new("greet needs a name"));
    }
    log::info(&format!("greeting {}", name));
    Ok(format!("hello, {}", name))
}
`,
  };
}

function assemblyScriptFiles(): Record<string, string> {
  return {
    'assembly/index.ts': `// greet: "ada" -> "hello, ada". Build with \`forgeone plugin build\`, run the manifest's tests with
// \`forgeone plugin test --local\`.
import { fail, handle, log, LogLevel } from "../${SDK_COPY_DIR}/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../${SDK_COPY_DIR}/assembly";

export function greet(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (input: string): string => {
    const name = input.trim();
    if (name.length == 0) return fail("greet needs a name");
    log(LogLevel.INFO, "greeting " + name);
    return "hello, " + name;
  });
}
`,
  };
}
