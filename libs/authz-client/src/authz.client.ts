import { BusClient } from '@forgeone/bus';
import {
  AuthzDecisionSchema,
  ForgeOneError,
  MAX_CREDENTIAL_LENGTH,
  POLICY_AGGREGATE,
  RequestSourceSchema,
  resolveAuthzResource,
  TOKEN_AGGREGATE,
  type Action,
  type AuthzCheckRequest,
  type AuthzDecision,
  type Names,
  type Resource,
} from '@forgeone/contracts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { DEFAULT_AUTHZ_CACHE_TTL_MS, DEFAULT_AUTHZ_TIMEOUT_MS } from './authz-client.settings.js';
import { CredentialDigests, decisionCacheKey, TtlCache } from './decision.cache.js';
import { platformMetrics } from '@forgeone/telemetry';

/**
 * The resource a caller asks about. Without `tenant` it is the resource of that name in the
 * authenticated principal's own tenant, which policy fills in (the decision's `principal.tenant`
 * says which): the tenant never comes from the caller. A Tenant owns itself, so a Tenant without
 * `tenant` is the one its id names, and `{ type: 'Tenant', id: '@own' }` (OWN_TENANT) is the caller's own.
 */
export interface ResourceRef {
  readonly type: Resource['type'];
  readonly id: string;
  readonly tenant?: string;
  readonly attributes?: Resource['attributes'];
}

/** Facts about the request itself (not the resource) that policy may look at. */
export interface AuthzContext {
  readonly environment?: string;
  /**
   * Where the end user's request came from, as this service knows it (`http 203.0.113.7`, or what
   * the `Forgeone-Source` header of a forwarded command says). Policy counts failed
   * authentications per source; it plays no part in the decision, nor in the cache.
   */
  readonly source?: string;
}

export interface AuthzClientOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  /**
   * The calling service's own credential, sent in the Authorization header of every check so
   * policy answers services only. Called per request, so a credential may carry a fresh timestamp.
   */
  readonly serviceCredential: () => string;
  /** Deadline of one `authorize` call, its one check to policy (default 2000 ms). */
  readonly timeoutMs?: number;
  /** How long decisions are reused; 0 disables the cache (default 5000 ms). */
  readonly cacheTtlMs?: number;
  /** Most decisions kept at once (default 10 000); the oldest are dropped first. */
  readonly maxCacheEntries?: number;
  /** Milliseconds clock of the cache, for tests. */
  readonly now?: () => number;
}

/** Counters for tests and metrics. */
export interface AuthzClientStats {
  /** `authz.check` requests sent to policy. */
  readonly requests: number;
  /** Decisions answered from the cache. */
  readonly hits: number;
  /** Decisions that had to be asked for. */
  readonly misses: number;
  /** Times the cache was cleared (policy or token event, reconnect, or {@link AuthzClient.clearCache}). */
  readonly invalidations: number;
  /** Decisions cached right now. */
  readonly size: number;
}

/**
 * The subjects whose events invalidate cached decisions: every policy-set and every token event
 * (`<ns>.forgeone.evt.policy.>`, `<ns>.forgeone.evt.token.>`).
 */
export function authzInvalidationSubjects(names: Names): string[] {
  return [POLICY_AGGREGATE, TOKEN_AGGREGATE].map((aggregate) => names.aggregateEvents(aggregate));
}

/**
 * Asks the policy service (`forgeone.authz.check`) whether a credential may perform an action on a
 * resource. It fails closed: a missing credential is AUTH.UNAUTHENTICATED, a denial AUTHZ.DENIED, and
 * no answer, a late answer or a malformed one AUTHZ.UNAVAILABLE. Allows and denies are cached for a
 * TTL; any policy or token event clears the cache, so a policy change or a revocation applies at once.
 *
 * Create it with {@link createAuthzClient} (or {@link authzClientProvider} in a Nest module) and
 * {@link AuthzClient.close} it when done.
 */
export class AuthzClient {
  private readonly bus: BusClient;
  private readonly decisions: TtlCache<AuthzDecision>;
  private readonly digests: CredentialDigests;
  private readonly timeoutMs: number;
  private readonly subscriptions: Subscription[];
  private readonly statusWatch: AsyncIterable<unknown> & { stop?: () => void };
  private requests = 0;
  private closed = false;

