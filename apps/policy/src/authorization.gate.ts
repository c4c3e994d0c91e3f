import { randomUUID } from 'node:crypto';
import {
  PLATFORM_TENANT,
  servicePrincipalId,
  type AuthenticatedIdentity,
  type Authentication,
  type AuthenticationFailureTally,
  type AuthorizationResult,
  type AuthzResource,
  type FailureOrigin,
} from '@forgeone/authz';
import { ForgeOneError, resolveAuthzResource, type Action, type AuthenticatedPrincipal, type AuthzCheckResource, type AuthzDecision } from '@forgeone/contracts';
import type { DecisionRecorder } from './decision.recorder.js';
import type { PolicyState } from './policy.state.js';
import { platformMetrics } from '@forgeone/telemetry';

/** A decision with the id it is recorded under. */
export type RecordedDecision = AuthorizationResult & { readonly decisionId: string };

// Applying and reading the policy set stay possible for the platform administrator whatever the
// set says, so a set that locks everybody out can still be repaired.
const BREAK_GLASS_ACTIONS: readonly Action[] = ['apply-policy', 'read-policy'];
export const BREAK_GLASS_POLICY_ID = 'builtin:platform-admin-can-repair-policy';

/** Where a command sent to the policy service itself came from: the caller's reported source, via policy. */
export function ownCommandOrigin(source: string | undefined): FailureOrigin {
  return { source: source ?? 'bus', via: servicePrincipalId('policy') };
}

/**
 * Authentication and authorisation with their record: every denial of policy becomes a
 * `decision_recorded` event before the caller hears about it, and allows are recorded as
 * FORGEONE_AUTHZ_RECORD_ALLOWS says. A credential that is missing, forged, expired or revoked is
 * recorded the same way for the first few failures of its source in a window; the rest are counted
 * and recorded as one `authentication_failures_counted` event per source and window (see
 * {@link flushFailureCounts}), so bad credentials cannot flood the stream. Dry runs record nothing.
 */
export class AuthorizationGate {
  constructor(
    private readonly state: PolicyState,
    private readonly recorder: DecisionRecorder,
    private readonly failures: AuthenticationFailureTally,
  ) {}

  /** The length of one window of counted authentication failures. */
  get failureWindowMs(): number {
    return this.failures.windowMs;
  }

  /**
   * The reply of `authz.check`: a decision for a genuine credential, a typed AUTH.* error otherwise.
   * A resource without a tenant (or the Tenant `@own`) is the principal's own, resolved before
   * evaluating and recording; the reply's `principal.tenant` tells the caller which tenant that was.
   */
  async check(
    credential: string | undefined,
    action: Action,
    resource: AuthzCheckResource,
    environment: string | undefined,
    dryRun: boolean,
    origin: FailureOrigin,
  ): Promise<AuthzDecision> {
    const started = performance.now();
    let identity: AuthenticatedIdentity;
    try {
      identity = await this.authenticate(credential, action, resource, environment, origin);
    } catch (error) {
      platformMetrics().authzDecision('unauthenticated', (performance.now() - started) / 1000);
      throw error;
    }
    const decision = await this.decide(identity, action, resolveAuthzResource(resource, identity.tenant), environment, dryRun);
    platformMetrics().authzDecision(decision.decision, (performance.now() - started) / 1000);
    return { decision: decision.decision, principal: wirePrincipal(identity), policyIds: decision.policyIds, policyVersion: decision.policyVersion, decisionId: decision.decisionId };
  }

  /**
   * Authenticates a caller for `action` on `resource`; a failure is recorded (or counted, past the
   * first few of its origin in the window) and thrown as its AUTH.* error.
   */
  async authenticate(credential: string | undefined, action: Action, resource: AuthzCheckResource, environment: string | undefined, origin: FailureOrigin): Promise<AuthenticatedIdentity> {
    const auth: Authentication = await this.state.authenticate(credential);
    if (auth.ok) return auth.identity;
    // A failed authentication is a security event whatever the question was (dry runs included):
    // it is recorded under the token's own tenant when the token is genuine, else the resource's,
    // else (nobody's own tenant is known) the platform's.
    const resolved = resolveAuthzResource(resource, auth.tenant ?? PLATFORM_TENANT);
    const tenant = auth.tenant ?? resolved.tenant;
    if (this.failures.admit(origin, tenant, auth.reason) === 'count') {
      throw new ForgeOneError(auth.code, auth.message, auth.tokenId ? { tokenId: auth.tokenId } : undefined);
    }
    const decisionId = randomUUID();
    await this.recorder.record(
      {
        decisionId,
        decision: 'deny',
        principal: auth.principal ?? 'anonymous',
        principalTenant: auth.tenant ?? 'unknown',
        action,
        resource: { type: resolved.type, id: resolved.id, tenant },
        ...(environment ? { environment } : {}),
        policyIds: [],
        policyVersion: this.state.policySet().version,
        reason: auth.reason,
        source: origin.source,
        via: origin.via,
      },
      auth.principal ?? 'anonymous',
    );
    throw new ForgeOneError(auth.code, auth.message, { decisionId, ...(auth.tokenId ? { tokenId: auth.tokenId } : {}) });
  }

