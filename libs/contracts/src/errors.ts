/**
 * Every failure that crosses a service boundary is a {@link ForgeOneError}: a stable
 * machine code (`AREA.REASON`), a message that says what was wrong and what to do,
 * and optional details. Adapters map the code to an HTTP status or a bus reply.
 */
export class ForgeOneError extends Error {
  override readonly name: string = 'ForgeOneError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toReply(): ErrorReply {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** The wire shape of a failed command reply (docs/bus.md). */
export interface ErrorReply {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Record<string, unknown> };
}

export function isErrorReply(value: unknown): value is ErrorReply {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}

/** Error codes with the HTTP status the gateway answers them with. */
export const ERROR_CODES = {
  'COMMAND.INVALID': 400,
  'COMMAND.UNKNOWN': 404,
  'COMMAND.TOO_LARGE': 413,
  'REGISTRY.MANIFEST_INVALID': 400,
  'REGISTRY.WASM_INVALID': 400,
  'REGISTRY.ABI_MISMATCH': 400,
  'REGISTRY.VERSION_EXISTS': 409,
  'REGISTRY.VERSION_NOT_FOUND': 404,
  'REGISTRY.PLUGIN_NOT_FOUND': 404,
  'REGISTRY.NOT_INSTALLED': 409,
  'REGISTRY.ALREADY_INSTALLED': 409,
  'REGISTRY.NOT_AN_UPGRADE': 409,
  // Rollback protection (ARCHITECTURE.md, Registry): below the highest version an environment has had, only `rollback` goes.
  'REGISTRY.DOWNGRADE_REFUSED': 409,
  'REGISTRY.NOT_A_ROLLBACK': 409,
  // The http allow-list names an address plugins may not reach (loopback, private, link-local, ...)
  // and the publisher is not allowed publish-private-egress.
  'REGISTRY.PRIVATE_EGRESS_REFUSED': 403,
  'REGISTRY.ARTIFACT_CORRUPT': 500,
  'REGISTRY.ARTIFACT_MISSING': 500,
  // A test run names a version other than the one installed in its environment (it runs the installed digest only).
  'REGISTRY.VERSION_NOT_INSTALLED': 409,
  // Environment settings: a contradictory change (gated from itself, gated with no source environment).
  'ENVIRONMENT.INVALID': 400,
  // Confirming when no weakening waits, or one proposed against settings that have changed since.
  'ENVIRONMENT.NO_PROPOSAL': 409,
  'ENVIRONMENT.PROPOSAL_STALE': 409,
  // A weakening of a gated environment needs a second, different administrator.
  'ENVIRONMENT.SAME_ADMIN': 403,
  'PLUGIN_CONFIG.KEY_NOT_FOUND': 404,
  // Approving or rejecting a configuration change that does not wait (never proposed, applied, rejected or replaced).
  'PLUGIN_CONFIG.NO_CHANGE': 404,
  // A configuration change of a gated environment needs another principal: not its proposer, nor one holding a token the proposer issued.
  'PLUGIN_CONFIG.OWN_CHANGE': 403,
  // Promotion (docs/environments.md): a gated environment takes versions by promotion (or an emergency change);
  // a promotion refused lists every unmet gate (PROMOTION_GATE_CODES) in its details.
  'REGISTRY.GATED_ENVIRONMENT': 409,
  'PROMOTION.GATES_UNMET': 409,
  // Separation of duties: a publisher may not approve their own version.
  'APPROVAL.OWN_VERSION': 403,
  // The latest test run in the source environment flagged regressions: the approval must accept them explicitly.
  'APPROVAL.REGRESSIONS_NOT_ACCEPTED': 409,
  // Approvals are for gated environments only.
  'APPROVAL.NOT_GATED': 409,
  // Reviews: the upgrade of an overdue plugin in a gated environment waits for an approved review;
  // nobody reviews a version they published.
  'REVIEW.REQUIRED': 409,
  'REVIEW.SELF_REVIEW': 403,
  // A secret was to be sealed or opened by a service that was not given the configuration key.
  'PLUGIN_CONFIG.SECRETS_UNAVAILABLE': 503,
  // Tenant SIEM sinks: a name already used, a sink that does not exist, an address tenant sinks may not reach
  // (REFUSED_ADDRESS_RANGES unless the platform opened it), a name that does not resolve, a test message not delivered.
  'SIEM.SINK_EXISTS': 409,
  'SIEM.SINK_NOT_FOUND': 404,
  'SIEM.SINK_ADDRESS_REFUSED': 403,
  'SIEM.SINK_UNRESOLVABLE': 400,
  'SIEM.SINK_TEST_FAILED': 502,
  'EVENTSTORE.CONFLICT': 409,
  'EVENTSTORE.UNAVAILABLE': 503,
  'EVENTSTORE.EVENT_INVALID': 500,
  // A stored event its aggregate's owner did not write (or a replay of one): never applied.
  'EVENTSTORE.FORGED': 500,
  'AUTH.UNAUTHENTICATED': 401,
  'AUTH.TOKEN_EXPIRED': 401,
  'AUTH.TOKEN_REVOKED': 401,
  // Too many failed authentications from one client address: wait for Retry-After.
  'AUTH.TOO_MANY_FAILURES': 429,
  'AUTHZ.DENIED': 403,
  'AUTHZ.UNAVAILABLE': 503,
  'POLICY.INVALID': 400,
  'POLICY.SCHEMA_VIOLATION': 400,
  'POLICY.CONFLICT': 409,
  'IDENTITY.UNKNOWN_ROLE': 400,
  'IDENTITY.TOKEN_NOT_FOUND': 404,
  'SERVICE.UNAVAILABLE': 503,
  'SERVICE.TIMEOUT': 504,
  'SERVICE.INTERNAL': 500,
  'QUERY.INVALID': 400,
  'QUERY.NOT_FOUND': 404,
  'PROJECTION.GAP': 500,
  'PROJECTION.POISON_EVENT': 500,
  'PROJECTION.AUDIT_CONFLICT': 500,
  // `forgeone admin rebuild`: one rebuild at a time per database; a status asked for an id this projector never ran.
  'REBUILD.IN_PROGRESS': 409,
  'REBUILD.NOT_FOUND': 404,
  'HTTP.NOT_FOUND': 404,
  'HTTP.METHOD_NOT_ALLOWED': 405,
  // A plugin call hit a sandbox limit or failed inside the guest (each also yields a sandbox_violation
  // or invocation_failed event); 422 = the plugin could not process this input within its limits.
  'SANDBOX.FUEL_EXHAUSTED': 422,
  'SANDBOX.MEMORY_LIMIT': 422,
  'SANDBOX.STACK_OVERFLOW': 422,
  'SANDBOX.GUEST_ERROR': 422,
  'SANDBOX.TIMEOUT': 504,
  'SANDBOX.TRAP': 502,
  'SANDBOX.OUT_OF_BOUNDS': 502,
  'SANDBOX.OUTPUT_TOO_LARGE': 502,
  'SANDBOX.INPUT_TOO_LARGE': 413,
  'SANDBOX.CAPABILITY_DENIED': 403,
  'SANDBOX.OVERLOADED': 503,
  'SANDBOX.MODULE_REJECTED': 422,
  'SANDBOX.NOT_FOUND': 404,
  // Storage refusals of a plugin's kv_set: the runner's hook throws them and the guest sees status -6 / -5.
  'SANDBOX.STORAGE_QUOTA_EXCEEDED': 422,
  'SANDBOX.STORAGE_VALUE_TOO_LARGE': 413,
  // Plugin signatures (docs/signing.md): each reason a signature does not verify is its own code.
  // 400/413: the envelope itself is unusable; 422: it is well formed but does not vouch for this plugin.
  'SIGNATURE.MISSING': 422,
  'SIGNATURE.MALFORMED': 400,
  'SIGNATURE.TOO_LARGE': 413,
  'SIGNATURE.UNKNOWN_PAYLOAD_TYPE': 400,
  'SIGNATURE.INVALID': 422,
  'SIGNATURE.UNTRUSTED_KEY': 422,
  'SIGNATURE.KEY_REVOKED': 422,
  'SIGNATURE.KEY_EXPIRED': 422,
  'SIGNATURE.OUT_OF_SCOPE': 422,
  'SIGNATURE.WASM_DIGEST_MISMATCH': 422,
  'SIGNATURE.MANIFEST_DIGEST_MISMATCH': 422,
  'SIGNATURE.PREDICATE_MISMATCH': 422,
  'SIGNATURE.STATEMENT_EXPIRED': 422,
  'SIGNATURE.THRESHOLD_NOT_MET': 422,
  // The trust store held by the signer.
  'KEY.NOT_FOUND': 404,
  'KEY.ALREADY_TRUSTED': 409,
  'KEY.ALREADY_REVOKED': 409,
  'KEY.INVALID': 400,
  // The signer has no platform signing key configured (FORGEONE_SIGNER_KEY_FILE / FORGEONE_SIGNER_KEY).
  'SIGNER.KEY_NOT_CONFIGURED': 503,
  // The author's tools on one machine (forgeone plugin build / test --local): never sent by a service.
  'PLUGIN.BUILD_FAILED': 422,
  'PLUGIN.TEST_FAILED': 422,
  // An auditor's check of the audit log in the CLI (forgeone audit prove): never sent by a service.
  'AUDIT.PROOF_INVALID': 422,
  'AUDIT.CHECKPOINT_INVALID': 422,
  // POST /v1/audit-log/verify: the key sent to check checkpoints with is not an Ed25519 public key (SPKI PEM).
  'AUDIT.KEY_INVALID': 400,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function httpStatusFor(code: string): number {
  return (ERROR_CODES as Record<string, number>)[code] ?? 500;
}