  constructor(private readonly options: AuthzClientOptions) {
    this.bus = new BusClient(options.connection, options.names);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AUTHZ_TIMEOUT_MS;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) throw new RangeError(`timeoutMs must be a positive integer, got ${this.timeoutMs}`);
    this.decisions = new TtlCache({ ttlMs: options.cacheTtlMs ?? DEFAULT_AUTHZ_CACHE_TTL_MS, maxEntries: options.maxCacheEntries, now: options.now });
    this.digests = new CredentialDigests(options.maxCacheEntries);
    this.subscriptions = authzInvalidationSubjects(options.names).map((subject) =>
      options.connection.subscribe(subject, { callback: () => this.clearCache() }),
    );
    // Events published while disconnected are never delivered to a core subscription: forget everything instead.
    this.statusWatch = options.connection.status() as AsyncIterable<unknown> & { stop?: () => void };
    void this.watchReconnects();
  }

  /**
   * Resolves with the allowing decision (its `principal` is the authenticated caller) or throws a
   * ForgeOneError: AUTH.UNAUTHENTICATED / AUTH.TOKEN_EXPIRED / AUTH.TOKEN_REVOKED for a credential
   * policy does not accept, AUTHZ.DENIED (details: policyIds, decisionId) when policy says no, and
   * AUTHZ.UNAVAILABLE when policy cannot be asked.
   *
   * @param credential the end user's token as sent (a `Bearer ` prefix is removed)
   */
  async authorize(credential: string | undefined, action: Action, resource: ResourceRef, context: AuthzContext = {}): Promise<AuthzDecision> {
    return this.authorizeNow(credential, action, resource, context);
  }

  /**
   * {@link authorize} for hot paths: a cached decision is answered at once, the allowing decision
   * returned or the refusal thrown without a promise (which saves the caller a turn of the event
   * loop); a question policy has to be asked answers a promise.
   */
  authorizeNow(credential: string | undefined, action: Action, resource: ResourceRef, context: AuthzContext = {}): AuthzDecision | Promise<AuthzDecision> {
    const token = normaliseCredential(credential);
    if (!token) {
      throw new ForgeOneError(
        'AUTH.UNAUTHENTICATED',
        `no credential was sent, so ${action} on ${resource.type} ${resource.id} was refused; send a ForgeOne API token in the Authorization header`,
        { action, resource: { type: resource.type, id: resource.id } },
      );
    }
    if (token.length > MAX_CREDENTIAL_LENGTH) {
      throw new ForgeOneError(
        'AUTH.UNAUTHENTICATED',
        `the credential is ${token.length} characters long, more than the ${MAX_CREDENTIAL_LENGTH} any ForgeOne credential has, so ${action} on ${resource.type} ${resource.id} was refused; send a ForgeOne API token`,
        { action, resource: { type: resource.type, id: resource.id }, maxLength: MAX_CREDENTIAL_LENGTH },
      );
    }
    const ctx = context.environment ? { environment: context.environment } : {};
    const key = decisionCacheKey({ credential: token, digest: this.decisions.enabled ? this.digests.of(token) : undefined, action, resource, context: ctx });
    const cached = this.decisions.get(key);
    platformMetrics().authzCacheLookup(cached !== undefined);
    if (cached) return verdict(cached, action, resource, ctx);
    return this.ask(key, token, action, resource, ctx, context.source);
  }

  /** Forgets every cached decision. */
  clearCache(): void {
    this.decisions.clear();
    this.digests.clear();
  }

  stats(): AuthzClientStats {
    const { hits, misses, invalidations, size } = this.decisions.stats();
    return { requests: this.requests, hits, misses, invalidations, size };
  }

  /** Stops listening for policy and token events. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statusWatch.stop?.();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  /** Nest calls this when the module that provides the client shuts down. */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  private async ask(key: string, token: string, action: Action, resource: ResourceRef, ctx: AuthzContext, source: string | undefined): Promise<AuthzDecision> {
    const generation = this.decisions.generation;
    // A resource without a tenant is sent as is: policy fills in the principal's, so no look-up comes first.
    const decision = await this.check({
      credential: token,
      action,
      resource: { type: resource.type, id: resource.id, ...(resource.tenant === undefined ? {} : { tenant: resource.tenant }), attributes: resource.attributes ?? {} },
      context: ctx,
      ...(source !== undefined && RequestSourceSchema.safeParse(source).success ? { source } : {}),
    });
    this.decisions.set(key, decision, generation);
    return verdict(decision, action, resource, ctx);
  }

  private async check(request: AuthzCheckRequest): Promise<AuthzDecision> {
    const serviceCredential = this.options.serviceCredential();
    this.requests++;
    let reply: unknown;
    try {
      reply = await this.bus.requestSubject(this.options.names.authzCheck, request, {
        credential: serviceCredential,
        timeoutMs: this.timeoutMs,
        label: 'authz.check',
        service: 'policy',
      });
    } catch (error) {
      if (error instanceof ForgeOneError && (error.code.startsWith('AUTH.') || error.code.startsWith('AUTHZ.'))) throw error;
      throw unavailableFrom(error, this.timeoutMs);
    }
    const parsed = AuthzDecisionSchema.safeParse(reply);
    if (!parsed.success) throw unavailable('policy answered with a reply that is not a decision', { reason: 'malformed-reply' });
    return parsed.data;
  }

  private async watchReconnects(): Promise<void> {
    try {
      for await (const status of this.statusWatch) {
        if ((status as { type?: string }).type === 'reconnect') this.clearCache();
      }
    } catch {
      // The connection closed; there is nothing left to watch.
    }
  }
}

