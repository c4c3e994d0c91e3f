import { BOOTSTRAP_IDENTITY, BOOTSTRAP_PRINCIPAL, PLATFORM_TENANT, servicePrincipalId, type AuthenticatedIdentity, type TokenRecord } from '@forgeone/authz';
import { BusContext } from '@forgeone/bus';
import {
  ApplyPolicySetRequestSchema,
  AuthzCheckResourceSchema,
  CreateTokenRequestSchema,
  ForgeOneError,
  parseOrThrow,
  PolicyCheckRequestSchema,
  POLICY_VERBS,
  resolveAuthzResource,
  RevokeTokenRequestSchema,
  ROLES,
  SetCallRecordingRequestSchema,
  SERVICES,
  TenantIdSchema,
  type Action,
} from '@forgeone/contracts';
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { AuthorizationGate, ownCommandOrigin, tenantResource } from './authorization.gate.js';
import { PolicyState } from './policy.state.js';

const ShowPolicyRequestSchema = z.object({}).strict();
const ListTokensRequestSchema = z.object({ tenant: TenantIdSchema.optional() }).strict();
// A what-if resource may leave its tenant out, like an authz.check one: see check().
const WhatIfRequestSchema = PolicyCheckRequestSchema.extend({ resource: AuthzCheckResourceSchema });

/**
 * `forgeone.cmd.policy.*`: policy sets and API tokens. Each command authenticates the caller
 * (Authorization header) and is authorised by the same engine and policies as `authz.check`:
 * the policy set is platform-wide, so applying it is an act on the platform tenant (`default`);
 * reading it, checking what-ifs and managing tokens are acts on a tenant.
 */
@Controller()
export class PolicyCommandsController {
  constructor(
    private readonly state: PolicyState,
    private readonly gate: AuthorizationGate,
  ) {}

