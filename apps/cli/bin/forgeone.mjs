#!/usr/bin/env node
// Committed entry point, so `npm ci` can link `forgeone` before anything is built. The build bundles the CLI into
// dist/bundle (see rolldown.config.mjs).
import { existsSync } from 'node:fs';

const main = new URL('../dist/bundle/main.mjs', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error: the forgeone CLI is not built yet: run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(main.href);