/** Creates an {@link AuthzClient} whose invalidation subscriptions are active on the server when it resolves. */
export async function createAuthzClient(options: AuthzClientOptions): Promise<AuthzClient> {
  const client = new AuthzClient(options);
  await options.connection.flush();
  return client;
}

function normaliseCredential(credential: string | undefined): string | undefined {
  const token = credential?.replace(/^\s*bearer(\s+|$)/i, '').trim();
  return token ? token : undefined;
}

function verdict(decision: AuthzDecision, action: Action, resource: ResourceRef, context: AuthzContext): AuthzDecision {
  if (decision.decision === 'allow') return decision;
  const { principal } = decision;
  // Name the resource as policy decided it: the principal's tenant where the caller left it out.
  const { id, tenant } = resolveAuthzResource(resource, principal.tenant);
  const where = `${context.environment ? ` in ${context.environment}` : ''}${tenant !== principal.tenant ? ` of tenant ${tenant}` : ''}`;
  const why = decision.policyIds.length > 0 ? `denied by policy ${decision.policyIds.join(', ')}` : 'no policy allows it';
  throw new ForgeOneError(
    'AUTHZ.DENIED',
    `${principal.id} may not ${action} ${resource.type} ${id}${where} (${why}; decision ${decision.decisionId}); ask an administrator of tenant ${principal.tenant} for a role that allows it`,
    {
      principal: principal.id,
      tenant: principal.tenant,
      action,
      resource: { type: resource.type, id, tenant },
      ...(context.environment ? { environment: context.environment } : {}),
      policyIds: decision.policyIds,
      policyVersion: decision.policyVersion,
      decisionId: decision.decisionId,
    },
  );
}

function unavailable(why: string, details: Record<string, unknown>): ForgeOneError {
  return new ForgeOneError(
    'AUTHZ.UNAVAILABLE',
    `authorisation service unreachable; the action was refused (${why}). Try again; if it persists, check that the policy service is running`,
    details,
  );
}

function unavailableFrom(error: unknown, timeoutMs: number): ForgeOneError {
  if (error instanceof ForgeOneError) {
    switch (error.code) {
      case 'SERVICE.UNAVAILABLE':
        return unavailable('no policy service answers on the bus', { reason: 'no-responders' });
      case 'SERVICE.TIMEOUT':
        return unavailable(`policy did not answer within ${timeoutMs} ms`, { reason: 'timeout', timeoutMs });
      case 'SERVICE.INTERNAL':
        return unavailable(`policy answered with an error: ${error.message}`, { reason: 'malformed-reply', cause: error.code });
      default:
        return unavailable(`policy refused the check with ${error.code}: ${error.message}`, { reason: 'error-reply', cause: error.code });
    }
  }
  return unavailable((error as Error)?.message ?? String(error), { reason: 'error' });
}
