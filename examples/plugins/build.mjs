#!/usr/bin/env node
// Rebuilds every example plugin under examples/plugins into its plugin.wasm: plugin.wat with wabt,
// assembly/index.ts with AssemblyScript, Cargo.toml with Debian's Rust toolchain (npm run examples:build). The .wasm files are committed so a
// plugin can be published without a toolchain; `--check` fails (exit 1) when a committed .wasm no
// longer matches its source, for CI.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildExample, listExamples } from './plugin-builder.mjs';

const check = process.argv.includes('--check');
const examples = listExamples();

let stale = 0;
for (const example of examples) {
  const target = join(example.dir, 'plugin.wasm');
  const shown = relative(process.cwd(), target);
  const binary = Buffer.from(await buildExample(example.dir));
  new WebAssembly.Module(binary); // the engine must accept what the toolchain wrote
  const current = existsSync(target) ? readFileSync(target) : undefined;
  const upToDate = current !== undefined && current.equals(binary);
  if (check && !upToDate) {
    stale++;
    console.error(`${shown} is out of date: run npm run examples:build`);
  } else if (!upToDate) {
    writeFileSync(target, binary);
    console.log(`built ${shown} (${binary.length} bytes, ${example.kind})`);
  } else {
    console.log(`${shown} is up to date (${binary.length} bytes, ${example.kind})`);
  }
}
if (examples.length === 0) console.warn('no plugin.wat, assembly/index.ts or Cargo.toml found under examples/plugins');
process.exit(stale > 0 ? 1 : 0);
