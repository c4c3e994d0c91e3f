import type { CredentialVerifier } from '@forgeone/authz';
import { BusContext } from '@forgeone/bus';
import { AuthzCheckRequestSchema, ForgeOneError, parseOrThrow, type AuthzDecision } from '@forgeone/contracts';
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { AuthorizationGate } from './authorization.gate.js';
import { PolicyState } from './policy.state.js';

/**
 * `forgeone.authz.check`: ForgeOne services (their own credential in the Authorization header)
 * ask whether the credential in the body may perform an action on a resource.
 */
@Controller()
export class AuthzCheckController {
  private readonly verifier: CredentialVerifier;

  constructor(
    state: PolicyState,
    private readonly gate: AuthorizationGate,
  ) {
    this.verifier = state.verifier;
  }

  @MessagePattern('authz.check')
  async check(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<AuthzDecision> {
    // Only platform services may ask: otherwise anybody on the bus could probe tokens and policies.
    const caller = this.verifier.authenticate(ctx.credential);
    if (!caller.ok || !caller.identity.platformService) {
      throw new ForgeOneError(
        'AUTH.UNAUTHENTICATED',
        `authz.check answers ForgeOne services only: send the calling service's credential (serviceCredential(<service>, FORGEONE_SERVICE_KEY)) in the Authorization header${caller.ok ? '' : ` (${caller.message})`}`,
      );
    }
    const request = parseOrThrow(AuthzCheckRequestSchema, body, 'COMMAND.INVALID', 'the authz.check request');
    // Failed authentications are counted per client the asking service reports, and per asking service.
    const origin = { source: request.source ?? 'bus', via: caller.identity.id };
    return this.gate.check(request.credential, request.action, request.resource, request.context.environment, request.dryRun === true, origin);
  }
}
