#!/usr/bin/env node
// Writes the table of error codes per route into docs/http-api.md from the HTTP contract (run after a build).
import { readFileSync, writeFileSync } from 'node:fs';
import { withRouteErrorsTable } from '@forgeone/http-contract';

const file = new URL('../docs/http-api.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withRouteErrorsTable(before);
writeFileSync(file, after);
console.log(after === before ? 'docs/http-api.md: the error table was current' : 'docs/http-api.md: the error table was rewritten');
