import { ACTIONS, ForgeOneError, type Action } from '@forgeone/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuthzPrincipal, AuthzResource } from './authz-entities.js';
import { CedarPolicyEngine, splitPolicyText } from './cedar-policy.engine.js';
import { DEFAULT_POLICIES, defaultPolicyText } from './default-policies.js';

const user = (id: string, role: string, tenant = 'acme'): AuthzPrincipal => ({ id, type: 'user', tenant, roles: [role] });
const plugin = (tenant = 'acme', attributes: AuthzResource['attributes'] = {}): AuthzResource => ({ type: 'Plugin', id: `${tenant}/hello`, tenant, attributes });
const env = (name: string, tenant = 'acme'): AuthzResource => ({ type: 'Environment', id: name, tenant });
const tenant = (id = 'acme'): AuthzResource => ({ type: 'Tenant', id, tenant: id });

// The resource an action is asked about in these specs.
function resourceFor(action: Action, tenantId = 'acme'): AuthzResource {
  if (action.startsWith('hook:')) return plugin(tenantId);
  if (['trust-key', 'revoke-key', 'apply-policy', 'read-policy', 'manage-tokens', 'configure-recording', 'configure-siem', 'export-evidence', 'rebuild-projections', 'record-incident', 'record-regulation'].includes(action)) return tenant(tenantId);
  return plugin(tenantId);
}

function refusal(fn: () => unknown): ForgeOneError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeOneError);
    return error as ForgeOneError;
  }
  throw new Error('expected a refusal');
}

