#!/usr/bin/env node
// Committed entry point, so `npm ci` can link `forgeone` before anything is built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error: the forgeone CLI is not built yet: run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(main.href);
