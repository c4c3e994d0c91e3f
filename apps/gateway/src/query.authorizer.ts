import { AuthzClient } from '@forgeone/authz-client';
import { ForgeOneError, OWN_TENANT, type AuthzDecision } from '@forgeone/contracts';
import { Injectable } from '@nestjs/common';
import { currentClientSource } from './http/client-source.js';

// The reads a caller can ask for: the read models of its tenant, or its tenant's audit log.
export type QueryAction = 'read' | 'read-audit' | 'export-evidence';

/**
 * Authorises the queries: `read` or `read-audit` on the caller's own Tenant (`@own`, which policy
 * resolves to the principal's tenant), through the AuthzClient (cached, fails closed). Projections
 * are filtered by the tenant of the decision's principal only.
 */
@Injectable()
export class QueryAuthorizer {
  constructor(private readonly authz: AuthzClient) {}

  /**
   * Resolves with the allowing decision; throws AUTH.* for a credential policy does not accept,
   * AUTHZ.DENIED when policy says no or when `requestedTenant` (the Forgeone-Tenant header) is not
   * the caller's tenant, and AUTHZ.UNAVAILABLE when policy cannot be asked.
   */
  async authorize(credential: string, action: QueryAction, requestedTenant?: string): Promise<AuthzDecision> {
    const source = currentClientSource();
    const decision = await this.authz.authorize(credential, action, { type: 'Tenant', id: OWN_TENANT }, source ? { source } : {});
    const { principal } = decision;
    const asked = requestedTenant?.trim();
    if (asked && asked !== principal.tenant) {
      throw new ForgeOneError(
        'AUTHZ.DENIED',
        `${principal.id} belongs to tenant ${principal.tenant} and may not read tenant ${asked}: queries always answer for the tenant of the token. Drop the Forgeone-Tenant header, or use a token issued for tenant ${asked}`,
        { principal: principal.id, tenant: principal.tenant, requestedTenant: asked, action },
      );
    }
    return decision;
  }
}
