import { createHash, randomBytes } from 'node:crypto';
// First: a V8 flag that keeps calls into Cedar's wasm from crashing the process (see the module).
import './v8-wasm-calls.js';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { ACTIONS, ForgeOneError, type Action } from '@forgeone/contracts';
import { actionUid, contextFor, entitiesFor, principalUid, resourceUid, type AuthzPrincipal, type AuthzResource } from './authz-entities.js';
import { describeCedarError } from './cedar-error.format.js';
import { ACTION_RESOURCE_TYPES, FORGEONE_CEDAR_SCHEMA } from './cedar-schema.js';

/** A policy set as Cedar text (ids from `@id("...")` or numbered `policy0..n`) or as policies by id. */
export type PolicySetInput = string | Readonly<Record<string, string>>;

/** Policy ids a policy set may use (the same rule as the apply command's record keys). */
export const POLICY_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** A policy set that parsed (and, unless told otherwise, validated) and is pre-parsed, ready to activate. */
export interface PreparedPolicySet {
  readonly policies: Readonly<Record<string, string>>;
  readonly sha256: string;
  /** Cedar's warnings (e.g. a policy that can never match); they do not stop the set. */
  readonly warnings: readonly string[];
  /** Id of the pre-parsed set in Cedar's cache. */
  readonly preparsedId: string;
}

/** The set that decides now. */
export interface ActivePolicySet {
  readonly version: number;
  readonly policies: Readonly<Record<string, string>>;
  readonly sha256: string;
}

export interface AuthorizationRequest {
  readonly principal: AuthzPrincipal;
  readonly action: Action;
  readonly resource: AuthzResource;
  readonly context?: { readonly environment?: string };
}

export interface AuthorizationResult {
  readonly decision: 'allow' | 'deny';
  /** Policies that determined the decision; empty on a default deny. */
  readonly policyIds: string[];
  /** Evaluation errors (a policy that errored is skipped, so these never turn a deny into an allow). */
  readonly errors: string[];
  /** Version of the set that decided (0 when none is active). */
  readonly policyVersion: number;
}

export interface PrepareOptions {
  /** Validate against the schema (default true). Sets read back from history were validated when applied. */
  readonly validate?: boolean;
}

/** Splits Cedar text into policies by id: `@id("...")` where given, else Cedar's own `policy<n>`. */
export function splitPolicyText(text: string): { policies: Record<string, string>; offsets: Record<string, number> } {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw invalid(parts.errors.map((e) => describeCedarError(e, { text })));
  if (parts.policy_templates.length > 0) {
    throw invalid(['templates (policies with ?principal or ?resource slots) are not supported; write static policies']);
  }
  // Parts come back sorted by Cedar's id, and "policy10" sorts before "policy2".
  const cedarIds = parts.policies.map((_, i) => `policy${i}`).sort();
  const policies: Record<string, string> = {};
  const offsets: Record<string, number> = {};
  let searchFrom = 0;
  const ordered = parts.policies.map((policy, i) => ({ policy, cedarId: cedarIds[i], index: Number(cedarIds[i].slice('policy'.length)) }));
  ordered.sort((a, b) => a.index - b.index);
  for (const { policy, cedarId } of ordered) {
    const id = annotatedId(policy) ?? cedarId;
    if (!POLICY_ID_PATTERN.test(id)) throw invalid([`policy id "${id}" is not allowed: use 1-128 letters, digits, ".", "_" or "-"`]);
    if (Object.hasOwn(policies, id)) throw invalid([`two policies have the id "${id}"; every @id must be unique`]);
    policies[id] = policy;
    const at = text.indexOf(policy, searchFrom);
    offsets[id] = at >= 0 ? at : 0;
    if (at >= 0) searchFrom = at + policy.length;
  }
  return { policies, offsets };
}

function annotatedId(policy: string): string | undefined {
  const json = cedar.policyToJson(policy);
  return json.type === 'success' ? json.json.annotations?.id : undefined;
}

