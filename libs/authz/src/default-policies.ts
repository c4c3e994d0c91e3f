import type { Action } from '@forgeone/contracts';

const action = (...names: Action[]) => `[${names.map((n) => `ForgeOne::Action::${JSON.stringify(n)}`).join(', ')}]`;
const role = (name: string) => `ForgeOne::Role::${JSON.stringify(name)}`;

// Whether the resource belongs to the principal's tenant (a Tenant resource is its own tenant).
const SAME_TENANT = 'if resource is ForgeOne::Tenant then resource == principal.tenant else resource.tenant == principal.tenant';

// Roles that run plugins; hooks are judged for whoever makes the call (and for the sandbox-runner).
const RUNS_PLUGINS = `principal in ${role('developer')} || principal in ${role('release-manager')} || principal in ${role('operator')} ||
       (principal is ForgeOne::ServiceAccount && principal.platformService)`;

/**
 * The policy set applied as version 1 on a platform's first start. Everything not permitted here
 * is denied (Cedar denies by default), and `forbid-cross-tenant` overrides every permit.
 */
export const DEFAULT_POLICIES: Readonly<Record<string, string>> = {
  'forbid-cross-tenant': `@id("forbid-cross-tenant")
forbid (principal, action, resource)
when { !(${SAME_TENANT}) }
unless { (principal is ForgeOne::User && principal.platformAdmin) || (principal is ForgeOne::ServiceAccount && principal.platformService) };`,

  'platform-admin-all': `@id("platform-admin-all")
permit (principal is ForgeOne::User, action, resource)
when { principal.platformAdmin };`,

  // Letting a plugin reach the platform's own network is the platform administrator's call (platform-admin-all);
  // a policy set may grant publish-private-egress to others. Projections serve every tenant, so rebuilding them
  // is the platform administrator's alone.
  'admin-all-in-tenant': `@id("admin-all-in-tenant")
permit (principal in ${role('admin')}, action, resource)
when { ${SAME_TENANT} }
unless { action in ${action('publish-private-egress', 'rebuild-projections')} };`,

  'developer-publish': `@id("developer-publish")
permit (principal in ${role('developer')}, action in ${action('publish', 'sign', 'read')}, resource);`,

  'developer-install-non-production': `@id("developer-install-non-production")
permit (principal in ${role('developer')}, action in ${action('install', 'upgrade', 'rollback', 'remove', 'test', 'invoke')}, resource)
when { context has environment && context.environment != "production" };`,

  // Release managers promote and make emergency changes; they do not approve (approvers do), so the one who
  // ships a version is never the one who vouches for it. The registry also refuses a publisher's own approval.
  'release-manager-release': `@id("release-manager-release")
permit (
  principal in ${role('release-manager')},
  action in ${action('publish', 'sign', 'install', 'promote', 'emergency-change', 'upgrade', 'rollback', 'remove', 'invoke', 'test', 'review', 'read')},
  resource
);`,

  'approver-approve': `@id("approver-approve")
permit (principal in ${role('approver')}, action in ${action('approve', 'review', 'read', 'read-environment')}, resource);`,
  // Incidents and regulation changes make plugins due for review: release managers record them (and admins).
  'release-manager-record-notices': `@id("release-manager-record-notices")
permit (principal in ${role('release-manager')}, action in ${action('record-incident', 'record-regulation')}, resource);`,

  'operator-run': `@id("operator-run")
permit (principal in ${role('operator')}, action in ${action('install', 'upgrade', 'rollback', 'remove', 'invoke', 'read')}, resource);`,

  'auditor-read-audit': `@id("auditor-read-audit")
permit (principal in ${role('auditor')}, action in ${action('read-audit', 'export-evidence', 'read-policy')}, resource);`,

  'hooks-low-risk': `@id("hooks-low-risk")
permit (principal, action in ${action('hook:log', 'hook:metrics', 'hook:clock', 'hook:config')}, resource is ForgeOne::Plugin)
when { ${RUNS_PLUGINS} };`,

  'hooks-privileged-unless-restricted': `@id("hooks-privileged-unless-restricted")
permit (principal, action in ${action('hook:http', 'hook:storage', 'hook:auth')}, resource is ForgeOne::Plugin)
when { resource.classification != "restricted" && (${RUNS_PLUGINS}) };`,

  'platform-services-read': `@id("platform-services-read")
permit (principal is ForgeOne::ServiceAccount, action == ForgeOne::Action::"read", resource)
when { principal.platformService };`,

  // The plugins/ directory watcher keeps an ungated environment in line with a folder: it publishes, installs,
  // upgrades, removes, reads the environment to see it is not gated, and records the drops it refused. The actions
  // are listed one by one (never "all but"), so an action added later (approve, promote, ...) is never the
  // watcher's; a gated environment refuses it in the watcher itself and by the promotion rules.
  'watcher-sync-directory': `@id("watcher-sync-directory")
permit (
  principal in ${role('watcher')},
  action in ${action('publish', 'install', 'upgrade', 'remove', 'read', 'read-environment', 'report-drop-rejected')},
  resource
);`,
};

/** The default policy set as one Cedar text (what `policy show` prints for version 1). */
export function defaultPolicyText(): string {
  return `${Object.values(DEFAULT_POLICIES).join('\n\n')}\n`;
}