  @MessagePattern('policy.apply')
  async apply(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'apply-policy', PLATFORM_TENANT);
    const request = parseOrThrow(ApplyPolicySetRequestSchema, body, 'COMMAND.INVALID', 'the policy apply request');
    await this.gate.authorize(caller, 'apply-policy', tenantResource(PLATFORM_TENANT));
    return this.state.applyPolicySet(request.policies, request.expectedVersion, caller.id);
  }

  @MessagePattern('policy.show')
  async show(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'read-policy');
    parseOrThrow(ShowPolicyRequestSchema, body, 'COMMAND.INVALID', 'the policy show request');
    await this.gate.authorize(caller, 'read-policy', tenantResource(caller.tenant));
    const { version, sha256, policies, appliedAt, appliedBy } = this.state.policySet();
    return { version, sha256, policies, ...(appliedAt ? { appliedAt } : {}), ...(appliedBy ? { appliedBy } : {}) };
  }

  /**
   * What-if: would this principal be allowed? Answers with the deciding policy ids; records nothing
   * about the principal. A resource without a tenant is in the check's `tenant`, else the caller's.
   */
  @MessagePattern('policy.check')
  async check(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'read-policy');
    const request = parseOrThrow(WhatIfRequestSchema, body, 'COMMAND.INVALID', 'the policy check request');
    const subject = this.whatIfPrincipal(request.principal, request.role, request.tenant, caller);
    // Asking about a principal reads policy as it applies to that principal's tenant.
    await this.gate.authorize(caller, 'read-policy', tenantResource(subject.tenant));
    const result = this.state.engine.authorize({
      principal: subject,
      action: request.action,
      resource: resolveAuthzResource(request.resource, request.tenant ?? caller.tenant),
      context: request.environment ? { environment: request.environment } : {},
    });
    return { decision: result.decision, policyIds: result.policyIds, policyVersion: result.policyVersion, errors: result.errors };
  }

  @MessagePattern('policy.token_create')
  async tokenCreate(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'manage-tokens');
    const request = parseCreateToken(body);
    if (request.principal === BOOTSTRAP_PRINCIPAL || request.principal.startsWith('service.')) {
      throw new ForgeOneError('COMMAND.INVALID', `principal "${request.principal}" is reserved for the platform; choose another id`, { principal: request.principal });
    }
    if (request.expiresAt && Date.parse(request.expiresAt) <= Date.now()) {
      throw new ForgeOneError('COMMAND.INVALID', `expiresAt ${request.expiresAt} is in the past; give a future time or none`, { expiresAt: request.expiresAt });
    }
    const tenant = request.tenant ?? caller.tenant;
    await this.gate.authorize(caller, 'manage-tokens', tenantResource(tenant));
    const { record, token } = await this.state.issueToken(
      { principal: request.principal, principalType: request.principalType, role: request.role, tenant, ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}) },
      caller.id,
    );
    return { tokenId: record.tokenId, token, principal: record.principal, role: record.role, tenant: record.tenant, ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}) };
  }

  @MessagePattern('policy.token_revoke')
  async tokenRevoke(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'manage-tokens');
    const request = parseOrThrow(RevokeTokenRequestSchema, body, 'COMMAND.INVALID', 'the token revoke request');
    const notFound = new ForgeOneError('IDENTITY.TOKEN_NOT_FOUND', `there is no token ${request.tokenId}; list tokens with token list`, { tokenId: request.tokenId });
    const token = await this.state.findToken(request.tokenId);
    if (!token) throw notFound;
    await this.gate.authorize(caller, 'manage-tokens', tenantResource(token.tenant), notFound);
    const { record, alreadyRevoked } = await this.state.revokeToken(token, request.reason, caller.id);
    return { ...listed(record), alreadyRevoked };
  }

  /** How the tenant's plugin calls are recorded (window summaries or one event per call); needs configure-recording on the tenant. */
  @MessagePattern(`policy.${POLICY_VERBS.callRecordingSet}`)
  async callRecordingSet(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'configure-recording');
    const request = parseOrThrow(SetCallRecordingRequestSchema, body, 'COMMAND.INVALID', 'the call recording request');
    const tenant = request.tenant ?? caller.tenant;
    await this.gate.authorize(caller, 'configure-recording', tenantResource(tenant));
    return this.state.setCallRecording(tenant, request.environment ?? null, request.mode, caller.id);
  }

  @MessagePattern('policy.token_list')
  async tokenList(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const caller = await this.caller(ctx, 'manage-tokens');
    const request = parseOrThrow(ListTokensRequestSchema, body, 'COMMAND.INVALID', 'the token list request');
    const tenant = request.tenant ?? caller.tenant;
    await this.gate.authorize(caller, 'manage-tokens', tenantResource(tenant));
    return { tokens: this.state.tokens.list(tenant).map(listed) };
  }

  private caller(ctx: BusContext, action: Action, tenant: string = PLATFORM_TENANT): Promise<AuthenticatedIdentity> {
    return this.gate.authenticate(ctx.credential, action, tenantResource(tenant), undefined, ownCommandOrigin(ctx.source));
  }

  // The principal a what-if is about: a platform identity, else the role and tenant of its newest token, overridable.
  private whatIfPrincipal(id: string, role: string | undefined, tenant: string | undefined, caller: AuthenticatedIdentity): AuthenticatedIdentity {
    if (id === BOOTSTRAP_PRINCIPAL && role === undefined && tenant === undefined) return BOOTSTRAP_IDENTITY;
    const service = SERVICES.find((s) => servicePrincipalId(s) === id);
    if (service) return { id, type: 'service', tenant: PLATFORM_TENANT, roles: [], platformService: true };
    const token = this.state.tokens.newestActiveFor(id, new Date());
    if (!token && role === undefined) {
      throw new ForgeOneError('IDENTITY.TOKEN_NOT_FOUND', `principal ${id} has no active token, so its role is unknown; pass role (and tenant) to ask anyway`, { principal: id });
    }
    return { id, type: token?.principalType ?? 'user', tenant: tenant ?? token?.tenant ?? caller.tenant, roles: [role ?? token!.role] };
  }
}

// A role outside ROLES is its own error code, so callers can tell it from other bad input.
function parseCreateToken(body: unknown) {
  const parsed = CreateTokenRequestSchema.safeParse(body);
  if (!parsed.success && parsed.error.issues.some((issue) => issue.path[0] === 'role')) {
    const given = typeof body === 'object' && body !== null ? (body as { role?: unknown }).role : undefined;
    throw new ForgeOneError('IDENTITY.UNKNOWN_ROLE', `role ${given === undefined ? 'is missing' : `"${String(given)}" is unknown`}: use one of ${ROLES.join(', ')}`, {
      roles: [...ROLES],
    });
  }
  return parseOrThrow(CreateTokenRequestSchema, body, 'COMMAND.INVALID', 'the token create request');
}

function listed(record: TokenRecord) {
  return {
    tokenId: record.tokenId,
    principal: record.principal,
    principalType: record.principalType,
    role: record.role,
    tenant: record.tenant,
    issuedAt: record.issuedAt,
    ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
    ...(record.revokedReason ? { revokedReason: record.revokedReason } : {}),
  };
}
