import { z } from 'zod';
import { EnvironmentSchema } from './manifest.js';

/** Roles shipped with the default policies (README, Roles). */
export const ROLES = ['admin', 'release-manager', 'developer', 'operator', 'auditor', 'approver', 'watcher'] as const;
export type Role = (typeof ROLES)[number];

/** Host hooks a plugin may be allowed to use; each is also a policy action (`hook:<name>`). */
export const HOOK_ACTIONS = ['hook:log', 'hook:metrics', 'hook:clock', 'hook:config', 'hook:storage', 'hook:http', 'hook:auth'] as const;

/** Every action policy decides on: one per command, the reads, and one per host hook. */
export const ACTIONS = [
  'publish',
  // Publishing an http allow-list that names a refused address (loopback, private, link-local, ...).
  'publish-private-egress',
  'sign',
  'install',
  'promote',
  'upgrade',
  'rollback',
  'remove',
  'invoke',
  'test',
  'review',
  'approve',
  'trust-key',
  'revoke-key',
  'apply-policy',
  'read-policy',
  'manage-tokens',
  'configure-recording',
  'read',
  'read-audit',
  'export-evidence',
  // Rebuilding every projection from the stream and swapping it in: the platform administrator's alone.
  'rebuild-projections',
  // Environments (signature mode, gating, approvals, soak, caps) and per-environment plugin configuration.
  'read-environment',
  'configure-environment',
  'read-plugin-config',
  'configure-plugin',
  // A tenant's own SIEM sinks (add, remove, test); listing them is read-audit.
  'configure-siem',
  // The plugins/ directory watcher records a drop it refused (on the Environment it watches into).
  'report-drop-rejected',
  // An install or upgrade into a gated environment without a promotion, for a recorded reason.
  'emergency-change',
  // Recording incidents and regulation changes, which make the plugins they name due for review.
  'record-incident',
  'record-regulation',
  ...HOOK_ACTIONS,
] as const;
export type Action = (typeof ACTIONS)[number];

/** Tenant ids and principal ids are pseudonymous handles: no '@', so an e-mail address cannot be one. */
export const TenantIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a tenant id: lowercase letters, digits and "-"');
export const PrincipalIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'must be an opaque id of lowercase letters, digits, ".", "_" or "-" (never an e-mail address or a name)');

