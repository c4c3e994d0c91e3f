import { randomUUID } from 'node:crypto';
import {
  BOOTSTRAP_PRINCIPAL,
  BOOTSTRAP_TOKEN_AGGREGATE_ID,
  CedarPolicyEngine,
  CredentialVerifier,
  DEFAULT_POLICIES,
  generateApiToken,
  hashTokenSecret,
  parseApiToken,
  PLATFORM_TENANT,
  servicePrincipalId,
  TokenRegistry,
  type Authentication,
  type PolicySetInput,
  type TokenRecord,
} from '@forgeone/authz';
import type { ReadinessChecks } from '@forgeone/bus';
import {
  CALL_RECORDING_AGGREGATE,
  callRecordingFor,
  ForgeOneError,
  POLICY_AGGREGATE,
  POLICY_EVENT_TYPES,
  TOKEN_AGGREGATE,
  type CallRecordingMode,
  type Names,
  type PolicySetAppliedSchema,
  type Role,
} from '@forgeone/contracts';
import { handleCommand, isConflict, type EventOrigin, type EventStore, type VersionedEvents } from '@forgeone/event-sourcing';
import type { EventAuthorship } from '@forgeone/event-store';
import { apiTokenDecider, callRecordingDecider, POLICY_SET_ID, policySetDecider, type ApiTokenCommand, type PolicySetCommand } from '@forgeone/policy-domain';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { tailEvents, type EventTail, type TailedEvent } from './event-tail.js';
import type { PolicyServiceOptions } from './policy.options.js';

export { POLICY_SET_ID };
const SELF = servicePrincipalId('policy');
/** The principal of the token `npm start` gives its plugins/ directory watcher. */
const WATCHER_PRINCIPAL = 'plugins-dir';

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
 * so several replicas converge on the same state. Changes are decided by the policy-set and API
 * token deciders (`@forgeone/policy-domain`) through the shared command handler, on the aggregate
 * as the stream holds it; this replica applies its own writes at once. Only events the policy
 * service wrote are applied: a token or policy set published by anyone else is refused, so
 * platform-admin power comes from FORGEONE_BOOTSTRAP_TOKEN or from a verified token_issued event.
 */