  /**
   * Records the counts of failed authentications whose window has closed (all of them with `all`,
   * at shutdown). A count that cannot be written is logged and dropped: it must not stop the service.
   */
  async flushFailureCounts(all = false, onError: (error: unknown, count: number) => void = () => undefined): Promise<void> {
    for (const counted of this.failures.drain(all)) {
      await this.recorder.recordFailureCount(counted, servicePrincipalId('policy')).catch((error: unknown) => onError(error, counted.count));
    }
  }

  /** Evaluates and records one decision (denials awaited, allows in the background). */
  async decide(identity: AuthenticatedIdentity, action: Action, resource: AuthzResource, environment: string | undefined, dryRun = false): Promise<RecordedDecision> {
    const decision = this.evaluate(identity, action, resource, environment);
    if (!dryRun) await this.record(decision, identity, action, resource, environment);
    return decision;
  }

  private evaluate(identity: AuthenticatedIdentity, action: Action, resource: AuthzResource, environment: string | undefined): RecordedDecision {
    const result = this.state.engine.authorize({ principal: identity, action, resource, context: environment ? { environment } : {} });
    return { ...result, decisionId: randomUUID() };
  }

  private async record(decision: RecordedDecision, identity: AuthenticatedIdentity, action: Action, resource: AuthzResource, environment: string | undefined): Promise<void> {
    // An allow not to be recorded costs nothing more.
    if (decision.decision === 'allow' && !this.recorder.sampleAllow()) return;
    const env = environment ?? resource.attributes?.environment;
    const record = {
      decisionId: decision.decisionId,
      decision: decision.decision,
      principal: identity.id,
      principalTenant: identity.tenant,
      action,
      resource: { type: resource.type, id: resource.id, tenant: resource.tenant },
      ...(env ? { environment: env } : {}),
      policyIds: decision.policyIds,
      policyVersion: decision.policyVersion,
      ...(decision.errors.length ? { reason: decision.errors.join('; ').slice(0, 1024) } : {}),
    };
    if (decision.decision === 'deny') await this.recorder.record(record, identity.id);
    else await this.recorder.recordInBackground(record, identity.id);
  }

  /**
   * Authorises a command of the policy service itself; a denial is thrown as AUTHZ.DENIED naming
   * the policies and the decision. With `notFound`, a denial on another tenant's object is thrown
   * as that error instead, so a tenant cannot learn what another holds.
   */
  async authorize(identity: AuthenticatedIdentity, action: Action, resource: AuthzResource, notFound?: ForgeOneError): Promise<RecordedDecision> {
    let decision = this.evaluate(identity, action, resource, undefined);
    if (decision.decision === 'deny' && identity.platformAdmin && BREAK_GLASS_ACTIONS.includes(action)) {
      decision = { ...decision, decision: 'allow', policyIds: [BREAK_GLASS_POLICY_ID] };
    }
    await this.record(decision, identity, action, resource, undefined);
    if (decision.decision === 'allow') return decision;
    if (notFound && resource.tenant !== identity.tenant) throw notFound;
    const why = decision.policyIds.length > 0 ? `denied by policy ${decision.policyIds.join(', ')}` : 'no policy allows it';
    throw new ForgeOneError(
      'AUTHZ.DENIED',
      `${identity.id} may not ${action} ${resource.type} ${resource.id} (${why}; decision ${decision.decisionId}); ask an administrator of tenant ${identity.tenant} for a role that allows it`,
      { principal: identity.id, action, resource: { type: resource.type, id: resource.id, tenant: resource.tenant }, policyIds: decision.policyIds, policyVersion: decision.policyVersion, decisionId: decision.decisionId },
    );
  }
}

/** A Tenant resource (a tenant owns itself). */
export function tenantResource(tenant: string = PLATFORM_TENANT): AuthzResource {
  return { type: 'Tenant', id: tenant, tenant };
}

/** The principal as the wire contract carries it. */
export function wirePrincipal(identity: AuthenticatedIdentity): AuthenticatedPrincipal {
  return { id: identity.id, type: identity.type, tenant: identity.tenant, roles: [...identity.roles], ...(identity.tokenId ? { tokenId: identity.tokenId } : {}) };
}
