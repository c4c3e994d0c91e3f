import { EnvironmentSchema, httpStatusFor, manifestJsonSchema, type ErrorCode } from '@forgeone/contracts';
import { z } from 'zod';
import {
  AuditLogQuerySchema,
  AuditLogReplySchema,
  ErrorReplySchema,
  HealthzReplySchema,
  HistoryReplySchema,
  InstallationReplySchema,
  InstallBodySchema,
  PathSegmentSchema,
  PluginDetailReplySchema,
  PluginListQuerySchema,
  PluginListReplySchema,
  PublishBodySchema,
  PublishReplySchema,
  ReadyzReplySchema,
  UpgradeBodySchema,
} from '../http/http-api.schemas.js';

// The OpenAPI 3.1 document of the HTTP API v1, generated from the same zod schemas the
// controllers validate with. JSON Schema 2020-12 is OpenAPI 3.1's schema dialect.

type JsonSchema = Record<string, unknown>;
type HttpMethod = 'get' | 'post' | 'put' | 'delete';

interface ParameterDoc {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly description: string;
}

export interface ApiRoute {
  readonly method: HttpMethod;
  // OpenAPI path template, e.g. `/v1/plugins/{publisher}/{plugin}`.
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly pathParameters?: readonly ParameterDoc[];
  // A zod object whose fields are the query parameters.
  readonly query?: z.ZodObject;
  readonly body?: { readonly component: string; readonly schema: z.ZodType };
  readonly success: { readonly status: number; readonly description: string; readonly component: string; readonly schema: z.ZodType };
  // Refusals this route can answer, besides SERVICE.INTERNAL.
  readonly errors: readonly ErrorCode[];
  // Commands carry the caller's credential.
  readonly credential?: boolean;
}

const ENV: ParameterDoc = { name: 'environment', in: 'path', description: 'environment name, e.g. staging' };
const PUBLISHER: ParameterDoc = { name: 'publisher', in: 'path', description: 'first segment of the plugin name (<publisher>/<plugin>)' };
const PLUGIN: ParameterDoc = { name: 'plugin', in: 'path', description: 'second segment of the plugin name' };

const BUS_ERRORS: readonly ErrorCode[] = ['SERVICE.UNAVAILABLE', 'SERVICE.TIMEOUT'];
const QUERY_ERRORS: readonly ErrorCode[] = ['QUERY.INVALID', 'SERVICE.UNAVAILABLE'];
const CHANGE_ERRORS: readonly ErrorCode[] = ['COMMAND.INVALID', 'REGISTRY.VERSION_CONFLICT', 'EVENTSTORE.CONFLICT', 'EVENTSTORE.UNAVAILABLE', ...BUS_ERRORS];

// Every route of the HTTP API v1.
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'post',
    path: '/v1/plugins',
    operationId: 'publishPluginVersion',
    summary: 'Publish a plugin version (manifest and WebAssembly module)',
    tag: 'plugins',
    body: { component: 'PublishRequest', schema: PublishBodySchema },
    success: { status: 201, description: 'published; `projected` tells whether reads already show it', component: 'PublishReply', schema: PublishReplySchema },
    errors: ['COMMAND.INVALID', 'COMMAND.TOO_LARGE', 'REGISTRY.MANIFEST_INVALID', 'REGISTRY.WASM_INVALID', 'REGISTRY.ABI_MISMATCH', 'REGISTRY.VERSION_EXISTS', 'EVENTSTORE.CONFLICT', 'EVENTSTORE.UNAVAILABLE', ...BUS_ERRORS],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/plugins',
    operationId: 'listPlugins',
    summary: 'List plugins with their installations',
    tag: 'plugins',
    query: PluginListQuerySchema,
    success: { status: 200, description: 'plugins by name', component: 'PluginList', schema: PluginListReplySchema },
    errors: QUERY_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}',
    operationId: 'showPlugin',
    summary: 'Show a plugin: every version and installation',
    tag: 'plugins',
    pathParameters: [PUBLISHER, PLUGIN],
    success: { status: 200, description: 'the plugin', component: 'PluginDetail', schema: PluginDetailReplySchema },
    errors: [...QUERY_ERRORS, 'QUERY.NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}/history',
    operationId: 'pluginHistory',
    summary: "A plugin's events from the audit log, oldest first",
    tag: 'audit',
    pathParameters: [PUBLISHER, PLUGIN],
    success: { status: 200, description: 'audit entries about the plugin', component: 'History', schema: HistoryReplySchema },
    errors: QUERY_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/environments/{environment}/installations',
    operationId: 'installPlugin',
    summary: 'Install a published version in an environment',
    tag: 'installations',
    pathParameters: [ENV],
    body: { component: 'InstallRequest', schema: InstallBodySchema },
    success: { status: 201, description: 'installed', component: 'InstallationReply', schema: InstallationReplySchema },
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND', 'REGISTRY.ALREADY_INSTALLED'],
    credential: true,
  },
  {
    method: 'put',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}',
    operationId: 'upgradePlugin',
    summary: 'Upgrade an installation to a higher published version',
    tag: 'installations',
    pathParameters: [ENV, PUBLISHER, PLUGIN],
    body: { component: 'UpgradeRequest', schema: UpgradeBodySchema },
    success: { status: 200, description: 'upgraded', component: 'InstallationReply', schema: InstallationReplySchema },
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND', 'REGISTRY.NOT_INSTALLED', 'REGISTRY.NOT_AN_UPGRADE'],
    credential: true,
  },
  {
    method: 'delete',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}',
    operationId: 'removePlugin',
    summary: 'Remove a plugin from an environment; `version` in the reply is the removed one',
    tag: 'installations',
    pathParameters: [ENV, PUBLISHER, PLUGIN],
    success: { status: 200, description: 'removed', component: 'InstallationReply', schema: InstallationReplySchema },
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.NOT_INSTALLED'],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/audit-log',
    operationId: 'auditLog',
    summary: 'The audit log in stream order; page with `after` = the last sequence of the previous page',
    tag: 'audit',
    query: AuditLogQuerySchema,
    success: { status: 200, description: 'audit entries', component: 'AuditLog', schema: AuditLogReplySchema },
    errors: QUERY_ERRORS,
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the gateway process answers',
    tag: 'operations',
    success: { status: 200, description: 'alive', component: 'Healthz', schema: HealthzReplySchema },
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness of every service of the platform; 503 with the same body when one is not ready',
    tag: 'operations',
    success: { status: 200, description: 'every service is ready', component: 'Readyz', schema: ReadyzReplySchema },
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'openApiDocument',
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    success: { status: 200, description: 'the OpenAPI document', component: 'OpenApiDocument', schema: z.record(z.string(), z.unknown()) },
    errors: [],
  },
  {
    method: 'get',
    path: '/schemas/forgeone.plugin.schema.json',
    operationId: 'manifestSchema',
    summary: 'JSON Schema of the plugin manifest (forgeone.plugin.json)',
    tag: 'operations',
    success: { status: 200, description: 'the manifest JSON Schema', component: 'JsonSchema', schema: z.record(z.string(), z.unknown()) },
    errors: [],
  },
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const PATH_PARAMETER_SCHEMAS: Record<string, z.ZodType> = { environment: EnvironmentSchema, publisher: PathSegmentSchema, plugin: PathSegmentSchema };

