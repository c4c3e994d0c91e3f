import { httpStatusFor } from '@forgeone/contracts';
import { API_ROUTES } from './api.routes.js';
import { routeErrors } from './route.js';

/** Where docs/http-api.md holds the generated table of error codes per route. */
export const ROUTE_ERRORS_MARKERS = { begin: '<!-- route-errors:begin -->', end: '<!-- route-errors:end -->' } as const;

/** The Markdown table of the codes each route may answer, by status, as docs/http-api.md shows it. */
export function renderRouteErrorsTable(): string {
  const rows = API_ROUTES.filter((route) => route.access.decidedBy !== 'public').map((route) => {
    const byStatus = new Map<number, string[]>();
    for (const code of routeErrors(route)) byStatus.set(httpStatusFor(code), [...(byStatus.get(httpStatusFor(code)) ?? []), code]);
    const codes = [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => `${status} ${list.map((c) => `\`${c}\``).join(', ')}`)
      .join('; ');
    return `| ${route.method.toUpperCase()} | ${route.path} | ${route.access.decidedBy} | ${codes} |`;
  });
  return ['| method | path | decided by | codes by status |', '|---|---|---|---|', ...rows].join('\n');
}

/** `markdown` with the table between the markers replaced by the current one. */
export function withRouteErrorsTable(markdown: string): string {
  const begin = markdown.indexOf(ROUTE_ERRORS_MARKERS.begin);
  const end = markdown.indexOf(ROUTE_ERRORS_MARKERS.end);
  if (begin < 0 || end < begin) throw new Error(`the document has no ${ROUTE_ERRORS_MARKERS.begin} ... ${ROUTE_ERRORS_MARKERS.end} section`);
  return `${markdown.slice(0, begin + ROUTE_ERRORS_MARKERS.begin.length)}\n${renderRouteErrorsTable()}\n${markdown.slice(end)}`;
}
