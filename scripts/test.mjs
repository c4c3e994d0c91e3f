#!/usr/bin/env node
// The one test command (README, CI): build, lint and typecheck every project through Nx (and test/), then run every
// test tier with vitest and print a plain summary line: "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

// test/ (end-to-end and example tests) belongs to no project, so its typecheck runs here.
if (run('npx', ['nx', 'run-many', '-t', 'build', 'lint', 'typecheck', '--output-style=stream']) !== 0 || run('npx', ['tsc', '-p', 'test/tsconfig.json']) !== 0) {
  console.error('build, lint or typecheck failed: fix it before the tests run');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'forgeone-test-'));
const report = join(dir, 'vitest.json');
const extra = process.argv.slice(2);
const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);
let summary = { numPassedTests: 0, numFailedTests: status === 0 ? 0 : 1, numPendingTests: 0, numTodoTests: 0 };
try {
  summary = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  console.error('vitest wrote no report; counting the run as failed');
}
rmSync(dir, { recursive: true, force: true });
// Where the time goes: the ten slowest files, so a run's log shows what to split or share when the suite grows.
const slowest = (summary.testResults ?? [])
  .map((file) => ({ name: relative(process.cwd(), file.name), seconds: (file.endTime - file.startTime) / 1000 }))
  .filter((file) => Number.isFinite(file.seconds))
  .sort((a, b) => b.seconds - a.seconds)
  .slice(0, 10);
if (slowest.length > 0) console.log(`slowest test files:\n${slowest.map((file) => `  ${file.seconds.toFixed(1).padStart(7)} s  ${file.name}`).join('\n')}`);
const skipped = summary.numPendingTests + summary.numTodoTests;
console.log(`tests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
process.exit(status === 0 && summary.numFailedTests === 0 ? 0 : 1);
