export * from './http.schemas.js';
export * from './route.js';
export * from './api.routes.js';
export { buildOpenApiDocument } from './openapi.document.js';
export { renderRouteErrorsTable, withRouteErrorsTable, ROUTE_ERRORS_MARKERS } from './route-errors.markdown.js';
export * from './test-run.schemas.js';
