import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTHORISATION_ERRORS, COMMAND_ERRORS, ENVELOPE_REASONS, ERROR_CODES, QUERY_ERRORS, SIGNATURE_REASONS, type CommandName } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { API, API_ROUTES, documentedErrors } from './api.routes.js';
import { buildOpenApiDocument } from './openapi.document.js';
import { routeErrors } from './route.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// Where each command's refusals are raised: the service that decides it and the libraries it decides with.
const REGISTRY = ['libs/registry-domain/src', 'libs/plugin-abi/src', 'libs/signing/src', 'apps/registry/src'];
const POLICY = ['apps/policy/src', 'libs/policy-domain/src', 'libs/authz/src'];
const SIGNER = ['apps/signer/src', 'libs/key-trust-domain/src', 'libs/signing/src'];
const PRODUCERS: Record<CommandName, readonly string[]> = {
  publish: REGISTRY,
  install: REGISTRY,
  upgrade: REGISTRY,
  rollback: REGISTRY,
  remove: REGISTRY,
  listEnvironments: REGISTRY,
  showEnvironment: REGISTRY,
  setEnvironment: REGISTRY,
  confirmEnvironment: REGISTRY,
  setPluginConfig: REGISTRY,
  unsetPluginConfig: REGISTRY,
  listPluginConfig: REGISTRY,
  approvePluginConfig: REGISTRY,
  rejectPluginConfig: REGISTRY,
  reportDropRejected: REGISTRY,
  approve: REGISTRY,
  reject: REGISTRY,
  promote: REGISTRY,
  recordReview: REGISTRY,
  recordIncident: REGISTRY,
  recordRegulation: REGISTRY,
  listReviews: REGISTRY,
  showReview: REGISTRY,
  invoke: ['apps/sandbox-runner/src', 'libs/sandbox/src'],
  pluginStorage: ['apps/sandbox-runner/src'],
  applyPolicies: POLICY,
  showPolicies: POLICY,
  checkPolicy: POLICY,
  createToken: POLICY,
  listTokens: POLICY,
  revokeToken: POLICY,
  setCallRecording: POLICY,
  trustKey: SIGNER,
  listKeys: SIGNER,
  revokeKey: SIGNER,
  testPlugin: REGISTRY,
  signEvidence: ['apps/audit-projector/src'],
  siemStatus: ['apps/siem-forwarder/src'],
  testSiemSink: ['apps/siem-forwarder/src', 'libs/siem/src'],
  addSiemSink: REGISTRY,
  removeSiemSink: REGISTRY,
  listSiemSinks: REGISTRY,
};
// Refusals every decided request shares, raised where every service gets them from.
const SHARED: Record<string, readonly string[]> = {
  // Authentication by policy (authz.check) and the client every service asks it through.
  authorisation: ['libs/authz/src', 'apps/policy/src', 'libs/authz-client/src'],
  // Commands the bus server refuses before a handler runs, and the event store's own refusals.
  bus: ['libs/bus/src', 'libs/event-sourcing/src', 'libs/event-store/src', 'libs/registry-domain/src', 'apps/signer/src'],
};