describe('CedarPolicyEngine - default policies', () => {
  const engine = new CedarPolicyEngine();
  beforeAll(() => {
    const applied = engine.apply(DEFAULT_POLICIES, 1);
    expect(applied.warnings).toEqual([]);
  });

  const allowed = (principal: AuthzPrincipal, action: Action, resource: AuthzResource = resourceFor(action), environment?: string) =>
    engine.authorize({ principal, action, resource, context: environment ? { environment } : {} });

  const allowedActions = (principal: AuthzPrincipal, environment = 'staging') =>
    ACTIONS.filter((a) => allowed(principal, a, resourceFor(a), environment).decision === 'allow');

  it('default policies - validate against the schema without warnings', () => {
    expect(engine.active).toMatchObject({ version: 1 });
    expect(Object.keys(engine.active!.policies)).toEqual(Object.keys(DEFAULT_POLICIES));
  });

  it('admin - may do everything in its own tenant but let plugins reach private addresses or rebuild the projections', () => {
    expect(allowedActions(user('ann', 'admin'))).toEqual(ACTIONS.filter((a) => a !== 'publish-private-egress' && a !== 'rebuild-projections'));
    expect(allowed(user('ann', 'admin'), 'install', plugin(), 'production')).toMatchObject({ decision: 'allow', policyIds: ['admin-all-in-tenant'] });
  });

  it('developer - may publish, sign, read and work outside production', () => {
    expect(allowedActions(user('dev', 'developer'))).toEqual([
      'publish',
      'sign',
      'install',
      'upgrade',
      'rollback',
      'remove',
      'invoke',
      'test',
      'read',
      'hook:log',
      'hook:metrics',
      'hook:clock',
      'hook:config',
      'hook:storage',
      'hook:http',
      'hook:auth',
    ]);
    expect(allowed(user('dev', 'developer'), 'publish')).toMatchObject({ decision: 'allow', policyIds: ['developer-publish'] });
    expect(allowed(user('dev', 'developer'), 'install', plugin(), 'staging')).toMatchObject({
      decision: 'allow',
      policyIds: ['developer-install-non-production'],
    });
  });

  it('developer - may not install into production, nor anywhere unnamed', () => {
    expect(allowed(user('dev', 'developer'), 'install', plugin(), 'production')).toMatchObject({ decision: 'deny', policyIds: [] });
    expect(allowed(user('dev', 'developer'), 'install', plugin('acme', { environment: 'production' }))).toMatchObject({ decision: 'deny' });
    expect(allowed(user('dev', 'developer'), 'upgrade', env('production'))).toMatchObject({ decision: 'deny' });
    // Going back in production is a release decision: a developer may roll back only outside it.
    expect(allowed(user('dev', 'developer'), 'rollback', plugin(), 'production')).toMatchObject({ decision: 'deny', policyIds: [] });
    expect(allowed(user('dev', 'developer'), 'rollback', plugin(), 'staging').decision).toBe('allow');
    expect(allowed(user('dev', 'developer'), 'install', plugin())).toMatchObject({ decision: 'deny' });
    for (const action of ['promote', 'approve', 'trust-key', 'apply-policy', 'manage-tokens', 'read-audit'] as const) {
      expect(allowed(user('dev', 'developer'), action).decision, action).toBe('deny');
    }
  });

  it('release-manager - may install into production and promote, but not administer', () => {
    const rm = user('rel', 'release-manager');
    expect(allowed(rm, 'install', plugin(), 'production')).toMatchObject({ decision: 'allow', policyIds: ['release-manager-release'] });
    expect(allowed(rm, 'promote', plugin(), 'production').decision).toBe('allow');
    expect(allowed(rm, 'rollback', plugin(), 'production')).toMatchObject({ decision: 'allow', policyIds: ['release-manager-release'] });
    expect(allowed(rm, 'emergency-change', plugin(), 'production')).toMatchObject({ decision: 'allow', policyIds: ['release-manager-release'] });
    // Approving is the approvers' duty, not the one who ships.
    expect(allowed(rm, 'approve', plugin(), 'production').decision).toBe('deny');
    // Reviews: release managers review plugins and record the incidents and regulation changes that make them due.
    expect(allowed(rm, 'review').decision).toBe('allow');
    expect(allowed(rm, 'record-incident', tenant())).toMatchObject({ decision: 'allow', policyIds: ['release-manager-record-notices'] });
    expect(allowed(rm, 'record-regulation', tenant())).toMatchObject({ decision: 'allow', policyIds: ['release-manager-record-notices'] });
    for (const action of ['trust-key', 'revoke-key', 'apply-policy', 'manage-tokens', 'read-audit', 'export-evidence'] as const) {
      expect(allowed(rm, action).decision, action).toBe('deny');
    }
  });

  it('approver - approves (and reads) but neither publishes, installs nor promotes', () => {
    const approver = user('ann', 'approver');
    expect(allowed(approver, 'approve', plugin(), 'production')).toMatchObject({ decision: 'allow', policyIds: ['approver-approve'] });
    for (const action of ['publish', 'install', 'upgrade', 'promote', 'emergency-change', 'test'] as const) {
      expect(allowed(approver, action, plugin(), 'production').decision, action).toBe('deny');
    }
  });

  it('developer - neither promotes, approves nor makes emergency changes', () => {
    for (const action of ['promote', 'approve', 'emergency-change'] as const) {
      expect(allowed(user('dev', 'developer'), action, plugin(), 'production').decision, action).toBe('deny');
    }
  });

  it('operator - runs plugins in any environment but does not publish or promote', () => {
    const op = user('ops', 'operator');
    for (const action of ['install', 'upgrade', 'rollback', 'remove', 'invoke', 'read'] as const) {
      expect(allowed(op, action, plugin(), 'production'), action).toMatchObject({ decision: 'allow', policyIds: ['operator-run'] });
    }
    for (const action of ['publish', 'promote', 'sign', 'approve', 'apply-policy', 'read-audit'] as const) {
      expect(allowed(op, action, resourceFor(action), 'production').decision, action).toBe('deny');
    }
  });

  it('auditor - only reads the audit trail (and the evidence and policies behind it)', () => {
    expect(allowedActions(user('aud', 'auditor'))).toEqual(['read-policy', 'read-audit', 'export-evidence']);
    expect(allowed(user('aud', 'auditor'), 'read-audit', tenant())).toMatchObject({ decision: 'allow', policyIds: ['auditor-read-audit'] });
  });

  it('tenants - a principal of one tenant can neither see nor touch another tenant', () => {
    const admin = user('ann', 'admin', 'acme');
    for (const action of ACTIONS) {
      const result = allowed(admin, action, resourceFor(action, 'globex'), 'staging');
      expect(result.decision, action).toBe('deny');
      expect(result.policyIds, action).toEqual(['forbid-cross-tenant']);
    }
  });

  it('tenants - the platform administrator and platform services cross tenants, nothing else does', () => {
    const platformAdmin: AuthzPrincipal = { id: 'bootstrap-admin', type: 'user', tenant: 'default', roles: ['admin'], platformAdmin: true };
    expect(allowed(platformAdmin, 'manage-tokens', tenant('globex'))).toMatchObject({ decision: 'allow', policyIds: ['platform-admin-all'] });
    // Only the platform administrator may publish an allow-list naming private addresses.
    expect(allowed(platformAdmin, 'publish-private-egress', plugin('acme'))).toMatchObject({ decision: 'allow', policyIds: ['platform-admin-all'] });
    for (const role of ['admin', 'release-manager', 'developer', 'operator', 'auditor', 'approver']) {
      expect(allowed(user('u', role), 'publish-private-egress', plugin()).decision, role).toBe('deny');
    }
    const runner: AuthzPrincipal = { id: 'service.sandbox-runner', type: 'service', tenant: 'default', roles: [], platformService: true };
    expect(allowed(runner, 'read', plugin('globex'))).toMatchObject({ decision: 'allow', policyIds: ['platform-services-read'] });
    expect(allowed(runner, 'hook:log', plugin('globex')).decision).toBe('allow');
    expect(allowed(runner, 'install', plugin('globex'), 'staging').decision).toBe('deny');
    // A customer's own service account is bound to its tenant.
    const bot: AuthzPrincipal = { id: 'ci-bot', type: 'service', tenant: 'acme', roles: ['release-manager'] };
    expect(allowed(bot, 'promote', plugin('acme')).decision).toBe('allow');
    expect(allowed(bot, 'promote', plugin('globex')).policyIds).toEqual(['forbid-cross-tenant']);
  });

  it('hooks - privileged hooks are denied for restricted plugins', () => {
    const dev = user('dev', 'developer');
    expect(allowed(dev, 'hook:http', plugin('acme', { classification: 'confidential' })).decision).toBe('allow');
    expect(allowed(dev, 'hook:http', plugin('acme', { classification: 'restricted' })).decision).toBe('deny');
    expect(allowed(dev, 'hook:log', plugin('acme', { classification: 'restricted' })).decision).toBe('allow');
    expect(allowed(user('aud', 'auditor'), 'hook:log').decision).toBe('deny');
  });

  it('unknown principals and roles - denied by default', () => {
    expect(allowed(user('who', 'superuser'), 'read')).toMatchObject({ decision: 'deny', policyIds: [] });
    expect(allowed({ id: 'x', type: 'user', tenant: 'acme', roles: [] }, 'read').decision).toBe('deny');
  });

  it('unknown action - refused, not decided', () => {
    const error = refusal(() => engine.authorize({ principal: user('ann', 'admin'), action: 'fly' as Action, resource: plugin() }));
    expect(error.code).toBe('COMMAND.INVALID');
    expect(error.message).toMatch(/unknown action "fly"/);
  });

  it('resource type - an action that does not apply to it is refused', () => {
    const error = refusal(() => engine.authorize({ principal: user('ann', 'admin'), action: 'trust-key', resource: plugin() }));
    expect(error.message).toBe('action trust-key applies to Tenant resources, not to a Plugin');
    const own = refusal(() => engine.authorize({ principal: user('ann', 'admin'), action: 'read', resource: { type: 'Tenant', id: 'globex', tenant: 'acme' } }));
    expect(own.message).toMatch(/tenant must be its id/);
  });
});