function invalid(problems: string[]): ForgeOneError {
  return new ForgeOneError('POLICY.INVALID', `the policy set is not valid Cedar: ${problems.join('; ')}`, { problems });
}

/** sha256 (hex) of a policy set, independent of the order of its ids. */
export function policySetSha256(policies: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify(Object.keys(policies).sort().map((id) => [id, policies[id]]));
  return createHash('sha256').update(canonical).digest('hex');
}

let instances = 0;

/**
 * Cedar behind ForgeOne: validates policy sets against {@link FORGEONE_CEDAR_SCHEMA}, keeps the
 * active set pre-parsed (parsed once per version, not per decision) and decides requests.
 * Deny by default: no active set, an unknown principal or no matching permit all deny.
 */
export class CedarPolicyEngine {
  private readonly schema: string;
  private readonly prefix: string;
  private counter = 0;
  private current?: ActivePolicySet & { readonly preparsedId: string };

  constructor(options: { readonly schema?: string } = {}) {
    this.schema = options.schema ?? FORGEONE_CEDAR_SCHEMA;
    // Cedar's cache is per process: names unique to this engine keep two engines (tests) apart.
    this.prefix = `forgeone-${++instances}-${randomBytes(4).toString('hex')}`;
    const parsed = cedar.checkParseSchema(this.schema);
    if (parsed.type === 'failure') {
      throw new Error(`the Cedar schema does not parse: ${parsed.errors.map((e) => describeCedarError(e, { text: this.schema })).join('; ')}`);
    }
  }

  /** The schema policies are validated against (Cedar schema syntax). */
  get schemaText(): string {
    return this.schema;
  }

  /** The active policy set, if any. */
  get active(): ActivePolicySet | undefined {
    if (!this.current) return undefined;
    const { version, policies, sha256 } = this.current;
    return { version, policies, sha256 };
  }

  /**
   * Parses `input` into policies by id. Throws POLICY.INVALID with Cedar's message (and where)
   * for malformed Cedar, templates, duplicate or bad ids, or an empty set.
   */
  parse(input: PolicySetInput): { policies: Record<string, string>; offsets: Record<string, number>; text?: string } {
    if (typeof input === 'string') {
      const split = splitPolicyText(input);
      if (Object.keys(split.policies).length === 0) throw invalid(['it contains no policy (an empty set would deny everything)']);
      return { ...split, text: input };
    }
    const ids = Object.keys(input);
    if (ids.length === 0) throw invalid(['it contains no policy (an empty set would deny everything)']);
    const problems: string[] = [];
    for (const id of ids) {
      if (!POLICY_ID_PATTERN.test(id)) problems.push(`policy id "${id}" is not allowed: use 1-128 letters, digits, ".", "_" or "-"`);
    }
    if (problems.length) throw invalid(problems);
    const checked = cedar.checkParsePolicySet({ staticPolicies: { ...input } });
    if (checked.type === 'failure') {
      throw invalid(checked.errors.map((e) => describeCedarError(e, { text: policyNamed(input, e.message) ?? '' })));
    }
    for (const id of ids) {
      const annotated = annotatedId(input[id]);
      if (annotated !== undefined && annotated !== id) problems.push(`policy "${id}" is annotated @id("${annotated}"); make them the same or drop the annotation`);
    }
    if (problems.length) throw invalid(problems);
    return { policies: { ...input }, offsets: Object.fromEntries(ids.map((id) => [id, 0])) };
  }

