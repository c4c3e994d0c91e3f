import { EnvironmentSchema, InvokeRequestSchema, SIGNATURE_REASONS, httpStatusFor, manifestJsonSchema, type ErrorCode } from '@forgeone/contracts';
import { z } from 'zod';
import {
  ApplyPoliciesBodySchema,
  ApplyPoliciesReplySchema,
  AuditLogQuerySchema,
  AuditLogReplySchema,
  CallBodySchema,
  CallReplySchema,
  CreateTokenBodySchema,
  CreateTokenResultSchema,
  ErrorReplySchema,
  HealthzReplySchema,
  HistoryReplySchema,
  InstallationDryRunReplySchema,
  InstallationReplySchema,
  InstallBodySchema,
  KeyIdPathSchema,
  KeyListQuerySchema,
  KeyListReplySchema,
  RevokeKeyBodySchema,
  RevokeKeyQuerySchema,
  RevokeKeyReplySchema,
  TrustKeyBodySchema,
  TrustKeyReplySchema,
  PathSegmentSchema,
  PluginDetailReplySchema,
  PluginListQuerySchema,
  PluginListReplySchema,
  PolicyCheckBodySchema,
  PolicyCheckResultSchema,
  PublishBodySchema,
  PublishReplySchema,
  ReadyzReplySchema,
  RevokeTokenBodySchema,
  RevokeTokenQuerySchema,
  RevokeTokenReplySchema,
  ShowPoliciesReplySchema,
  TokenIdSchema,
  TokenListQuerySchema,
  TokenListResultSchema,
  RollbackBodySchema,
  UpgradeBodySchema,
} from '../http/http-api.schemas.js';

// The OpenAPI 3.1 document of the HTTP API v1, generated from the same zod schemas the
// controllers validate with. JSON Schema 2020-12 is OpenAPI 3.1's schema dialect.

type JsonSchema = Record<string, unknown>;
type HttpMethod = 'get' | 'post' | 'put' | 'delete';

interface ParameterDoc {
  readonly name: string;
  readonly in: 'path' | 'header';
  readonly description: string;
}

interface ResponseDoc {
  readonly status: number;
  readonly description: string;
  readonly component: string;
  readonly schema: z.ZodType;
}

export interface ApiRoute {
  readonly method: HttpMethod;
  // OpenAPI path template, e.g. `/v1/plugins/{publisher}/{plugin}`.
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly pathParameters?: readonly ParameterDoc[];
  // Optional request headers besides Authorization.
  readonly headers?: readonly ParameterDoc[];
  // A zod object whose fields are the query parameters.
  readonly query?: z.ZodObject;
  readonly body?: { readonly component: string; readonly schema: z.ZodType; readonly required?: boolean };
  readonly success: ResponseDoc;
  // What the route answers for a body with `"dryRun": true` that would succeed.
  readonly dryRun?: ResponseDoc;
  // Refusals this route can answer, besides SERVICE.INTERNAL.
  readonly errors: readonly ErrorCode[];
  // Needs the caller's API token (every /v1 route).
  readonly credential?: boolean;
}

const ENV: ParameterDoc = { name: 'environment', in: 'path', description: 'environment name, e.g. staging' };
const PUBLISHER: ParameterDoc = { name: 'publisher', in: 'path', description: 'first segment of the plugin name (<publisher>/<plugin>)' };
const PLUGIN: ParameterDoc = { name: 'plugin', in: 'path', description: 'second segment of the plugin name' };
const HANDLER: ParameterDoc = { name: 'handler', in: 'path', description: 'a handler the plugin exports (its manifest lists them), e.g. greet' };
const TOKEN_ID: ParameterDoc = { name: 'tokenId', in: 'path', description: 'id of the token (the part after `fo_`, as token list shows it)' };
const KEY_ID: ParameterDoc = { name: 'keyId', in: 'path', description: 'key id: lowercase hex sha256 of the public key (SPKI DER), as keys list shows it' };
const TENANT_HEADER: ParameterDoc = {
  name: 'Forgeone-Tenant',
  in: 'header',
  description: "optional; queries always answer for the token's tenant, and a header naming another tenant is refused with AUTHZ.DENIED",
};

