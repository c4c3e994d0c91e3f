import { describe, expect, it } from 'vitest';
import { API_ROUTES } from './api.routes.js';
import {
  AuditLogQuerySchema,
  CallBodySchema,
  CreateTokenShapeSchema,
  InstallBodySchema,
  PluginListQuerySchema,
  PolicyCheckBodySchema,
  PublishBodySchema,
  UpgradeBodySchema,
} from './http.schemas.js';
import { buildOpenApiDocument } from './openapi.document.js';

// The routes of the HTTP API v1 contract the CLI codes against.
const CONTRACT_ROUTES = [
  'post /v1/plugins',
  'get /v1/environments',
  'get /v1/environments/{environment}',
  'put /v1/environments/{environment}',
  'post /v1/environments/{environment}/confirm',
  'get /v1/environments/{environment}/plugins/{publisher}/{plugin}/config',
  'put /v1/environments/{environment}/plugins/{publisher}/{plugin}/config/{key}',
  'delete /v1/environments/{environment}/plugins/{publisher}/{plugin}/config/{key}',
  'post /v1/environments/{environment}/plugins/{publisher}/{plugin}/config-changes/{changeId}/approvals',
  'post /v1/environments/{environment}/plugins/{publisher}/{plugin}/config-changes/{changeId}/rejections',
  'post /v1/environments/{environment}/watch/rejections',
  'post /v1/environments/{environment}/installations',
  'put /v1/environments/{environment}/installations/{publisher}/{plugin}',
  'post /v1/environments/{environment}/installations/{publisher}/{plugin}/rollback',
  'delete /v1/environments/{environment}/installations/{publisher}/{plugin}',
  'post /v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}',
  'post /v1/environments/{environment}/plugins/{publisher}/{plugin}/versions/{version}/approvals',
  'post /v1/environments/{environment}/plugins/{publisher}/{plugin}/versions/{version}/rejections',
  'post /v1/environments/{environment}/promotions',
  'get /v1/plugins',
  'get /v1/plugins/{publisher}/{plugin}',
  'get /v1/plugins/{publisher}/{plugin}/history',
  'get /v1/audit-log',
  'get /v1/audit-log/checkpoint',
  'get /v1/audit-log/{sequence}/proof',
  'get /v1/audit-log/consistency',
  'get /v1/audit-log/key',
  'post /v1/audit-log/verify',
  'get /v1/reports/plugin-calls',
  'get /v1/reports/call-windows',
  'get /v1/reports/policy-denials',
  'get /v1/reports/signature-results',
  'get /v1/reports/sandbox-violations',
  'get /v1/reports/key-trust-changes',
  'get /v1/reports/policy-set-versions',
  'get /v1/reports/token-events',
  'put /v1/settings/call-recording',
  'post /v1/policies',
  'get /v1/policies',
  'post /v1/policies/check',
  'post /v1/tokens',
  'get /v1/tokens',
  'delete /v1/tokens/{tokenId}',
  'post /v1/keys',
  'get /v1/keys',
  'delete /v1/keys/{keyId}',
  'post /v1/plugins/{publisher}/{plugin}/test-runs',
  'get /v1/plugins/{publisher}/{plugin}/test-runs',
  'post /v1/plugins/{publisher}/{plugin}/reviews',
  'get /v1/plugins/{publisher}/{plugin}/review',
  'get /v1/reviews',
  'post /v1/incidents',
  'post /v1/regulations',
  'get /healthz',
  'get /readyz',
  'get /docs',
  'get /openapi.json',
  'get /schemas/forgeone.plugin.schema.json',
  'post /v1/audit-log/evidence',
  'get /v1/siem/status',
  'post /v1/siem/sinks',
  'get /v1/siem/sinks',
  'delete /v1/siem/sinks/{name}',
  'post /v1/siem/sinks/{name}/test',
];

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string; in: string; required: boolean }>; requestBody?: { required: boolean }; security?: unknown[]; responses: Record<string, unknown> }>
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
};

const doc = buildOpenApiDocument() as unknown as Doc;

