#!/usr/bin/env node
// Runs every benchmark in this folder one after another (they share two cores: never in parallel).
// Each prints its own table and writes bench/results/<name>.json; then bench/README.md's results table is
// regenerated from them (bench/report.mjs). `npm run bench -- sandbox` runs a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.mjs') && f.includes(filter)).sort();
if (benches.length === 0) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(2);
}
let failed = 0;
for (const bench of benches) {
  console.log(`\n== ${bench}`);
  const { status } = spawnSync(process.execPath, ['--expose-gc', join(here, bench)], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
// Runs that failed wrote no new result; the table shows the last result each bench wrote.
spawnSync(process.execPath, [join(here, 'report.mjs')], { stdio: 'inherit' });
process.exit(failed ? 1 : 0);
