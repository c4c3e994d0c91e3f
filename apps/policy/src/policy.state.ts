import { randomUUID } from 'node:crypto';
import {
  BOOTSTRAP_PRINCIPAL,
  BOOTSTRAP_TOKEN_AGGREGATE_ID,
  CedarPolicyEngine,
  CredentialVerifier,
  DEFAULT_POLICIES,
  generateApiToken,
  PLATFORM_TENANT,
  servicePrincipalId,
  TokenRegistry,
  type Authentication,
  type PolicySetInput,
  type TokenRecord,
} from '@forgeone/authz';
import type { ReadinessChecks } from '@forgeone/bus';
import {
  encodeSubjectToken,
  ForgeOneError,
  IDENTITY_EVENT_TYPES,
  POLICY_AGGREGATE,
  POLICY_EVENT_TYPES,
  TOKEN_AGGREGATE,
  type Names,
  type PolicySetAppliedSchema,
  type Role,
} from '@forgeone/contracts';
import type { EventAuthorship, JetStreamEventStore, VersionedEvents } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { tailEvents, type EventTail, type RefusedTailEvent, type TailedEvent } from './event-tail.js';
import type { PolicyServiceOptions } from './policy.options.js';

/** Aggregate id of the one platform-wide policy set. */
export const POLICY_SET_ID = 'active';
const SOURCE = '/forgeone/policy';
const SELF = servicePrincipalId('policy');

type PolicySetApplied = z.infer<typeof PolicySetAppliedSchema>;

/** The policy set that decides, with where it came from. */
export interface PolicySetInfo {
  readonly version: number;
  readonly sha256: string;
  readonly policies: Readonly<Record<string, string>>;
  readonly appliedAt?: string;
  readonly appliedBy?: string;
}

export interface NewToken {
  readonly principal: string;
  readonly principalType: 'user' | 'service';
  readonly role: Role;
  readonly tenant: string;
  readonly expiresAt?: string;
}

/**
 * What the policy service knows: the active policy set (pre-parsed in the Cedar engine) and the
 * API tokens, both folded from their events at start and kept current by following the stream,
 * so several replicas converge on the same state. Writes go through the event store with
 * optimistic concurrency; this replica applies its own writes at once. Only events the policy
 * service wrote are applied: a token or policy set published by anyone else is refused, so
 * platform-admin power comes from FORGEONE_BOOTSTRAP_TOKEN or from a verified token_issued event.
 */
