import type { AuthzClient } from '@forgeone/authz-client';
import { OWN_TENANT } from '@forgeone/contracts';
import type { AuthorizationRequest, Authorizer, EnvironmentAuthorizationRequest, Principal } from '@forgeone/registry-domain';

/**
 * The registry's Authorizer port over the policy service: a command on a plugin is the action of
 * the same name on that Plugin of the caller's own tenant, with its environment when it has one.
 */
export class PolicyAuthorizer implements Authorizer {
  constructor(private readonly authz: AuthzClient) {}

  async authorize(request: AuthorizationRequest): Promise<Principal> {
    const { environment, source } = request;
    const decision = await this.authz.authorize(
      request.credential,
      request.action,
      { type: 'Plugin', id: request.plugin, ...(environment ? { attributes: { environment } } : {}) },
      { ...(environment ? { environment } : {}), ...(source ? { source } : {}) },
    );
    return { id: decision.principal.id, tenant: decision.principal.tenant };
  }

  // An environment action is asked on that Environment of the caller's tenant; listing them on the Tenant itself.
  async authorizeEnvironment(request: EnvironmentAuthorizationRequest): Promise<Principal> {
    const { environment, source } = request;
    const resource = environment ? { type: 'Environment' as const, id: environment, attributes: { environment } } : { type: 'Tenant' as const, id: OWN_TENANT };
    const decision = await this.authz.authorize(request.credential, request.action, resource, { ...(environment ? { environment } : {}), ...(source ? { source } : {}) });
    return { id: decision.principal.id, tenant: decision.principal.tenant };
  }
}
