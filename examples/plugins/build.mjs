#!/usr/bin/env node
// Rebuilds every examples/plugins/<name>/plugin.wat into plugin.wasm with wabt.
// The .wasm files are committed so a plugin can be published without a toolchain;
// `--check` fails (exit 1) when a committed .wasm no longer matches its .wat, for CI.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const wabt = await wabtInit();

const sources = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'plugin.wat')))
  .map((entry) => join(root, entry.name, 'plugin.wat'))
  .sort();

let stale = 0;
for (const source of sources) {
  const target = join(dirname(source), 'plugin.wasm');
  const name = relative(process.cwd(), source);
  const parsed = wabt.parseWat(name, readFileSync(source, 'utf8'));
  let binary;
  try {
    parsed.resolveNames();
    parsed.validate();
    binary = Buffer.from(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
  new WebAssembly.Module(binary); // the engine must accept what wabt wrote
  const current = existsSync(target) ? readFileSync(target) : undefined;
  const upToDate = current !== undefined && current.equals(binary);
  if (check && !upToDate) {
    stale++;
    console.error(`${relative(process.cwd(), target)} is out of date: run node examples/plugins/build.mjs`);
  } else if (!upToDate) {
    writeFileSync(target, binary);
    console.log(`built ${relative(process.cwd(), target)} (${binary.length} bytes)`);
  } else {
    console.log(`${relative(process.cwd(), target)} is up to date (${binary.length} bytes)`);
  }
}
if (sources.length === 0) console.warn(`no plugin.wat found under ${relative(process.cwd(), root) || '.'}`);
process.exit(stale > 0 ? 1 : 0);