describe('OpenAPI document', () => {
  it('openapi - is OpenAPI 3.1 and plain JSON', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('openapi - lists every route of the HTTP API v1', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual([...CONTRACT_ROUTES].sort());
  });

  it('openapi - one route per method and path, one operation id each', () => {
    expect(new Set(API_ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(API_ROUTES.length);
    expect(new Set(API_ROUTES.map((r) => r.operationId)).size).toBe(API_ROUTES.length);
  });

  it('openapi - declares every path parameter as required', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) {
        const inPath = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(inPath.map((p) => p.name)).toEqual(names);
        expect(inPath.every((p) => p.required)).toBe(true);
      }
    }
  });

  it('openapi - documents query parameters of list and audit log', () => {
    const names = (path: string) => (doc.paths[path].get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(names('/v1/plugins')).toEqual(['environment']);
    expect(names('/v1/audit-log').sort()).toEqual(['after', 'limit', 'plugin', 'since']);
    expect(names('/v1/tokens')).toEqual(['tenant']);
    expect(doc.paths['/v1/tokens/{tokenId}'].delete.parameters?.find((p) => p.in === 'query')).toMatchObject({ name: 'reason', required: false });
  });

  it('openapi - every /v1 route needs a bearer token and documents 401, 403, 429 and 503; health and docs need none', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path.startsWith('/v1/')) {
          expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
          for (const status of ['401', '403', '429', '503']) expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
          expect(op.responses['401']).toMatchObject({ description: expect.stringContaining('AUTH.UNAUTHENTICATED') });
          expect(op.responses['429']).toMatchObject({ description: expect.stringContaining('AUTH.TOO_MANY_FAILURES') });
          expect(op.responses['503']).toMatchObject({ description: expect.stringContaining('AUTHZ.UNAVAILABLE') });
        } else {
          expect(op.security, `${method} ${path}`).toEqual([]);
        }
      }
    }
  });

  it('openapi - queries document the Forgeone-Tenant header as optional', () => {
    for (const path of ['/v1/plugins', '/v1/plugins/{publisher}/{plugin}', '/v1/plugins/{publisher}/{plugin}/history', '/v1/audit-log']) {
      expect(doc.paths[path].get.parameters?.find((p) => p.in === 'header'), path).toMatchObject({ name: 'Forgeone-Tenant', required: false });
    }
  });

  it('openapi - policy and token routes answer with their documented statuses', () => {
    expect(Object.keys(doc.paths['/v1/tokens'].post.responses)).toContain('201');
    expect(doc.paths['/v1/tokens'].post.responses['400']).toMatchObject({ description: expect.stringContaining('IDENTITY.UNKNOWN_ROLE') });
    expect(Object.keys(doc.paths['/v1/policies'].post.responses)).toContain('200');
    expect(doc.paths['/v1/policies'].post.responses['400']).toMatchObject({ description: expect.stringContaining('POLICY.SCHEMA_VIOLATION') });
    expect(doc.paths['/v1/policies'].post.responses['409']).toMatchObject({ description: expect.stringContaining('POLICY.CONFLICT') });
    expect(doc.paths['/v1/tokens/{tokenId}'].delete.requestBody).toMatchObject({ required: false });
  });

  it('openapi - every $ref resolves to a component', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(20);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
  });

  it('openapi - request bodies forbid unknown fields and errors share one schema', () => {
    for (const name of ['PublishRequest', 'InstallRequest', 'UpgradeRequest', 'CallRequest', 'ApplyPoliciesRequest', 'PolicyCheckRequest', 'CreateTokenRequest', 'RevokeTokenRequest', 'TrustKeyRequest', 'RevokeKeyRequest']) {
      expect(doc.components.schemas[name].additionalProperties, name).toBe(false);
    }
    expect(doc.components.schemas.InstallRequest.required).toEqual(['name', 'version']);
    expect(doc.components.schemas.UpgradeRequest.required).toEqual(['version']);
    expect(doc.components.schemas.ErrorReply).toMatchObject({ properties: { error: { required: ['code', 'message'] } } });
    const install = doc.paths['/v1/environments/{environment}/installations'].post.responses;
    expect(install['404']).toMatchObject({ description: expect.stringContaining('REGISTRY.VERSION_NOT_FOUND') });
    expect(install.default).toBeDefined();
  });

  it('openapi - a plugin call answers 200 with the output and documents the sandbox refusals', () => {
    const call = doc.paths['/v1/environments/{environment}/plugins/{publisher}/{plugin}/calls/{handler}'].post;
    expect(Object.keys(call.responses)).toContain('200');
    expect(call.responses['404']).toMatchObject({ description: expect.stringContaining('SANDBOX.NOT_FOUND') });
    expect(call.responses['422']).toMatchObject({ description: expect.stringContaining('SANDBOX.GUEST_ERROR') });
    expect(call.responses['504']).toMatchObject({ description: expect.stringContaining('SANDBOX.TIMEOUT') });
    expect(doc.components.schemas.CallReply).toMatchObject({ properties: { output: expect.any(Object), outputBase64: expect.any(Object) } });
  });

  it('openapi - install, upgrade and rollback take dryRun in the body and document the dry-run reply', () => {
    for (const name of ['InstallRequest', 'UpgradeRequest', 'RollbackRequest']) {
      expect(doc.components.schemas[name], name).toMatchObject({ properties: { dryRun: { type: 'boolean', description: expect.stringContaining('change nothing') } } });
      expect(doc.components.schemas[name].required, name).not.toContain('dryRun');
    }
    const installation = '/v1/environments/{environment}/installations';
    expect(doc.paths[installation].post.responses['201']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/InstallationReply' } } } });
    expect(doc.paths[installation].post.responses['200']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/InstallationDryRunReply' } } } });
    expect(doc.paths[installation].post.responses['422']).toMatchObject({ description: expect.stringContaining('SIGNATURE.MISSING') });
    expect(doc.paths[`${installation}/{publisher}/{plugin}/rollback`].post.responses['200']).toMatchObject({
      content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/InstallationReply' }, { $ref: '#/components/schemas/InstallationDryRunReply' }] } } },
    });
    expect(doc.components.schemas.InstallationDryRunReply).toMatchObject({ properties: { dryRun: { type: 'boolean', enum: [true] }, checks: expect.any(Object), events: expect.any(Object), signature: expect.any(Object) } });
  });

  it('openapi - the publish manifest points at the manifest schema', () => {
    const publish = doc.components.schemas.PublishRequest as { properties: Record<string, { $ref?: string }> };
    expect(publish.properties.manifest.$ref).toBe('#/components/schemas/PluginManifest');
    expect(doc.components.schemas.PluginManifest).toMatchObject({ type: 'object', properties: { name: expect.any(Object) } });
  });
});