export const ResourceSchema = z
  .object({
    type: z.enum(['Plugin', 'Environment', 'Tenant']),
    id: z.string().min(1).max(256),
    /** The tenant that owns the resource; policy compares it with the principal's. */
    tenant: TenantIdSchema,
    attributes: z
      .object({
        environment: EnvironmentSchema.optional(),
        tags: z.array(z.string().max(64)).max(64).optional(),
        classification: z.enum(['public', 'internal', 'confidential', 'restricted']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type Resource = z.infer<typeof ResourceSchema>;

/** The id of a Tenant resource that stands for the authenticated principal's own tenant. */
export const OWN_TENANT = '@own';

/**
 * The resource of an `authz.check`: a {@link ResourceSchema} whose `tenant` may be omitted, meaning
 * the authenticated principal's tenant. A Tenant owns itself, so a Tenant without `tenant` is the
 * tenant its id names, and the id {@link OWN_TENANT} (`"@own"`) is the principal's own tenant.
 */
export const AuthzCheckResourceSchema = ResourceSchema.extend({
  /** The tenant that owns the resource; omitted: the authenticated principal's (see {@link resolveAuthzResource}). */
  tenant: TenantIdSchema.optional(),
});
export type AuthzCheckResource = z.input<typeof AuthzCheckResourceSchema>;

/**
 * The resource an `authz.check` is about once the principal is known: `"@own"` as a Tenant id
 * becomes the principal's tenant; an omitted tenant becomes the Tenant's own id for a Tenant,
 * else the principal's tenant. Policy decides and records this resolved resource.
 */
export function resolveAuthzResource<R extends { readonly type: Resource['type']; readonly id: string; readonly tenant?: string }>(
  resource: R,
  principalTenant: string,
): R & { id: string; tenant: string } {
  const id = resource.type === 'Tenant' && resource.id === OWN_TENANT ? principalTenant : resource.id;
  const tenant = resource.tenant ?? (resource.type === 'Tenant' ? id : principalTenant);
  return { ...resource, id, tenant };
}

/** Longest credential any ForgeOne service accepts; a longer one is refused as unauthenticated unread. */
export const MAX_CREDENTIAL_LENGTH = 4096;

/** Where a request came from, as the service asking about it saw it (`http 203.0.113.7`); never trusted for access. */
export const RequestSourceSchema = z.string().min(1).max(256).regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'must be printable ASCII');

/**
 * Body of `forgeone.authz.check`; the end user's token travels as `credential`. `resource.tenant`
 * may be omitted for the caller's own tenant: the decision's `principal.tenant` says which it was.
 */
export const AuthzCheckRequestSchema = z
  .object({
    credential: z.string().max(MAX_CREDENTIAL_LENGTH).optional(),
    action: z.enum(ACTIONS),
    resource: AuthzCheckResourceSchema,
    context: z.object({ environment: EnvironmentSchema.optional() }).strict().default({}),
    /** Set by `policy check` (what-if): evaluate without recording a decision event. */
    dryRun: z.boolean().optional(),
    /**
     * The end user's client as the asking service knows it (the gateway: `http <address>`; a
     * service forwards what the gateway told it). Failed authentications are counted per source.
     */
    source: RequestSourceSchema.optional(),
  })
  .strict();
export type AuthzCheckRequest = z.input<typeof AuthzCheckRequestSchema>;

export const AuthenticatedPrincipalSchema = z.object({
  id: PrincipalIdSchema,
  type: z.enum(['user', 'service', 'plugin']),
  tenant: TenantIdSchema,
  roles: z.array(z.string()),
  /** Token id, for revocation and audit; never the secret. */
  tokenId: z.string().optional(),
});
export type AuthenticatedPrincipal = z.infer<typeof AuthenticatedPrincipalSchema>;

/** Reply of `forgeone.authz.check`: a decision always names the policies that decided it. */
export const AuthzDecisionSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  principal: AuthenticatedPrincipalSchema,
  /** Policy ids that determined the decision (empty on a default deny). */
  policyIds: z.array(z.string()),
  /** Version of the policy set that decided. */
  policyVersion: z.number().int(),
  decisionId: z.string(),
});
export type AuthzDecision = z.infer<typeof AuthzDecisionSchema>;

export const IDENTITY_EVENT_TYPES = {
  tokenIssued: 'io.forgeone.identity.token_issued.v1',
  tokenRevoked: 'io.forgeone.identity.token_revoked.v1',
} as const;

export const POLICY_EVENT_TYPES = {
  policySetApplied: 'io.forgeone.policy.policy_set_applied.v1',
  decisionRecorded: 'io.forgeone.policy.decision_recorded.v1',
  authenticationFailuresCounted: 'io.forgeone.policy.authentication_failures_counted.v1',
} as const;

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const TokenIssuedSchema = z
  .object({
    tokenId: z.string().regex(/^[a-z0-9]{8,64}$/),
    principal: PrincipalIdSchema,
    principalType: z.enum(['user', 'service']),
    role: z.enum(ROLES),
    tenant: TenantIdSchema,
    /** sha256 of the token secret; the secret itself is shown once and never stored. */
    secretHash: Sha256Hex,
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    issuedBy: z.string(),
  })
  .strict();

export const TokenRevokedSchema = z
  .object({ tokenId: z.string().regex(/^[a-z0-9]{8,64}$/), reason: z.string().min(1).max(1024), revokedBy: z.string() })
  .strict();

export const PolicySetAppliedSchema = z
  .object({
    version: z.number().int().positive(),
    /** Policies by id, in Cedar syntax. */
    policies: z.record(z.string(), z.string()),
    sha256: Sha256Hex,
    appliedBy: z.string(),
  })
  .strict();

export const DecisionRecordedSchema = z
  .object({
    decisionId: z.string(),
    decision: z.enum(['allow', 'deny']),
    principal: z.string(),
    principalTenant: z.string(),
    action: z.string(),
    resource: z.object({ type: z.string(), id: z.string(), tenant: z.string() }),
    environment: z.string().optional(),
    policyIds: z.array(z.string()),
    policyVersion: z.number().int(),
    /** Why, for denials that never reached policy evaluation (unknown or revoked token). */
    reason: z.string().optional(),
    /** For a failed authentication: the client, as the service that asked reported it (`http 203.0.113.7`, `bus`). */
    source: z.string().optional(),
    /** For a failed authentication: the ForgeOne service that asked (`service.gateway`), or `policy` for its own commands. */
    via: z.string().optional(),
  })
  .strict();

/**
 * Failed authentications of one source in one window beyond those recorded one by one as
 * `decision_recorded`: how many, and why. Written when the window closes (or the policy service stops).
 */
export const AuthenticationFailuresCountedSchema = z
  .object({
    /** The client as the asking service reported it (`http 203.0.113.7`, `bus`), or `other sources` past the tracking bound. */
    source: z.string(),
    /** The ForgeOne service that asked (`service.gateway`), or `policy` for its own commands. */
    via: z.string(),
    windowStart: z.iso.datetime(),
    windowEnd: z.iso.datetime(),
    /** Failures in the window that were not recorded one by one. */
    count: z.number().int().positive(),
    /** Failures of this source in the window that were recorded one by one. */
    recorded: z.number().int().nonnegative(),
    /** The counted failures by reason (`invalid token`, `malformed token`, `token revoked`, ...). */
    reasons: z.record(z.string(), z.number().int().positive()),
  })
  .strict();

/** Aggregate names of the identity and policy events. */
export const TOKEN_AGGREGATE = 'token';
export const POLICY_AGGREGATE = 'policy';
export const DECISION_AGGREGATE = 'decision';

export type PolicySetApplied = { readonly type: typeof POLICY_EVENT_TYPES.policySetApplied; readonly data: z.infer<typeof PolicySetAppliedSchema> };
export type TokenIssued = { readonly type: typeof IDENTITY_EVENT_TYPES.tokenIssued; readonly data: z.infer<typeof TokenIssuedSchema> };
export type TokenRevoked = { readonly type: typeof IDENTITY_EVENT_TYPES.tokenRevoked; readonly data: z.infer<typeof TokenRevokedSchema> };
/** The events of the `token` aggregate (one API token). */
export type TokenEvent = TokenIssued | TokenRevoked;
