import { createHash } from 'node:crypto';
import { AuthzClient } from '@forgeone/authz-client';
import { BUS_NAMES, BusClient } from '@forgeone/bus';
import { AuthzDecisionSchema, ForgeOneError, type AuthenticatedPrincipal, type AuthzCheckRequest, type AuthzDecision, type Names } from '@forgeone/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_AUTH, type GatewayAuthOptions } from './gateway.config.js';

// The reads a caller can ask for: the read models of its tenant, or its tenant's audit log.
export type QueryAction = 'read' | 'read-audit';

// A principal look-up asks about this tenant in dry-run mode: nothing is recorded, only the principal is used.
const LOOKUP_TENANT = 'default';
const MAX_REMEMBERED = 10_000;

/**
 * Authorises the queries: `read` or `read-audit` on the caller's own Tenant. A Tenant resource is
 * named by the tenant itself, so the caller's tenant is learned first (a dry-run check, remembered
 * per credential: a token's tenant never changes), then policy decides through the AuthzClient
 * (cached, fails closed). Projections are filtered by the tenant of the decision's principal only.
 */
@Injectable()
export class QueryAuthorizer {
  private readonly tenants = new Map<string, { principal: AuthenticatedPrincipal; expiresAt: number }>();

  constructor(
    private readonly authz: AuthzClient,
    private readonly bus: BusClient,
    @Inject(BUS_NAMES) private readonly names: Names,
    @Inject(GATEWAY_AUTH) private readonly auth: GatewayAuthOptions,
  ) {}

  /**
   * Resolves with the allowing decision; throws AUTH.* for a credential policy does not accept,
   * AUTHZ.DENIED when policy says no or when `requestedTenant` (the Forgeone-Tenant header) is not
   * the caller's tenant, and AUTHZ.UNAVAILABLE when policy cannot be asked.
   */
  async authorize(credential: string, action: QueryAction, requestedTenant?: string): Promise<AuthzDecision> {
    const principal = await this.principalOf(credential);
    const tenant = principal.tenant;
    const asked = requestedTenant?.trim();
    if (asked && asked !== tenant) {
      throw new ForgeOneError(
        'AUTHZ.DENIED',
        `${principal.id} belongs to tenant ${tenant} and may not read tenant ${asked}: queries always answer for the tenant of the token. Drop the Forgeone-Tenant header, or use a token issued for tenant ${asked}`,
        { principal: principal.id, tenant, requestedTenant: asked, action },
      );
    }
    return this.authz.authorize(credential, action, { type: 'Tenant', id: tenant, tenant });
  }

  /** The caller's tenant, for requests that default a tenant to it (what-if checks). */
  async tenantOf(credential: string): Promise<string> {
    return (await this.principalOf(credential)).tenant;
  }

  private async principalOf(credential: string): Promise<AuthenticatedPrincipal> {
    const key = createHash('sha256').update(credential.replace(/^\s*bearer\s+/i, '').trim(), 'utf8').digest('hex');
    const now = Date.now();
    const known = this.tenants.get(key);
    if (known && known.expiresAt > now) return known.principal;
    const principal = await this.lookUp(credential);
    if (this.auth.authz.cacheTtlMs > 0) {
      this.tenants.delete(key);
      this.tenants.set(key, { principal, expiresAt: now + this.auth.authz.cacheTtlMs });
      if (this.tenants.size > MAX_REMEMBERED) this.tenants.delete(this.tenants.keys().next().value as string);
    }
    return principal;
  }

  // A dry run names the principal without recording a decision; the real check follows.
  private async lookUp(credential: string): Promise<AuthenticatedPrincipal> {
    const request: AuthzCheckRequest = {
      credential: credential.replace(/^\s*bearer\s+/i, '').trim(),
      action: 'read',
      resource: { type: 'Tenant', id: LOOKUP_TENANT, tenant: LOOKUP_TENANT, attributes: {} },
      context: {},
      dryRun: true,
    };
    const { timeoutMs } = this.auth.authz;
    let reply: unknown;
    try {
      reply = await this.bus.requestSubject(this.names.authzCheck, request, {
        credential: this.auth.serviceCredential(),
        timeoutMs,
        label: 'authz.check',
        service: 'policy',
      });
    } catch (error) {
      if (error instanceof ForgeOneError && (error.code.startsWith('AUTH.') || error.code.startsWith('AUTHZ.'))) throw error;
      const code = error instanceof ForgeOneError ? error.code : undefined;
      const why =
        code === 'SERVICE.UNAVAILABLE'
          ? 'no policy service answers on the bus'
          : code === 'SERVICE.TIMEOUT'
            ? `policy did not answer within ${timeoutMs} ms`
            : `policy refused the check: ${(error as Error)?.message ?? String(error)}`;
      throw unavailable(why, code);
    }
    const parsed = AuthzDecisionSchema.safeParse(reply);
    if (!parsed.success) throw unavailable('policy answered with a reply that is not a decision');
    return parsed.data.principal;
  }
}

function unavailable(why: string, cause?: string): ForgeOneError {
  return new ForgeOneError(
    'AUTHZ.UNAVAILABLE',
    `authorisation service unreachable; the request was refused (${why}). Try again; if it persists, check that the policy service is running`,
    cause ? { cause } : undefined,
  );
}
