import { ForgeOneError, type ErrorCode } from './errors.js';
import { SIGNATURE_REASONS } from './signing.js';

/**
 * The error catalogue: for every command and query a service decides, the codes it may answer
 * besides transport failures. The HTTP contract documents exactly these per route (plus the
 * gateway's own), and code that refuses a command builds its error with {@link refusalOf}, so it
 * cannot raise a code its command does not declare.
 */

// Who the caller is and whether policy allows it: asked by whichever service decides the request.
export const AUTHORISATION_ERRORS = ['AUTH.UNAUTHENTICATED', 'AUTH.TOKEN_EXPIRED', 'AUTH.TOKEN_REVOKED', 'AUTHZ.DENIED', 'AUTHZ.UNAVAILABLE'] as const;
// Appending to the event store: a writer that kept losing the optimistic-concurrency race, or JetStream down.
const APPEND_ERRORS = ['EVENTSTORE.CONFLICT', 'EVENTSTORE.UNAVAILABLE'] as const;
// The service validates the command it receives again (the bus is an entry point of its own).
const SHAPE_ERRORS = ['COMMAND.INVALID'] as const;

/** What a signature envelope about to be published can be refused for (docs/signing.md). */
export const ENVELOPE_REASONS = ['SIGNATURE.TOO_LARGE', 'SIGNATURE.MALFORMED', 'SIGNATURE.UNKNOWN_PAYLOAD_TYPE'] as const;
/** What a strict environment refuses a version for: every reason a stored signature can fail with. */
export const VERIFICATION_REASONS = SIGNATURE_REASONS;

const REGISTRY_COMMAND = [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, ...APPEND_ERRORS] as const;
const NEEDS_PUBLISHED_VERSION = ['REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.VERSION_NOT_FOUND'] as const;

