import { ACTIONS, HOOK_ACTIONS, type Action, type Resource } from '@forgeone/contracts';

/** Cedar namespace of every ForgeOne entity type and action. */
export const CEDAR_NAMESPACE = 'ForgeOne';

export type ResourceType = Resource['type'];

// Tenant-wide administration has no narrower resource than the tenant itself.
const TENANT_ONLY: readonly Action[] = ['trust-key', 'revoke-key', 'apply-policy', 'read-policy', 'manage-tokens', 'configure-recording', 'configure-siem', 'export-evidence', 'rebuild-projections', 'record-incident', 'record-regulation'];

// What a plugin version may do is decided on the plugin itself.
const PLUGIN_ONLY: readonly Action[] = ['publish-private-egress', ...HOOK_ACTIONS];

function resourceTypesOf(action: Action): readonly ResourceType[] {
  if (PLUGIN_ONLY.includes(action)) return ['Plugin'];
  if (TENANT_ONLY.includes(action)) return ['Tenant'];
  return ['Plugin', 'Environment', 'Tenant'];
}

/** Resource types each action applies to; a request outside this table is refused before evaluation. */
export const ACTION_RESOURCE_TYPES: Readonly<Record<Action, readonly ResourceType[]>> = Object.fromEntries(
  ACTIONS.map((action) => [action, resourceTypesOf(action)]),
) as unknown as Record<Action, readonly ResourceType[]>;

function actionDeclarations(): string {
  const groups = new Map<string, Action[]>();
  for (const action of ACTIONS) {
    const key = ACTION_RESOURCE_TYPES[action].join(', ');
    groups.set(key, [...(groups.get(key) ?? []), action]);
  }
  return [...groups.entries()]
    .map(
      ([resources, actions]) =>
        `  action ${actions.map((a) => JSON.stringify(a)).join(', ')}\n` +
        `    appliesTo { principal: [User, ServiceAccount], resource: [${resources}], context: RequestContext };`,
    )
    .join('\n');
}

/**
 * The Cedar schema (Cedar schema syntax) every policy set is validated against: principals are
 * users and service accounts that belong to roles (`Role` groups) and to one tenant; resources are
 * plugins, environments and tenants with the attributes policies may test.
 */
export const FORGEONE_CEDAR_SCHEMA = `namespace ${CEDAR_NAMESPACE} {
  // Roles are groups: a principal is "in" the roles it holds.
  entity Role;
  entity Tenant;
  // platformAdmin: the bootstrap administrator, who may act on every tenant.
  entity User in [Role] { tenant: Tenant, platformAdmin: Bool };
  // platformService: one of ForgeOne's own services (service.<name>), which serve every tenant.
  entity ServiceAccount in [Role] { tenant: Tenant, platformService: Bool };
  // classification: public | internal | confidential | restricted (internal when not given).
  entity Plugin { tenant: Tenant, tags: Set<String>, classification: String };
  entity Environment { tenant: Tenant, name: String };
  type RequestContext = { environment?: String };
${actionDeclarations()}
}
`;