describe('CedarPolicyEngine - applying policy sets', () => {
  it('malformed Cedar - refused with Cedar\'s message and where, nothing changes', () => {
    const engine = new CedarPolicyEngine();
    engine.apply(DEFAULT_POLICIES, 1);
    const error = refusal(() => engine.prepare('permit (principal, action, resource)\nwhen { 1 + };'));
    expect(error.code).toBe('POLICY.INVALID');
    expect(error.message).toMatch(/^the policy set is not valid Cedar: unexpected token `}` \(line 2, column 12: expected .*\)/);
    expect(engine.active?.version).toBe(1);
  });

  it('malformed Cedar by id - names the policy', () => {
    const error = refusal(() => new CedarPolicyEngine().prepare({ 'my-rule': 'permit (principal, action, resource) when { };' }));
    expect(error.code).toBe('POLICY.INVALID');
    expect(error.message).toMatch(/failed to parse policy with id `my-rule`/);
  });

  it('schema violation - refused with Cedar\'s validation messages', () => {
    const engine = new CedarPolicyEngine();
    const error = refusal(() =>
      engine.prepare(`@id("bad-attribute")
permit (principal, action == ForgeOne::Action::"install", resource is ForgeOne::Plugin)
when { resource.owner == "me" };`),
    );
    expect(error.code).toBe('POLICY.SCHEMA_VIOLATION');
    expect(error.message).toMatch(/for policy `bad-attribute`, attribute `owner` on entity type `ForgeOne::Plugin` not found \(line 3, column 8\)/);
    const unknownAction = refusal(() => engine.prepare('permit (principal, action == ForgeOne::Action::"fly", resource);'));
    expect(unknownAction.code).toBe('POLICY.SCHEMA_VIOLATION');
    expect(unknownAction.message).toMatch(/unrecognized action `ForgeOne::Action::"fly"`/);
    expect(engine.active).toBeUndefined();
  });

  it('empty sets, templates, duplicate or bad ids - refused', () => {
    const engine = new CedarPolicyEngine();
    expect(refusal(() => engine.prepare('  // nothing\n')).message).toMatch(/contains no policy/);
    expect(refusal(() => engine.prepare({})).message).toMatch(/contains no policy/);
    expect(refusal(() => engine.prepare('permit (principal == ?principal, action, resource);')).message).toMatch(/templates/);
    expect(refusal(() => engine.prepare('@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);')).message).toMatch(
      /two policies have the id "a"/,
    );
    expect(refusal(() => engine.prepare('@id("no spaces") permit (principal, action, resource);')).message).toMatch(/policy id "no spaces" is not allowed/);
    expect(refusal(() => engine.prepare({ a: '@id("b") permit (principal, action, resource);' })).message).toMatch(/annotated @id\("b"\)/);
  });

  it('ids - @id annotations name policies, the rest are numbered in source order', () => {
    let text = '';
    for (let i = 0; i < 12; i++) text += i === 3 ? `@id("third")\npermit (principal, action, resource) when { ${i} == ${i} };\n` : `permit (principal, action, resource) when { ${i} == ${i} };\n`;
    const { policies } = splitPolicyText(text);
    expect(Object.keys(policies)).toEqual(['policy0', 'policy1', 'policy2', 'third', 'policy4', 'policy5', 'policy6', 'policy7', 'policy8', 'policy9', 'policy10', 'policy11']);
    expect(policies.policy10).toContain('10 == 10');
    expect(policies.policy2).toContain('2 == 2');
  });

  it('a stricter set - changes decisions, and decisions name the new version', () => {
    const engine = new CedarPolicyEngine();
    engine.apply(defaultPolicyText(), 1);
    const dev = user('dev', 'developer');
    expect(engine.authorize({ principal: dev, action: 'publish', resource: plugin() })).toMatchObject({ decision: 'allow', policyVersion: 1 });
    const { 'developer-publish': _dropped, ...stricter } = DEFAULT_POLICIES;
    engine.apply(stricter, 2);
    expect(engine.authorize({ principal: dev, action: 'publish', resource: plugin() })).toMatchObject({ decision: 'deny', policyIds: [], policyVersion: 2 });
  });

  it('no active set - everything is denied', () => {
    expect(new CedarPolicyEngine().authorize({ principal: user('ann', 'admin'), action: 'read', resource: plugin() })).toMatchObject({
      decision: 'deny',
      errors: ['no policy set is active'],
    });
  });
});