export const COMMAND_ERRORS = {
  // registry
  publish: [
    ...REGISTRY_COMMAND,
    'REGISTRY.MANIFEST_INVALID',
    'REGISTRY.WASM_INVALID',
    'REGISTRY.ABI_MISMATCH',
    'REGISTRY.PRIVATE_EGRESS_REFUSED',
    'REGISTRY.VERSION_EXISTS',
    ...ENVELOPE_REASONS,
  ],
  install: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'REGISTRY.ALREADY_INSTALLED', 'REGISTRY.DOWNGRADE_REFUSED', 'REGISTRY.GATED_ENVIRONMENT', ...VERIFICATION_REASONS],
  upgrade: [
    ...REGISTRY_COMMAND,
    ...NEEDS_PUBLISHED_VERSION,
    'REGISTRY.NOT_INSTALLED',
    'REGISTRY.NOT_AN_UPGRADE',
    'REGISTRY.DOWNGRADE_REFUSED',
    'REGISTRY.GATED_ENVIRONMENT',
    ...VERIFICATION_REASONS,
    'REVIEW.REQUIRED',
  ],
  rollback: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'REGISTRY.NOT_INSTALLED', 'REGISTRY.NOT_A_ROLLBACK', ...VERIFICATION_REASONS],
  remove: [...REGISTRY_COMMAND, 'REGISTRY.PLUGIN_NOT_FOUND', 'REGISTRY.NOT_INSTALLED'],
  listEnvironments: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  showEnvironment: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  setEnvironment: [...REGISTRY_COMMAND, 'ENVIRONMENT.INVALID'],
  confirmEnvironment: [...REGISTRY_COMMAND, 'ENVIRONMENT.NO_PROPOSAL', 'ENVIRONMENT.PROPOSAL_STALE', 'ENVIRONMENT.SAME_ADMIN'],
  setPluginConfig: [...REGISTRY_COMMAND, 'REGISTRY.PLUGIN_NOT_FOUND', 'PLUGIN_CONFIG.SECRETS_UNAVAILABLE'],
  unsetPluginConfig: [...REGISTRY_COMMAND, 'PLUGIN_CONFIG.KEY_NOT_FOUND'],
  listPluginConfig: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  approvePluginConfig: [...REGISTRY_COMMAND, 'PLUGIN_CONFIG.NO_CHANGE', 'PLUGIN_CONFIG.OWN_CHANGE', 'PLUGIN_CONFIG.KEY_NOT_FOUND'],
  rejectPluginConfig: [...REGISTRY_COMMAND, 'PLUGIN_CONFIG.NO_CHANGE'],
  reportDropRejected: [...REGISTRY_COMMAND],
  addSiemSink: [...REGISTRY_COMMAND, 'SIEM.SINK_EXISTS', 'SIEM.SINK_ADDRESS_REFUSED', 'SIEM.SINK_UNRESOLVABLE', 'PLUGIN_CONFIG.SECRETS_UNAVAILABLE'],
  removeSiemSink: [...REGISTRY_COMMAND, 'SIEM.SINK_NOT_FOUND'],
  listSiemSinks: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  approve: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'APPROVAL.NOT_GATED', 'APPROVAL.OWN_VERSION', 'APPROVAL.REGRESSIONS_NOT_ACCEPTED'],
  reject: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'APPROVAL.NOT_GATED'],
  promote: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'PROMOTION.GATES_UNMET'],
  testPlugin: [...REGISTRY_COMMAND, ...NEEDS_PUBLISHED_VERSION, 'REGISTRY.NOT_INSTALLED', 'REGISTRY.VERSION_NOT_INSTALLED'],
  recordReview: [...REGISTRY_COMMAND, 'REGISTRY.PLUGIN_NOT_FOUND', 'REVIEW.SELF_REVIEW'],
  recordIncident: [...REGISTRY_COMMAND, 'REGISTRY.PLUGIN_NOT_FOUND'],
  recordRegulation: [...REGISTRY_COMMAND, 'REGISTRY.PLUGIN_NOT_FOUND'],
  listReviews: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  showReview: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE', 'REGISTRY.PLUGIN_NOT_FOUND'],
  // sandbox-runner
  invoke: [
    ...SHAPE_ERRORS,
    ...AUTHORISATION_ERRORS,
    'SANDBOX.NOT_FOUND',
    'SANDBOX.GUEST_ERROR',
    'SANDBOX.FUEL_EXHAUSTED',
    'SANDBOX.MEMORY_LIMIT',
    'SANDBOX.STACK_OVERFLOW',
    'SANDBOX.TIMEOUT',
    'SANDBOX.TRAP',
    'SANDBOX.OUT_OF_BOUNDS',
    'SANDBOX.OUTPUT_TOO_LARGE',
    'SANDBOX.INPUT_TOO_LARGE',
    'SANDBOX.CAPABILITY_DENIED',
    'SANDBOX.OVERLOADED',
    'SANDBOX.MODULE_REJECTED',
  ],
  // The usage counters live in JetStream's key/value store, which may be out of reach.
  pluginStorage: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  // policy
  applyPolicies: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'POLICY.INVALID', 'POLICY.SCHEMA_VIOLATION', 'POLICY.CONFLICT'],
  showPolicies: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS],
  checkPolicy: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'IDENTITY.TOKEN_NOT_FOUND'],
  createToken: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'IDENTITY.UNKNOWN_ROLE'],
  listTokens: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS],
  revokeToken: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'IDENTITY.TOKEN_NOT_FOUND'],
  setCallRecording: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, ...APPEND_ERRORS],
  // signer
  trustKey: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, ...APPEND_ERRORS, 'KEY.INVALID', 'KEY.ALREADY_TRUSTED', 'KEY.ALREADY_REVOKED'],
  listKeys: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'EVENTSTORE.UNAVAILABLE'],
  revokeKey: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, ...APPEND_ERRORS, 'KEY.NOT_FOUND', 'KEY.ALREADY_REVOKED'],
  // audit-projector: sign an evidence manifest with the audit key and record the export
  signEvidence: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, ...APPEND_ERRORS, 'SERVICE.UNAVAILABLE'],
  // siem-forwarder
  siemStatus: [...AUTHORISATION_ERRORS],
  testSiemSink: [...SHAPE_ERRORS, ...AUTHORISATION_ERRORS, 'SIEM.SINK_NOT_FOUND', 'SIEM.SINK_ADDRESS_REFUSED', 'SIEM.SINK_TEST_FAILED'],
} as const satisfies Record<string, readonly ErrorCode[]>;

/** The queries the gateway answers from the projections, authorised by the gateway itself. */
export const QUERY_ERRORS = {
  listPlugins: [...AUTHORISATION_ERRORS],
  showPlugin: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
  pluginHistory: [...AUTHORISATION_ERRORS],
  auditLog: [...AUTHORISATION_ERRORS],
  auditCheckpoint: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
  auditInclusionProof: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
  auditConsistencyProof: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
  auditKey: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
  auditVerify: [...AUTHORISATION_ERRORS, 'AUDIT.KEY_INVALID'],
  report: [...AUTHORISATION_ERRORS],
  listTestRuns: [...AUTHORISATION_ERRORS],
  // The export streams from the projections; the audit-projector's refusals when it signs arrive as the stream's error line.
  evidenceExport: [...AUTHORISATION_ERRORS, 'QUERY.NOT_FOUND'],
} as const satisfies Record<string, readonly ErrorCode[]>;

export type CommandName = keyof typeof COMMAND_ERRORS;
export type QueryName = keyof typeof QUERY_ERRORS;
/** The codes command `C` may answer. */
export type CommandErrorCode<C extends CommandName> = (typeof COMMAND_ERRORS)[C][number];
/** The codes query `Q` may answer. */
export type QueryErrorCode<Q extends QueryName> = (typeof QUERY_ERRORS)[Q][number];

/** A refusal whose code is one of a catalogue's: `refusalOf(COMMAND_ERRORS.publish)('REGISTRY.VERSION_EXISTS', ...)`. */
export function refusalOf<const T extends readonly ErrorCode[]>(_catalogue: T): (code: T[number], message: string, details?: Record<string, unknown>) => ForgeOneError {
  return (code, message, details) => new ForgeOneError(code, message, details);
}
