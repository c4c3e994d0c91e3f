export * from './http.schemas.js';
export * from './route.js';
export * from './api.routes.js';
export { buildOpenApiDocument } from './openapi.document.js';
