import { AuthzCheckRequestSchema, HEADERS, resolveAuthzResource, type Action, type AuthzCheckRequest, type AuthzDecision, type Names } from '@forgeone/contracts';
import type { Msg, NatsConnection } from '@nats-io/transport-node';

/** A principal the test responder knows by its token. */
export interface TestPrincipal {
  readonly id: string;
  readonly tenant: string;
  readonly role: string;
  readonly type?: 'user' | 'service' | 'plugin';
}

export interface TestAuthzResponderOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  /** Tokens it accepts, and whose they are. */
  readonly tokens: Readonly<Record<string, TestPrincipal>>;
  /** The rule table: the actions each role may perform on resources of its own tenant. */
  readonly rules: Readonly<Record<string, readonly Action[]>>;
  /** The Authorization header a calling service must send; other callers get AUTH.UNAUTHENTICATED. */
  readonly serviceCredential: string;
  /** Tokens answered with AUTH.TOKEN_REVOKED. */
  readonly revokedTokens?: readonly string[];
}

/** A running test responder; change its behaviour between requests. */
export interface TestAuthzResponder {
  /** Every well-formed request it received, in order. */
  readonly requests: AuthzCheckRequest[];
  /** Headers (Authorization) of every request it received, in order. */
  readonly authorizations: (string | undefined)[];
  /** From now on answers this token with AUTH.TOKEN_REVOKED. */
  revoke(token: string): void;
  /** Replaces the rule table and raises the policy version. */
  setRules(rules: Readonly<Record<string, readonly Action[]>>): void;
  /** Answers after this many ms (default 0). */
  delayMs: number;
  /** Answers with a body that is not a decision. */
  malformed: boolean;
  stop(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * TEST FIXTURE, never for a running platform: a stand-in for the policy service on
 * `forgeone.authz.check` over real NATS, deciding from a fixed rule table (role → actions,
 * own tenant only, deny by default). It speaks the wire contract (AuthzCheckRequestSchema in,
 * AuthzDecisionSchema or a typed AUTH.* error out), so clients are tested against the real protocol,
 * and resolves an omitted tenant and the Tenant `@own` to the principal's tenant as policy does.
 */
export async function startTestAuthzResponder(options: TestAuthzResponderOptions): Promise<TestAuthzResponder> {
  let rules = options.rules;
  let policyVersion = 1;
  let decisions = 0;
  const revoked = new Set(options.revokedTokens ?? []);
  const state: TestAuthzResponder = {
    requests: [],
    authorizations: [],
    revoke(token) {
      revoked.add(token);
    },
    setRules(next) {
      rules = next;
      policyVersion++;
    },
    delayMs: 0,
    malformed: false,
    stop: async () => {
      subscription.unsubscribe();
      if (!options.connection.isClosed()) await options.connection.flush();
    },
  };

  const answer = (request: AuthzCheckRequest, authorization: string | undefined): unknown => {
    if (authorization !== options.serviceCredential) {
      return { error: { code: 'AUTH.UNAUTHENTICATED', message: 'authz.check answers ForgeOne services only; the service credential is missing or wrong' } };
    }
    if (state.malformed) return { decision: 'maybe' };
    const token = request.credential;
    if (!token) return { error: { code: 'AUTH.UNAUTHENTICATED', message: 'no credential was sent' } };
    if (revoked.has(token)) return { error: { code: 'AUTH.TOKEN_REVOKED', message: 'this token was revoked' } };
    const known = options.tokens[token];
    if (!known) return { error: { code: 'AUTH.UNAUTHENTICATED', message: 'the credential is not a known token' } };
    // Like policy: an omitted tenant (or the Tenant "@own") is the principal's own.
    const resource = resolveAuthzResource(request.resource, known.tenant);
    if (resource.type === 'Tenant' && resource.id !== resource.tenant) {
      return { error: { code: 'COMMAND.INVALID', message: `a Tenant resource is owned by itself: its tenant must be its id (got id "${resource.id}", tenant "${resource.tenant}")` } };
    }
    const allowed = resource.tenant === known.tenant && (rules[known.role] ?? []).includes(request.action);
    const decision: AuthzDecision = {
      decision: allowed ? 'allow' : 'deny',
      principal: { id: known.id, type: known.type ?? 'user', tenant: known.tenant, roles: [known.role] },
      policyIds: allowed ? [`test-${known.role}`] : [],
      policyVersion,
      decisionId: `test-decision-${++decisions}`,
    };
    return decision;
  };

  const respond = (msg: Msg) => {
    const authorization = msg.headers?.has(HEADERS.credential) ? msg.headers.get(HEADERS.credential) : undefined;
    state.authorizations.push(authorization);
    let reply: unknown;
    try {
      const parsed = AuthzCheckRequestSchema.safeParse(JSON.parse(decoder.decode(msg.data)));
      if (parsed.success) {
        state.requests.push(parsed.data);
        reply = answer(parsed.data, authorization);
      } else {
        reply = { error: { code: 'COMMAND.INVALID', message: `the authz.check request is invalid: ${parsed.error.message}` } };
      }
    } catch {
      reply = { error: { code: 'COMMAND.INVALID', message: 'the authz.check request is not JSON' } };
    }
    const send = () => msg.respond(encoder.encode(JSON.stringify(reply)));
    if (state.delayMs > 0) setTimeout(send, state.delayMs);
    else send();
  };

  const subscription = options.connection.subscribe(options.names.authzCheck, { callback: (error, msg) => (error ? undefined : respond(msg)) });
  await options.connection.flush();
  return state;
}
