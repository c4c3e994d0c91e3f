#!/usr/bin/env node
// `npm start` runs the compiled services: build whatever is missing or stale first (Nx caches the rest).
import { spawnSync } from 'node:child_process';

const result = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--output-style=static'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
});
if (result.status !== 0) {
  console.error('ForgeOne could not be built; run `npm run build` to see why');
  process.exit(result.status ?? 1);
}
