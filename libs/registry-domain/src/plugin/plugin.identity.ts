import { tenantAggregateId } from '@forgeone/contracts';

/**
 * Which plugin an aggregate is: plugins belong to a tenant, so the same name in two tenants
 * is two plugins that never see each other's versions or installations.
 */
export interface PluginKey {
  readonly tenant: string;
  readonly name: string;
}

/** The aggregate id of a plugin, `<tenant>:<name>` (tenant ids contain no ':'). */
export function pluginAggregateId(key: PluginKey): string {
  return tenantAggregateId(key.tenant, key.name);
}