export class PolicyState {
  readonly engine = new CedarPolicyEngine();
  readonly tokens = new TokenRegistry();
  readonly verifier: CredentialVerifier;
  private policy?: PolicySetInfo & { readonly sequence: number };
  private policyProblem?: string;
  private readonly tails: EventTail[] = [];
  private loaded = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    private readonly store: EventStore,
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
      this.names.aggregateEvents(TOKEN_AGGREGATE),
      { apply: (e) => this.applyTokenEvent(e), refused: (r) => this.tokens.noteSubjectSequence(r.aggregateId, r.sequence) },
      this.logger,
    );
    this.tails.push(tokenTail);
    const policyTail = await tailEvents(
      this.nc,
      this.authorship,
      this.names.aggregateEvents(POLICY_AGGREGATE),
      // Refused messages need no note here: applies are decided on the stream's own last sequence.
      { apply: (e) => this.applyPolicyEvent(e) },
      this.logger,
    );
    this.tails.push(policyTail);
    await Promise.all([tokenTail.caughtUp, policyTail.caughtUp]);
    if (!this.policy) await this.applyDefaultPolicies();
    if (!this.options.bootstrapToken && !this.tokens.bootstrapIssued) await this.issueBootstrapToken();
    if (this.options.watcherToken) await this.issueWatcherToken(this.options.watcherToken);
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
    // Answered from memory before the set is validated, as the decider would answer it on the stream's state.
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new ForgeOneError('POLICY.CONFLICT', `the policy set is at version ${current.version}, not ${expectedVersion}: run policy show, merge your change and apply again`, {
        version: current.version,
        expectedVersion,
      });
    }
    const prepared = this.engine.prepare(input);
    const command: PolicySetCommand = {
      type: 'ApplyPolicySet',
      data: { policies: prepared.policies, sha256: prepared.sha256, appliedBy: actor, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
    };
    let outcome;
    try {
      outcome = await handleCommand(this.store, policySetDecider, { aggregate: POLICY_AGGREGATE, id: POLICY_SET_ID }, command, origin(actor, PLATFORM_TENANT));
    } catch (error) {
      if (!isConflict(error)) throw error;
      throw new ForgeOneError('POLICY.CONFLICT', 'the policy set was changed by someone else at the same time: run policy show, merge your change and apply again');
    }
    const [appended] = outcome.appended;
    if (!appended) {
      const stored = outcome.state.current ?? current;
      return { ...this.publicInfo({ ...stored, appliedAt: stored.appliedAt ?? undefined }), unchanged: true, warnings: prepared.warnings };
    }
    const data = appended.event.data as PolicySetApplied;
    if (appended.sequence > (this.policy?.sequence ?? 0)) {
      this.engine.activate(prepared, data.version);
      this.setPolicy(data, appended.event.time, appended.sequence);
    }
    this.logger.info({ version: data.version, sha256: prepared.sha256, appliedBy: actor, warnings: prepared.warnings }, 'policy set applied');
    return { ...this.publicInfo(this.policySet()), warnings: prepared.warnings };
  }

  /** Issues an API token; the reply is the only place its secret ever appears. */
  async issueToken(request: NewToken, actor: string): Promise<{ record: TokenRecord; token: string }> {
    const issued = generateApiToken();
    const command: ApiTokenCommand = {
      type: 'IssueApiToken',
      data: {
        tokenId: issued.tokenId,
        principal: request.principal,
        principalType: request.principalType,
        role: request.role,
        tenant: request.tenant,
        secretHash: issued.secretHash,
        ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
        issuedBy: actor,
      },
    };
    const { appended } = await handleCommand(this.store, apiTokenDecider, { aggregate: TOKEN_AGGREGATE, id: issued.tokenId }, command, origin(actor, request.tenant));
    // A fresh random token id has no events, so the decider always issues.
    if (!appended[0]) throw new Error(`token ${issued.tokenId} was already issued`);
    this.tokens.apply(appended[0].event, issued.tokenId, appended[0].sequence);
    return { record: this.tokens.get(issued.tokenId)!, token: issued.token };
  }

  /** Revokes a token; revoking it again changes nothing. */
  /**
   * Sets how a tenant's calls are recorded (its default, or one environment's), through the
   * call-recording decider: the event says before, after and who; the same mode again writes nothing.
   */
  async setCallRecording(tenant: string, environment: string | null, mode: CallRecordingMode, actor: string) {
    const command = { type: 'SetCallRecording' as const, data: { tenant, environment, mode, setBy: actor } };
    const { state: before, next, appended } = await handleCommand(this.store, callRecordingDecider, { aggregate: CALL_RECORDING_AGGREGATE, id: tenant }, command, origin(actor, tenant));
    return {
      tenant,
      environment,
      before: environment === null ? before.tenantDefault : callRecordingFor(before, environment),
      mode,
      changed: appended.length > 0,
      settings: next,
      ...(appended[0] ? { sequence: appended[0].sequence } : {}),
    };
  }

  async revokeToken(token: TokenRecord, reason: string, actor: string): Promise<{ record: TokenRecord; alreadyRevoked: boolean }> {
    const current = this.tokens.get(token.tokenId) ?? token;
    if (current.revokedAt) return { record: current, alreadyRevoked: true };
    const command: ApiTokenCommand = { type: 'RevokeApiToken', data: { tokenId: current.tokenId, reason, revokedBy: actor } };
    const { appended } = await handleCommand(this.store, apiTokenDecider, { aggregate: TOKEN_AGGREGATE, id: current.aggregateId }, command, origin(actor, current.tenant));
    if (!appended[0]) {
      // Revoked through another replica meanwhile: the stream has it, this replica reads it.
      await this.refreshToken(current.tokenId, current.aggregateId);
      return { record: this.tokens.get(current.tokenId) ?? current, alreadyRevoked: true };
    }
    this.tokens.apply(appended[0].event, current.aggregateId, appended[0].sequence);
    return { record: this.tokens.get(current.tokenId)!, alreadyRevoked: false };
  }

  private applyTokenEvent({ event, aggregateId, sequence }: TailedEvent): void {
    this.tokens.apply(event, aggregateId, sequence);
  }

  private applyPolicyEvent({ event, aggregateId, sequence }: TailedEvent): void {
    if (aggregateId !== POLICY_SET_ID || event.type !== POLICY_EVENT_TYPES.policySetApplied) return;
    if (sequence <= (this.policy?.sequence ?? 0)) return;
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
    const command: PolicySetCommand = { type: 'ApplyDefaultPolicySet', data: { policies: prepared.policies, sha256: prepared.sha256, appliedBy: SELF } };
    const { appended } = await handleCommand(this.store, policySetDecider, { aggregate: POLICY_AGGREGATE, id: POLICY_SET_ID }, command, origin(SELF, PLATFORM_TENANT));
    if (appended[0]) {
      if (appended[0].sequence > (this.policy?.sequence ?? 0)) {
        this.engine.activate(prepared, 1);
        this.setPolicy(appended[0].event.data as PolicySetApplied, appended[0].event.time, appended[0].sequence);
      }
      this.logger.info({ version: 1, policies: Object.keys(prepared.policies) }, 'default policy set applied');
    } else {
      const stored = await this.store.readVersioned(POLICY_AGGREGATE, POLICY_SET_ID);
      this.applyStored(stored, POLICY_SET_ID, (e) => this.applyPolicyEvent(e));
    }
    if (!this.policy) throw new Error('no policy set could be loaded or applied');
  }

  // First start without FORGEONE_BOOTSTRAP_TOKEN: one admin token, shown once to the operator.
  private async issueBootstrapToken(): Promise<void> {
    const issued = generateApiToken();
    const command: ApiTokenCommand = {
      type: 'IssueApiToken',
      data: { tokenId: issued.tokenId, principal: BOOTSTRAP_PRINCIPAL, principalType: 'user', role: 'admin', tenant: PLATFORM_TENANT, secretHash: issued.secretHash, issuedBy: SELF },
    };
    const { appended } = await handleCommand(this.store, apiTokenDecider, { aggregate: TOKEN_AGGREGATE, id: BOOTSTRAP_TOKEN_AGGREGATE_ID }, command, origin(SELF, PLATFORM_TENANT));
    if (!appended[0]) {
      // Another replica issued it first and showed it.
      await this.refreshToken(undefined, BOOTSTRAP_TOKEN_AGGREGATE_ID);
      return;
    }
    this.tokens.apply(appended[0].event, BOOTSTRAP_TOKEN_AGGREGATE_ID, appended[0].sequence);
    const announce = this.options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
    announce(`ForgeOne bootstrap admin token (shown once): ${issued.token}`);
    this.logger.info({ tokenId: issued.tokenId, principal: BOOTSTRAP_PRINCIPAL }, 'bootstrap admin token issued and shown once on stdout');
  }

  // `npm start` watching ./plugins: the watcher's token, issued once with the watcher role (publish, install, upgrade, remove).
  private async issueWatcherToken(token: string): Promise<void> {
    const parts = parseApiToken(token);
    if (!parts || this.tokens.get(parts.tokenId)) return;
    const command: ApiTokenCommand = {
      type: 'IssueApiToken',
      data: { tokenId: parts.tokenId, principal: WATCHER_PRINCIPAL, principalType: 'service', role: 'watcher', tenant: PLATFORM_TENANT, secretHash: hashTokenSecret(parts.secret), issuedBy: SELF },
    };
    const { appended } = await handleCommand(this.store, apiTokenDecider, { aggregate: TOKEN_AGGREGATE, id: parts.tokenId }, command, origin(SELF, PLATFORM_TENANT));
    if (appended[0]) this.tokens.apply(appended[0].event, parts.tokenId, appended[0].sequence);
    else await this.refreshToken(parts.tokenId);
    this.logger.info({ tokenId: parts.tokenId, principal: WATCHER_PRINCIPAL }, 'plugins directory watcher token issued');
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
}

function origin(actor: string, tenant: string): EventOrigin {
  return { actor, tenant, now: new Date(), newId: randomUUID };
}