// Every /v1 route: no, a bad or a revoked token; too many of them from one client; policy says no; policy cannot be asked (fail closed).
const AUTH_ERRORS: readonly ErrorCode[] = ['AUTH.UNAUTHENTICATED', 'AUTH.TOKEN_EXPIRED', 'AUTH.TOKEN_REVOKED', 'AUTH.TOO_MANY_FAILURES', 'AUTHZ.DENIED', 'AUTHZ.UNAVAILABLE'];
const BUS_ERRORS: readonly ErrorCode[] = ['SERVICE.UNAVAILABLE', 'SERVICE.TIMEOUT', ...AUTH_ERRORS];
const QUERY_ERRORS: readonly ErrorCode[] = ['QUERY.INVALID', 'SERVICE.UNAVAILABLE', ...AUTH_ERRORS];
const CHANGE_ERRORS: readonly ErrorCode[] = ['COMMAND.INVALID', 'REGISTRY.VERSION_CONFLICT', 'EVENTSTORE.CONFLICT', 'EVENTSTORE.UNAVAILABLE', ...BUS_ERRORS];
const DRY_RUN: ResponseDoc = {
  status: 200,
  description:
    'dry run (`"dryRun": true`): every check passed and nothing was changed; the events the command would append and the signature verdict. A dry run that fails answers the error the command would, with `details.dryRun: true` and `details.failedCheck`',
  component: 'InstallationDryRunReply',
  schema: InstallationDryRunReplySchema,
};
const POLICY_ERRORS: readonly ErrorCode[] = ['COMMAND.INVALID', ...BUS_ERRORS];
const KEY_ERRORS: readonly ErrorCode[] = ['COMMAND.INVALID', 'EVENTSTORE.CONFLICT', 'EVENTSTORE.UNAVAILABLE', ...BUS_ERRORS];
// What the sandbox runner answers a failed call with.
const SANDBOX_ERRORS: readonly ErrorCode[] = [
  'SANDBOX.NOT_FOUND',
  'SANDBOX.GUEST_ERROR',
  'SANDBOX.FUEL_EXHAUSTED',
  'SANDBOX.MEMORY_LIMIT',
  'SANDBOX.STACK_OVERFLOW',
  'SANDBOX.TIMEOUT',
  'SANDBOX.TRAP',
  'SANDBOX.OUT_OF_BOUNDS',
  'SANDBOX.OUTPUT_TOO_LARGE',
  'SANDBOX.INPUT_TOO_LARGE',
  'SANDBOX.CAPABILITY_DENIED',
  'SANDBOX.OVERLOADED',
  'SANDBOX.MODULE_REJECTED',
];

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
    errors: [
      'COMMAND.INVALID',
      'COMMAND.TOO_LARGE',
      'REGISTRY.MANIFEST_INVALID',
      'REGISTRY.WASM_INVALID',
      'REGISTRY.ABI_MISMATCH',
      'REGISTRY.PRIVATE_EGRESS_REFUSED',
      'REGISTRY.VERSION_EXISTS',
      'EVENTSTORE.CONFLICT',
      'EVENTSTORE.UNAVAILABLE',
      ...BUS_ERRORS,
    ],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/plugins',
    operationId: 'listPlugins',
    summary: "List the caller's tenant's plugins with their installations",
    tag: 'plugins',
    query: PluginListQuerySchema,
    success: { status: 200, description: 'plugins by name', component: 'PluginList', schema: PluginListReplySchema },
    errors: QUERY_ERRORS,
    headers: [TENANT_HEADER],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/plugins/{publisher}/{plugin}',
    operationId: 'showPlugin',
    summary: 'Show a plugin: every version and installation, and its storage quota and usage per environment',
    tag: 'plugins',
    pathParameters: [PUBLISHER, PLUGIN],
    success: { status: 200, description: 'the plugin', component: 'PluginDetail', schema: PluginDetailReplySchema },
    errors: [...QUERY_ERRORS, 'QUERY.NOT_FOUND'],
    headers: [TENANT_HEADER],
    credential: true,
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
    headers: [TENANT_HEADER],
    credential: true,
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
    dryRun: DRY_RUN,
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND', 'REGISTRY.ALREADY_INSTALLED', 'REGISTRY.DOWNGRADE_REFUSED', ...SIGNATURE_REASONS],
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
    dryRun: DRY_RUN,
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND', 'REGISTRY.NOT_INSTALLED', 'REGISTRY.NOT_AN_UPGRADE', 'REGISTRY.DOWNGRADE_REFUSED', ...SIGNATURE_REASONS],
    credential: true,
  },
  {
    method: 'post',
    path: '/v1/environments/{environment}/installations/{publisher}/{plugin}/rollback',
    operationId: 'rollbackPlugin',
    summary: 'Roll an installation back to a lower published version, with a reason (needs rollback on the plugin); the reason is recorded in the rolled_back event',
    tag: 'installations',
    pathParameters: [ENV, PUBLISHER, PLUGIN],
    body: { component: 'RollbackRequest', schema: RollbackBodySchema },
    success: { status: 200, description: 'rolled back', component: 'InstallationReply', schema: InstallationReplySchema },
    dryRun: DRY_RUN,
    errors: [...CHANGE_ERRORS, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND', 'REGISTRY.NOT_INSTALLED', 'REGISTRY.NOT_A_ROLLBACK', ...SIGNATURE_REASONS],
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
    method: 'post',
    path: '/v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}',
    operationId: 'callPlugin',
    summary: 'Call a handler of the plugin installed in an environment with one input; answers its output (needs invoke on the plugin)',
    tag: 'invocations',
    pathParameters: [ENV, PUBLISHER, PLUGIN, HANDLER],
    body: { component: 'CallRequest', schema: CallBodySchema },
    success: { status: 200, description: 'the output: `output` when it is UTF-8 text, else `outputBase64`', component: 'CallReply', schema: CallReplySchema },
    errors: ['COMMAND.INVALID', 'COMMAND.TOO_LARGE', ...SANDBOX_ERRORS, ...BUS_ERRORS],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/audit-log',
    operationId: 'auditLog',
    summary: "The caller's tenant's audit log in stream order (needs read-audit); page with `after` = the last sequence of the previous page",
    tag: 'audit',
    query: AuditLogQuerySchema,
    success: { status: 200, description: 'audit entries', component: 'AuditLog', schema: AuditLogReplySchema },
    errors: QUERY_ERRORS,
    headers: [TENANT_HEADER],
    credential: true,
  },
  {
    method: 'post',
    path: '/v1/policies',
    operationId: 'applyPolicies',
    summary: 'Apply a new version of the Cedar policy set (validated against the schema first; needs apply-policy)',
    tag: 'policy',
    body: { component: 'ApplyPoliciesRequest', schema: ApplyPoliciesBodySchema },
    success: { status: 200, description: 'the active policy set; `unchanged` when it was identical', component: 'ApplyPoliciesReply', schema: ApplyPoliciesReplySchema },
    errors: [...POLICY_ERRORS, 'POLICY.INVALID', 'POLICY.SCHEMA_VIOLATION', 'POLICY.CONFLICT'],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/policies',
    operationId: 'showPolicies',
    summary: 'Show the active policy set: version, sha256 and each policy by id (needs read-policy)',
    tag: 'policy',
    success: { status: 200, description: 'the active policy set', component: 'PolicySet', schema: ShowPoliciesReplySchema },
    errors: POLICY_ERRORS,
    credential: true,
  },
  {
    method: 'post',
    path: '/v1/policies/check',
    operationId: 'checkPolicy',
    summary: 'What-if: would a principal be allowed an action on a resource, and by which policies? Records nothing (needs read-policy)',
    tag: 'policy',
    body: { component: 'PolicyCheckRequest', schema: PolicyCheckBodySchema },
    success: { status: 200, description: 'the decision and the policies that decided it', component: 'PolicyCheckReply', schema: PolicyCheckResultSchema },
    errors: [...POLICY_ERRORS, 'IDENTITY.TOKEN_NOT_FOUND'],
    credential: true,
  },
  {
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    summary: 'Issue an API token for a principal with a role; the reply holds the token, shown this once (needs manage-tokens)',
    tag: 'tokens',
    body: { component: 'CreateTokenRequest', schema: CreateTokenBodySchema },
    success: { status: 201, description: 'issued; keep `token`, it is stored nowhere', component: 'CreateTokenReply', schema: CreateTokenResultSchema },
    errors: [...POLICY_ERRORS, 'IDENTITY.UNKNOWN_ROLE'],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    summary: "List the tokens of the caller's tenant, or of `tenant` (never their secrets; needs manage-tokens)",
    tag: 'tokens',
    query: TokenListQuerySchema,
    success: { status: 200, description: 'tokens, oldest first', component: 'TokenList', schema: TokenListResultSchema },
    errors: POLICY_ERRORS,
    credential: true,
  },
  {
    method: 'delete',
    path: '/v1/tokens/{tokenId}',
    operationId: 'revokeToken',
    summary: 'Revoke a token at once; the reason (body or `?reason=`) goes to the audit log (needs manage-tokens)',
    tag: 'tokens',
    pathParameters: [TOKEN_ID],
    query: RevokeTokenQuerySchema,
    body: { component: 'RevokeTokenRequest', schema: RevokeTokenBodySchema, required: false },
    success: { status: 200, description: 'revoked; `alreadyRevoked` when it had been before', component: 'RevokeTokenReply', schema: RevokeTokenReplySchema },
    errors: [...POLICY_ERRORS, 'IDENTITY.TOKEN_NOT_FOUND'],
    credential: true,
  },
  {
    method: 'post',
    path: '/v1/keys',
    operationId: 'trustKey',
    summary: "Trust a publisher's Ed25519 public key in the caller's tenant: scope (default `<publisher>/*`) and validity window (needs trust-key)",
    tag: 'keys',
    body: { component: 'TrustKeyRequest', schema: TrustKeyBodySchema },
    success: { status: 201, description: 'trusted; `keyId` is the sha256 of the key (SPKI DER)', component: 'TrustKeyReply', schema: TrustKeyReplySchema },
    errors: [...KEY_ERRORS, 'KEY.INVALID', 'KEY.ALREADY_TRUSTED', 'KEY.ALREADY_REVOKED'],
    credential: true,
  },
  {
    method: 'get',
    path: '/v1/keys',
    operationId: 'listKeys',
    summary: "List the caller's tenant's trusted keys, revoked ones included (needs read)",
    tag: 'keys',
    query: KeyListQuerySchema,
    success: { status: 200, description: 'keys in the order they were trusted', component: 'KeyList', schema: KeyListReplySchema },
    errors: KEY_ERRORS,
    credential: true,
  },
  {
    method: 'delete',
    path: '/v1/keys/{keyId}',
    operationId: 'revokeKey',
    summary: 'Revoke a key: signatures recorded at or after `revokedAt` (default now) stop verifying; the reason goes to the audit log (needs revoke-key)',
    tag: 'keys',
    pathParameters: [KEY_ID],
    query: RevokeKeyQuerySchema,
    body: { component: 'RevokeKeyRequest', schema: RevokeKeyBodySchema, required: false },
    success: { status: 200, description: 'revoked', component: 'RevokeKeyReply', schema: RevokeKeyReplySchema },
    errors: [...KEY_ERRORS, 'KEY.NOT_FOUND', 'KEY.ALREADY_REVOKED'],
    credential: true,
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

const PATH_PARAMETER_SCHEMAS: Record<string, z.ZodType> = { environment: EnvironmentSchema, publisher: PathSegmentSchema, plugin: PathSegmentSchema, tokenId: TokenIdSchema, keyId: KeyIdPathSchema, handler: InvokeRequestSchema.shape.handler };

function parameters(route: ApiRoute): JsonSchema[] {
  const inPath = (route.pathParameters ?? []).map((p) => ({
    name: p.name,
    in: 'path',
    required: true,
    description: p.description,
    schema: jsonSchema(PATH_PARAMETER_SCHEMAS[p.name], 'input'),
  }));
  const inHeader = (route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } }));
  if (!route.query) return [...inPath, ...inHeader];
  const object = jsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  const inQuery = Object.entries(object.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: (object.required ?? []).includes(name),
    schema,
  }));
  return [...inPath, ...inQuery, ...inHeader];
}