export class PolicyState {
  readonly engine = new CedarPolicyEngine();
  readonly tokens = new TokenRegistry();
  readonly verifier: CredentialVerifier;
  private policy?: PolicySetInfo & { readonly sequence: number };
  // Last message on the policy set's subject, refused ones included: what the next apply expects.
  private policySubjectSequence = 0;
  private policyProblem?: string;
  private readonly tails: EventTail[] = [];
  private loaded = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    private readonly store: JetStreamEventStore,
    private readonly authorship: EventAuthorship,
    private readonly options: PolicyServiceOptions,
    private readonly logger: Logger,
  ) {
    this.verifier = new CredentialVerifier({ tokens: this.tokens, bootstrapToken: options.bootstrapToken, serviceKey: options.serviceKey });
  }

  /**
   * Loads tokens and policies, applies the default policy set on a platform's first start and
   * issues the bootstrap token when there is none; resolves once the service can decide.
   */
  async start(): Promise<void> {
    const tokenTail = await tailEvents(
      this.nc,
      this.authorship,
      this.aggregateWildcard(TOKEN_AGGREGATE),
      { apply: (e) => this.applyTokenEvent(e), refused: (r) => this.tokens.noteSubjectSequence(r.aggregateId, r.sequence) },
      this.logger,
    );
    this.tails.push(tokenTail);
    const policyTail = await tailEvents(
      this.nc,
      this.authorship,
      this.aggregateWildcard(POLICY_AGGREGATE),
      { apply: (e) => this.applyPolicyEvent(e), refused: (r) => this.notePolicyRefused(r) },
      this.logger,
    );
    this.tails.push(policyTail);
    await Promise.all([tokenTail.caughtUp, policyTail.caughtUp]);
    if (!this.policy) await this.applyDefaultPolicies();
    if (!this.options.bootstrapToken && !this.tokens.bootstrapIssued) await this.issueBootstrapToken();
    if (!this.options.serviceKey) this.logger.warn('FORGEONE_SERVICE_KEY is not set: service credentials are refused, so no service can ask authz.check');
    this.loaded = true;
    this.logger.info({ policyVersion: this.policy?.version, tokens: this.tokens.size }, 'tokens and policies loaded');
  }

  async stop(): Promise<void> {
    await Promise.all(this.tails.splice(0).map((tail) => tail.stop()));
  }

  readiness(): ReadinessChecks {
    const problems = [this.policyProblem, ...this.tails.map((t) => t.problem())].filter((p): p is string => p !== undefined);
    return {
      state: this.loaded ? { ok: true, detail: `policy set v${this.policy?.version ?? 0}, ${this.tokens.size} tokens` } : { ok: false, detail: 'loading tokens and policies' },
      ...(problems.length ? { events: { ok: false, detail: problems.join('; ') } } : {}),
    };
  }

  /** The active policy set; throws AUTHZ.UNAVAILABLE before one is loaded. */
  policySet(): PolicySetInfo & { readonly sequence: number } {
    if (!this.policy) throw new ForgeOneError('AUTHZ.UNAVAILABLE', 'the policy service has no policy set loaded yet; try again in a moment');
    return this.policy;
  }

  /**
   * Who a credential belongs to. A well-formed token this replica has not seen yet (issued a
   * moment ago through another replica) is looked up in the stream once before it is refused.
   */
  async authenticate(credential: string | undefined): Promise<Authentication> {
    const first = this.verifier.authenticate(credential);
    if (first.ok || !first.unknownTokenId) return first;
    await this.refreshToken(first.unknownTokenId);
    return this.verifier.authenticate(credential);
  }

  /** A token by id, reading its aggregate when this replica has not seen it. */
  async findToken(tokenId: string): Promise<TokenRecord | undefined> {
    if (!this.tokens.get(tokenId)) await this.refreshToken(tokenId);
    return this.tokens.get(tokenId);
  }

  /** Validates, then versions a new policy set as an event; refused sets change nothing. */
  async applyPolicySet(input: PolicySetInput, expectedVersion: number | undefined, actor: string): Promise<PolicySetInfo & { unchanged?: boolean; warnings: readonly string[] }> {
    const current = this.policySet();
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new ForgeOneError('POLICY.CONFLICT', `the policy set is at version ${current.version}, not ${expectedVersion}: run policy show, merge your change and apply again`, {
        version: current.version,
        expectedVersion,
      });
    }
    const prepared = this.engine.prepare(input);
    if (prepared.sha256 === current.sha256) return { ...this.publicInfo(current), unchanged: true, warnings: prepared.warnings };
    const version = current.version + 1;
    const data: PolicySetApplied = { version, policies: { ...prepared.policies }, sha256: prepared.sha256, appliedBy: actor };
    let appended;
    try {
      [appended] = await this.store.append(POLICY_AGGREGATE, POLICY_SET_ID, [this.newEvent(POLICY_EVENT_TYPES.policySetApplied, data, actor, PLATFORM_TENANT)], {
        expectedSequence: Math.max(current.sequence, this.policySubjectSequence),
      });
    } catch (error) {
      if (error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT') {
        throw new ForgeOneError('POLICY.CONFLICT', 'the policy set was changed by someone else at the same time: run policy show, merge your change and apply again');
      }
      throw error;
    }
    if (appended.sequence > (this.policy?.sequence ?? 0)) {
      this.engine.activate(prepared, version);
      this.setPolicy(data, appended.event.time, appended.sequence);
    }
    this.logger.info({ version, sha256: prepared.sha256, appliedBy: actor, warnings: prepared.warnings }, 'policy set applied');
    return { ...this.publicInfo(this.policySet()), warnings: prepared.warnings };
  }

  /** Issues an API token; the reply is the only place its secret ever appears. */
  async issueToken(request: NewToken, actor: string): Promise<{ record: TokenRecord; token: string }> {
    const issued = generateApiToken();
    const data = {
      tokenId: issued.tokenId,
      principal: request.principal,
      principalType: request.principalType,
      role: request.role,
      tenant: request.tenant,
      secretHash: issued.secretHash,
      ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
      issuedBy: actor,
    };
    const [appended] = await this.store.append(TOKEN_AGGREGATE, issued.tokenId, [this.newEvent(IDENTITY_EVENT_TYPES.tokenIssued, data, actor, request.tenant)], {
      expectedSequence: 0,
    });
    this.tokens.apply(appended.event, issued.tokenId, appended.sequence);
    return { record: this.tokens.get(issued.tokenId)!, token: issued.token };
  }

  /** Revokes a token; revoking it again changes nothing. */
  async revokeToken(token: TokenRecord, reason: string, actor: string): Promise<{ record: TokenRecord; alreadyRevoked: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const current = this.tokens.get(token.tokenId) ?? token;
      if (current.revokedAt) return { record: current, alreadyRevoked: true };
      try {
        const [appended] = await this.store.append(
          TOKEN_AGGREGATE,
          current.aggregateId,
          [this.newEvent(IDENTITY_EVENT_TYPES.tokenRevoked, { tokenId: current.tokenId, reason, revokedBy: actor }, actor, current.tenant)],
          { expectedSequence: this.tokens.aggregateSequence(current.aggregateId) },
        );
        this.tokens.apply(appended.event, current.aggregateId, appended.sequence);
        return { record: this.tokens.get(current.tokenId)!, alreadyRevoked: false };
      } catch (error) {
        // Someone else wrote to the token meanwhile (most likely revoked it too): read it and judge again.
        if (attempt >= 2 || !(error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT')) throw error;
        await this.refreshToken(current.tokenId, current.aggregateId);
      }
    }
  }

  private applyTokenEvent({ event, aggregateId, sequence }: TailedEvent): void {
    this.tokens.apply(event, aggregateId, sequence);
  }

  private notePolicyRefused({ aggregateId, sequence }: Pick<RefusedTailEvent, 'aggregateId' | 'sequence'>): void {
    if (aggregateId === POLICY_SET_ID) this.policySubjectSequence = Math.max(this.policySubjectSequence, sequence);
  }

  private applyPolicyEvent({ event, aggregateId, sequence }: TailedEvent): void {
    if (aggregateId !== POLICY_SET_ID || event.type !== POLICY_EVENT_TYPES.policySetApplied) return;
    if (sequence <= (this.policy?.sequence ?? 0)) return;
    this.policySubjectSequence = Math.max(this.policySubjectSequence, sequence);
    const data = event.data as PolicySetApplied;
    try {
      // Validated when it was applied; a set from history only has to parse.
      this.engine.apply(data.policies, data.version, { validate: false });
      this.policyProblem = undefined;
    } catch (error) {
      this.policyProblem = `policy set v${data.version} from the event stream could not be loaded: ${(error as Error).message}`;
      this.logger.error({ err: error, version: data.version, sequence }, 'policy set from history could not be loaded; the previous one stays active');
      return;
    }
    this.setPolicy(data, event.time, sequence);
  }

  private setPolicy(data: PolicySetApplied, appliedAt: string, sequence: number): void {
    this.policy = { version: data.version, sha256: data.sha256, policies: data.policies, appliedAt, appliedBy: data.appliedBy, sequence };
  }

  private publicInfo(info: PolicySetInfo): PolicySetInfo {
    const { version, sha256, policies, appliedAt, appliedBy } = info;
    return { version, sha256, policies, ...(appliedAt ? { appliedAt } : {}), ...(appliedBy ? { appliedBy } : {}) };
  }

  // First start: the default set becomes version 1. Of two racing replicas one appends, the other reads it.
  private async applyDefaultPolicies(): Promise<void> {
    const prepared = this.engine.prepare(DEFAULT_POLICIES);
    const data: PolicySetApplied = { version: 1, policies: { ...prepared.policies }, sha256: prepared.sha256, appliedBy: SELF };
    try {
      // Not 0: a refused message on the subject (a forgery) must not keep the platform from its first policy set.
      const [appended] = await this.store.append(POLICY_AGGREGATE, POLICY_SET_ID, [this.newEvent(POLICY_EVENT_TYPES.policySetApplied, data, SELF, PLATFORM_TENANT)], {
        expectedSequence: this.policySubjectSequence,
      });
      if (appended.sequence > (this.policy?.sequence ?? 0)) {
        this.engine.activate(prepared, 1);
        this.setPolicy(data, appended.event.time, appended.sequence);
      }
      this.logger.info({ version: 1, policies: Object.keys(prepared.policies) }, 'default policy set applied');
    } catch (error) {
      if (!(error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT')) throw error;
      const stored = await this.store.readVersioned(POLICY_AGGREGATE, POLICY_SET_ID);
      this.applyStored(stored, POLICY_SET_ID, (e) => this.applyPolicyEvent(e));
      this.notePolicyRefused({ aggregateId: POLICY_SET_ID, sequence: stored.version });
    }
    if (!this.policy) throw new Error('no policy set could be loaded or applied');
  }

  // First start without FORGEONE_BOOTSTRAP_TOKEN: one admin token, shown once to the operator.
  private async issueBootstrapToken(): Promise<void> {
    const issued = generateApiToken();
    const data = {
      tokenId: issued.tokenId,
      principal: BOOTSTRAP_PRINCIPAL,
      principalType: 'user' as const,
      role: 'admin' as const,
      tenant: PLATFORM_TENANT,
      secretHash: issued.secretHash,
      issuedBy: SELF,
    };
    try {
      const [appended] = await this.store.append(TOKEN_AGGREGATE, BOOTSTRAP_TOKEN_AGGREGATE_ID, [this.newEvent(IDENTITY_EVENT_TYPES.tokenIssued, data, SELF, PLATFORM_TENANT)], {
        expectedSequence: this.tokens.aggregateSequence(BOOTSTRAP_TOKEN_AGGREGATE_ID),
      });
      this.tokens.apply(appended.event, BOOTSTRAP_TOKEN_AGGREGATE_ID, appended.sequence);
    } catch (error) {
      if (!(error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT')) throw error;
      // Another replica issued it first and showed it.
      await this.refreshToken(undefined, BOOTSTRAP_TOKEN_AGGREGATE_ID);
      return;
    }
    const announce = this.options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
    announce(`ForgeOne bootstrap admin token (shown once): ${issued.token}`);
    this.logger.info({ tokenId: issued.tokenId, principal: BOOTSTRAP_PRINCIPAL }, 'bootstrap admin token issued and shown once on stdout');
  }

  private async refreshToken(tokenId: string | undefined, aggregateId = tokenId): Promise<void> {
    if (!aggregateId) return;
    const stored = await this.store.readVersioned(TOKEN_AGGREGATE, aggregateId);
    this.applyStored(stored, aggregateId, (e) => this.applyTokenEvent(e));
    this.tokens.noteSubjectSequence(aggregateId, stored.version);
  }

  private applyStored(stored: VersionedEvents, aggregateId: string, apply: (e: TailedEvent) => void): void {
    for (const { event, sequence } of stored.events) apply({ event, aggregateId, sequence });
  }

  private aggregateWildcard(aggregate: string): string {
    return `${this.names.eventsWildcard.slice(0, -1)}${encodeSubjectToken(aggregate)}.>`;
  }

  private newEvent(type: string, data: unknown, actor: string, tenant: string) {
    return { id: randomUUID(), type, data, time: new Date().toISOString(), actor, tenant, source: SOURCE };
  }
}