  /**
   * Parses, validates against the schema (POLICY.SCHEMA_VIOLATION with Cedar's messages) and
   * pre-parses a set without activating it: a refused set changes nothing.
   */
  prepare(input: PolicySetInput, options: PrepareOptions = {}): PreparedPolicySet {
    const { policies, offsets, text } = this.parse(input);
    const warnings: string[] = [];
    if (options.validate !== false) {
      const answer = cedar.validate({ schema: this.schema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
      if (answer.type === 'failure') {
        throw new ForgeOneError('POLICY.INVALID', `the policy set could not be validated: ${answer.errors.map((e) => describeCedarError(e)).join('; ')}`);
      }
      const where = (policyId: string) => ({ text: text ?? policies[policyId] ?? '', offset: text ? offsets[policyId] : 0 });
      if (answer.validationErrors.length > 0) {
        const problems = answer.validationErrors.map((v) => describeCedarError(v.error, where(v.policyId)));
        throw new ForgeOneError('POLICY.SCHEMA_VIOLATION', `the policy set does not match the ForgeOne schema: ${problems.join('; ')}`, { problems });
      }
      for (const w of answer.validationWarnings) warnings.push(describeCedarError(w.error, where(w.policyId)));
      for (const w of answer.otherWarnings) warnings.push(describeCedarError(w));
    }
    const preparsedId = `${this.prefix}-set-${++this.counter}`;
    const preparsed = cedar.preparsePolicySet(preparsedId, { staticPolicies: policies });
    if (preparsed.type === 'failure') throw invalid(preparsed.errors.map((e) => describeCedarError(e)));
    return { policies, sha256: policySetSha256(policies), warnings, preparsedId };
  }

  /** Makes a prepared set the one that decides, as `version`. */
  activate(prepared: PreparedPolicySet, version: number): ActivePolicySet {
    this.current = { version, policies: prepared.policies, sha256: prepared.sha256, preparsedId: prepared.preparsedId };
    return this.active!;
  }

  /** {@link prepare} then {@link activate}. */
  apply(input: PolicySetInput, version: number, options: PrepareOptions = {}): ActivePolicySet & { warnings: readonly string[] } {
    const prepared = this.prepare(input, options);
    return { ...this.activate(prepared, version), warnings: prepared.warnings };
  }

  /**
   * Decides one request with the active set. Throws COMMAND.INVALID for an unknown action or a
   * resource type the action does not apply to; every other failure is a deny with its errors.
   */
  authorize(request: AuthorizationRequest): AuthorizationResult {
    const { principal, action, resource } = request;
    const types = Object.hasOwn(ACTION_RESOURCE_TYPES, action) ? ACTION_RESOURCE_TYPES[action] : undefined;
    if (!types) {
      throw new ForgeOneError('COMMAND.INVALID', `unknown action "${String(action)}": use one of ${ACTIONS.join(', ')}`, { action });
    }
    if (!types.includes(resource.type)) {
      throw new ForgeOneError('COMMAND.INVALID', `action ${action} applies to ${types.join(' or ')} resources, not to a ${resource.type}`, {
        action,
        resourceType: resource.type,
      });
    }
    const active = this.current;
    if (!active) return { decision: 'deny', policyIds: [], errors: ['no policy set is active'], policyVersion: 0 };
    const answer = cedar.statefulIsAuthorized({
      principal: principalUid(principal),
      action: actionUid(action),
      resource: resourceUid(resource),
      context: contextFor(resource, request.context),
      // Entities are built here to the schema's shape and the action/resource pairing is checked
      // above; validating each request against the schema again would cost ~15% per decision.
      preparsedPolicySetId: active.preparsedId,
      entities: entitiesFor(principal, resource),
    });
    if (answer.type === 'failure') {
      return { decision: 'deny', policyIds: [], errors: answer.errors.map((e) => describeCedarError(e)), policyVersion: active.version };
    }
    const { decision, diagnostics } = answer.response;
    return {
      decision,
      policyIds: [...diagnostics.reason],
      errors: diagnostics.errors.map((e) => `${e.policyId}: ${describeCedarError(e.error)}`),
      policyVersion: active.version,
    };
  }
}

// Cedar names the failing policy in its message ("policy with id `x`"); its text locates the error.
function policyNamed(policies: Readonly<Record<string, string>>, message: string): string | undefined {
  const match = /policy with id `([^`]+)`/.exec(message);
  return match ? policies[match[1]] : undefined;
}
