import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from './api.routes.js';
import { routeErrors } from './route.js';
import { withRouteErrorsTable } from './route-errors.markdown.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/http-api.md', import.meta.url)), 'utf8');
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));

// The rows of the "## Routes" table: method, path (`{env}` as the contract names it), and the rest of the row.
function routeRows(): { route: string; text: string }[] {
  const section = DOC.slice(DOC.indexOf('## Routes'), DOC.indexOf('\n## ', DOC.indexOf('## Routes') + 1));
  return [...section.matchAll(/^\| (GET|POST|PUT|DELETE) \| (\S+) \|(.*)$/gm)].map((m) => ({
    route: `${m[1].toLowerCase()} ${m[2].replace('{env}', '{environment}')}`,
    text: m[3],
  }));
}

describe('docs/http-api.md', () => {
  it('docs - the routes table lists exactly the routes of the contract', () => {
    expect(routeRows().map((r) => r.route).sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('docs - every error code a route row names is one the route documents', () => {
    const wrong: string[] = [];
    for (const { route, text } of routeRows()) {
      const contract = API_ROUTES.find((r) => `${r.method} ${r.path}` === route)!;
      for (const [code] of text.matchAll(/\b[A-Z]+\.[A-Z_]+\b/g)) {
        if (KNOWN_CODES.has(code) && !(routeErrors(contract) as string[]).includes(code)) wrong.push(`${route}: ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('docs - the error codes per route are the generated table (run `node scripts/http-api-errors.mjs` after a build)', () => {
    expect(withRouteErrorsTable(DOC)).toBe(DOC);
  });
});
