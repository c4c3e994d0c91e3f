import { tenantAggregateId } from '@forgeone/contracts';

/** The aggregate id of a key in a tenant's trust store: `<tenant>:<keyId>`. */
export function keyAggregateId(tenant: string, keyId: string): string {
  return tenantAggregateId(tenant, keyId);
}