describe('HTTP request schemas', () => {
  const wasm = Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]).toString('base64');

  it('schemas - accept a valid body', () => {
    expect(PublishBodySchema.safeParse({ manifest: { name: 'acme/x' }, wasm }).success).toBe(true);
    expect(PublishBodySchema.safeParse({ manifest: { name: 'acme/x' }, wasm, signature: '{"payloadType":"x"}' }).success).toBe(true);
    // Size and shape of the envelope are the registry's to judge, so the refusal carries SIGNATURE.TOO_LARGE / MALFORMED.
    expect(PublishBodySchema.safeParse({ manifest: { name: 'acme/x' }, wasm, signature: 'x'.repeat(64 * 1024 + 1) }).success).toBe(true);
    expect(PublishBodySchema.safeParse({ manifest: { name: 'acme/x' }, wasm, signature: '' }).success).toBe(false);
    expect(InstallBodySchema.safeParse({ name: 'acme/x', version: '1.0.0' }).success).toBe(true);
    expect(UpgradeBodySchema.safeParse({ version: '1.1.0' }).success).toBe(true);
  });

  it('schemas - a what-if check may leave the resource tenant out, and nothing else', () => {
    const check = { principal: 'dev-1', action: 'install', resource: { type: 'Plugin', id: 'acme/x' }, environment: 'production' };
    expect(PolicyCheckBodySchema.parse(check).resource).toEqual({ type: 'Plugin', id: 'acme/x', attributes: {} });
    expect(PolicyCheckBodySchema.safeParse({ ...check, resource: { ...check.resource, owner: 'x' } }).success).toBe(false);
    expect(PolicyCheckBodySchema.safeParse({ ...check, action: 'fly' }).success).toBe(false);
  });

  it('schemas - a token request leaves the role vocabulary to policy but checks the rest', () => {
    expect(CreateTokenShapeSchema.safeParse({ principal: 'dev-1', role: 'wizard' }).success).toBe(true);
    expect(CreateTokenShapeSchema.safeParse({ principal: 'Dev@example.com', role: 'developer' }).success).toBe(false);
    expect(CreateTokenShapeSchema.safeParse({ principal: 'dev-1', role: 'developer', expiresAt: 'tomorrow' }).success).toBe(false);
    expect(CreateTokenShapeSchema.safeParse({ principal: 'dev-1', role: 'developer', admin: true }).success).toBe(false);
  });

  it('schemas - reject unknown fields, naming them', () => {
    const cases = [
      PublishBodySchema.safeParse({ manifest: {}, wasm, sig: 'x' }),
      InstallBodySchema.safeParse({ name: 'acme/x', version: '1.0.0', environment: 'prod' }),
      UpgradeBodySchema.safeParse({ version: '1.1.0', name: 'acme/x' }),
      PluginListQuerySchema.safeParse({ env: 'staging' }),
      AuditLogQuerySchema.safeParse({ pluginName: 'acme/x' }),
    ];
    for (const result of cases) {
      expect(result.success).toBe(false);
      expect(result.error?.issues[0].code).toBe('unrecognized_keys');
    }
  });

  it('schemas - a call takes exactly one of input and inputBase64, naming the field', () => {
    expect(CallBodySchema.safeParse({ input: 'world' }).success).toBe(true);
    expect(CallBodySchema.safeParse({ input: '' }).success).toBe(true);
    expect(CallBodySchema.safeParse({ inputBase64: Buffer.from([0xff, 0]).toString('base64') }).success).toBe(true);
    for (const body of [{}, { input: 'a', inputBase64: 'YQ==' }]) {
      const result = CallBodySchema.safeParse(body);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0].path).toEqual(['input']);
    }
    expect(CallBodySchema.safeParse({ inputBase64: 'not base64!' }).error?.issues[0].path).toEqual(['inputBase64']);
    expect(CallBodySchema.safeParse({ input: 'a', handler: 'greet' }).error?.issues[0].code).toBe('unrecognized_keys');
  });

  it('schemas - audit log query turns strings into numbers and checks them', () => {
    expect(AuditLogQuerySchema.parse({ limit: '50', after: '12', since: '2026-03-01T00:00:00Z' })).toEqual({ limit: 50, after: 12, since: '2026-03-01T00:00:00Z' });
    expect(AuditLogQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
    expect(AuditLogQuerySchema.safeParse({ limit: '5000' }).success).toBe(false);
    expect(AuditLogQuerySchema.safeParse({ after: '-1' }).success).toBe(false);
    expect(AuditLogQuerySchema.safeParse({ since: 'yesterday' }).success).toBe(false);
  });
});