function parameters(route: ApiRoute): JsonSchema[] {
  const inPath = (route.pathParameters ?? []).map((p) => ({
    name: p.name,
    in: 'path',
    required: true,
    description: p.description,
    schema: jsonSchema(PATH_PARAMETER_SCHEMAS[p.name], 'input'),
  }));
  if (!route.query) return inPath;
  const object = jsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  const inQuery = Object.entries(object.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: (object.required ?? []).includes(name),
    schema,
  }));
  return [...inPath, ...inQuery];
}

const ref = (component: string) => ({ $ref: `#/components/schemas/${component}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

function responses(route: ApiRoute): JsonSchema {
  const out: JsonSchema = { [String(route.success.status)]: { description: route.success.description, content: json(ref(route.success.component)) } };
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of route.errors) byStatus.set(httpStatusFor(code), [...(byStatus.get(httpStatusFor(code)) ?? []), code]);
  if (route.operationId === 'readyz') out['503'] = { description: 'a service is not ready', content: json(ref('Readyz')) };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = { description: `error codes: ${[...new Set(codes)].join(', ')}`, content: json(ref('ErrorReply')) };
  }
  out.default = { description: 'unexpected failure (SERVICE.INTERNAL, with a trace id to find the logs)', content: json(ref('ErrorReply')) };
  return out;
}

function components(): Record<string, JsonSchema> {
  const schemas: Record<string, JsonSchema> = {
    ErrorReply: jsonSchema(ErrorReplySchema, 'output'),
    PluginManifest: (({ $schema: _dialect, $id: _id, ...rest }) => rest)(manifestJsonSchema()),
  };
  for (const route of API_ROUTES) {
    if (route.body) schemas[route.body.component] = jsonSchema(route.body.schema, 'input');
    schemas[route.success.component] ??= jsonSchema(route.success.schema, 'output');
  }
  // The publish body takes any object as manifest (the registry names what is wrong); document what it should be.
  const publish = schemas.PublishRequest as { properties: Record<string, JsonSchema> };
  publish.properties.manifest = { ...ref('PluginManifest'), description: 'the plugin manifest (forgeone.plugin.json)' };
  publish.properties.wasm = { ...publish.properties.wasm, description: 'the WebAssembly module, base64' };
  return schemas;
}

// Builds the OpenAPI 3.1 document of the HTTP API v1.
export function buildOpenApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of API_ROUTES) {
    const params = parameters(route);
    paths[route.path] ??= {};
    paths[route.path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(route.body ? { requestBody: { required: true, content: json(ref(route.body.component)) } } : {}),
      ...(route.credential ? { security: [{ bearer: [] }, {}] } : {}),
      responses: responses(route),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ForgeOne API',
      version: '1.0.0',
      description:
        'HTTP API of the ForgeOne WebAssembly plugin manager. Commands answer once the change is visible in reads, or after 5 s with "projected": false. Every error is { "error": { "code", "message", "details"? } }.',
    },
    servers: [{ url: '/' }],
    tags: [{ name: 'plugins' }, { name: 'installations' }, { name: 'audit' }, { name: 'operations' }],
    paths,
    components: {
      schemas: components(),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'passed through to the bus as the caller credential' } },
    },
  };
}
