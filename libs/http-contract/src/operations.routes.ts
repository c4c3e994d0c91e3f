// Routes without a token: health, readiness, the API reference and the schemas it publishes.
import { z } from 'zod';
import { HealthzReplySchema, ReadyzReplySchema } from './http.schemas.js';
import { defineRoute } from './route.js';

const OpenApiDocumentSchema = z.record(z.string(), z.unknown());

/** Probes, the API reference and published schemas. */
export const OPERATIONS_ROUTES = {
  healthz: defineRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the gateway process answers',
    tag: 'operations',
    what: 'the liveness probe',
    success: { status: 200, description: 'alive', component: 'Healthz', schema: HealthzReplySchema },
    access: { decidedBy: 'public' },
  }),
  readyz: defineRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness of every service of the platform; 503 with the same body when one is not ready',
    tag: 'operations',
    what: 'the readiness probe',
    success: { status: 200, description: 'every service is ready', component: 'Readyz', schema: ReadyzReplySchema },
    alsoAnswers: { status: 503, description: 'a service is not ready' },
    access: { decidedBy: 'public' },
  }),
  apiReference: defineRoute({
    method: 'get',
    path: '/docs',
    operationId: 'apiReference',
    summary: 'This API as an interactive page (HTML); a client that asks for application/json gets the OpenAPI document',
    tag: 'operations',
    what: 'the API reference',
    success: { status: 200, description: 'the API reference page, or the OpenAPI document', component: 'OpenApiDocument', schema: OpenApiDocumentSchema },
    access: { decidedBy: 'public' },
  }),
  openApiDocument: defineRoute({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    what: 'the OpenAPI document',
    success: { status: 200, description: 'the OpenAPI document', component: 'OpenApiDocument', schema: OpenApiDocumentSchema },
    access: { decidedBy: 'public' },
  }),
  manifestSchema: defineRoute({
    method: 'get',
    path: '/schemas/forgeone.plugin.schema.json',
    operationId: 'manifestSchema',
    summary: 'JSON Schema of the plugin manifest (forgeone.plugin.json)',
    tag: 'operations',
    what: 'the manifest schema',
    success: { status: 200, description: 'the manifest JSON Schema', component: 'JsonSchema', schema: z.record(z.string(), z.unknown()) },
    access: { decidedBy: 'public' },
  }),
} as const;