const ref = (component: string) => ({ $ref: `#/components/schemas/${component}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

function responses(route: ApiRoute): JsonSchema {
  const out: JsonSchema = { [String(route.success.status)]: { description: route.success.description, content: json(ref(route.success.component)) } };
  const { dryRun } = route;
  if (dryRun) {
    // Upgrade and rollback answer both with 200: one response, either schema.
    out[String(dryRun.status)] =
      dryRun.status === route.success.status
        ? { description: `${route.success.description}; or a ${dryRun.description}`, content: json({ oneOf: [ref(route.success.component), ref(dryRun.component)] }) }
        : { description: dryRun.description, content: json(ref(dryRun.component)) };
  }
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
    if (route.dryRun) schemas[route.dryRun.component] ??= jsonSchema(route.dryRun.schema, 'output');
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
      ...(route.body ? { requestBody: { required: route.body.required ?? true, content: json(ref(route.body.component)) } } : {}),
      // Routes without a token (health, docs) declare no security at all.
      ...(route.credential ? { security: [{ bearer: [] }] } : { security: [] }),
      responses: responses(route),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ForgeOne API',
      version: '1.0.0',
      description:
        'HTTP API of the ForgeOne WebAssembly plugin manager. Every /v1 route needs an API token (Authorization: Bearer <token>) and is authorised by the Cedar policy set; queries answer for the tenant of the token only. Plugin commands answer once the change is visible in reads, or after 5 s with "projected": false. Every error is { "error": { "code", "message", "details"? } }.',
    },
    servers: [{ url: '/' }],
    tags: [{ name: 'plugins' }, { name: 'installations' }, { name: 'invocations' }, { name: 'audit' }, { name: 'policy' }, { name: 'tokens' }, { name: 'keys' }, { name: 'operations' }],
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'a ForgeOne API token (fo_<id>_<secret>, from POST /v1/tokens) or the bootstrap token; a request without one is 401 AUTH.UNAUTHENTICATED',
        },
      },
    },
  };
}