function sources(folder: string): string[] {
  return (readdirSync(join(ROOT, folder), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts') && !file.endsWith('.d.ts'))
    .map((file) => readFileSync(join(ROOT, folder, file), 'utf8'));
}

const cache = new Map<string, string[]>();
// Is `code` written as a literal in the code of one of `folders`? The catalogue itself is not among them.
function raisedIn(code: string, folders: readonly string[]): boolean {
  return folders.some((folder) => {
    if (!cache.has(folder)) cache.set(folder, sources(folder));
    return cache.get(folder)!.some((text) => text.includes(`'${code}'`));
  });
}

describe('error catalogue', () => {
  it('catalogue - every code is a known error code', () => {
    for (const codes of [...Object.values(COMMAND_ERRORS), ...Object.values(QUERY_ERRORS)]) {
      for (const code of codes) expect(ERROR_CODES, code).toHaveProperty([code]);
    }
    expect(ERROR_CODES).not.toHaveProperty(['REGISTRY.VERSION_CONFLICT']);
  });

  it('catalogue - every declared code is raised in the code of the service that decides the command, or where all services get it', () => {
    const unraised: string[] = [];
    for (const [command, codes] of Object.entries(COMMAND_ERRORS) as [CommandName, readonly string[]][]) {
      for (const code of codes) {
        const shared = (AUTHORISATION_ERRORS as readonly string[]).includes(code) ? SHARED.authorisation : SHARED.bus;
        if (!raisedIn(code, PRODUCERS[command]) && !raisedIn(code, shared)) unraised.push(`${command}: ${code}`);
      }
    }
    for (const [query, codes] of Object.entries(QUERY_ERRORS)) {
      for (const code of codes) if (!raisedIn(code, ['apps/gateway/src', ...SHARED.authorisation])) unraised.push(`${query}: ${code}`);
    }
    expect(unraised).toEqual([]);
  });

  it('catalogue - publish refuses an unusable envelope; install, upgrade and rollback every reason a signature can fail for', () => {
    expect(COMMAND_ERRORS.publish).toEqual(expect.arrayContaining([...ENVELOPE_REASONS]));
    expect(COMMAND_ERRORS.publish.filter((code) => code.startsWith('SIGNATURE.'))).toEqual([...ENVELOPE_REASONS]);
    for (const command of ['install', 'upgrade', 'rollback'] as const) expect(COMMAND_ERRORS[command]).toEqual(expect.arrayContaining([...SIGNATURE_REASONS]));
    expect(COMMAND_ERRORS.remove.some((code) => code.startsWith('SIGNATURE.'))).toBe(false);
  });
});

describe('documented errors', () => {
  const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
  const listed = (method: string, path: string) =>
    Object.entries(doc.paths[path][method].responses)
      .filter(([status]) => /^[45]\d\d$/.test(status))
      .flatMap(([, response]) => (response.description.startsWith('error codes: ') ? response.description.slice('error codes: '.length).split(', ') : []));

  it('routes - each route documents exactly its command or query catalogue plus the gateway\'s own refusals', () => {
    for (const route of API_ROUTES) {
      expect(listed(route.method, route.path).sort(), `${route.method} ${route.path}`).toEqual(routeErrors(route).sort());
      const { access } = route;
      const catalogue = access.decidedBy === 'gateway' ? QUERY_ERRORS[access.query] : access.decidedBy === 'public' ? [] : COMMAND_ERRORS[access.command];
      expect(routeErrors(route), `${route.method} ${route.path}`).toEqual(expect.arrayContaining([...catalogue]));
    }
  });

  it('routes - the gateway adds only credential, validation and availability refusals of its own', () => {
    const own = new Set(['AUTH.UNAUTHENTICATED', 'AUTH.TOO_MANY_FAILURES', 'COMMAND.INVALID', 'COMMAND.TOO_LARGE', 'QUERY.INVALID', 'SERVICE.UNAVAILABLE', 'SERVICE.TIMEOUT']);
    for (const route of API_ROUTES) {
      const { access } = route;
      const catalogue: readonly string[] = access.decidedBy === 'gateway' ? QUERY_ERRORS[access.query] : access.decidedBy === 'public' ? [] : COMMAND_ERRORS[access.command];
      const added = routeErrors(route).filter((code) => !catalogue.includes(code));
      expect(added.filter((code) => !own.has(code)), `${route.method} ${route.path}`).toEqual([]);
    }
  });

  it('routes - publish lists the envelope refusals, install/upgrade/rollback every signature reason, and no route a code nothing raises', () => {
    const errors = documentedErrors();
    expect(errors.publishPluginVersion).toEqual(expect.arrayContaining(['SIGNATURE.TOO_LARGE', 'SIGNATURE.MALFORMED']));
    for (const id of ['installPlugin', 'upgradePlugin', 'rollbackPlugin'] as const) expect(errors[id]).toEqual(expect.arrayContaining([...SIGNATURE_REASONS]));
    expect(Object.values(errors).flat()).not.toContain('REGISTRY.VERSION_CONFLICT');
    expect(listed('post', API.publishPluginVersion.path)).toContain('SIGNATURE.MALFORMED');
  });
});
