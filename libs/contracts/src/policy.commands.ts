import { z } from 'zod';
import { ACTIONS, PrincipalIdSchema, ResourceSchema, ROLES, TenantIdSchema } from './authz.js';
import { EnvironmentSchema } from './manifest.js';

/** Verbs of `forgeone.cmd.policy.<verb>`. */
export const POLICY_VERBS = {
  apply: 'apply',
  show: 'show',
  check: 'check',
  tokenCreate: 'token_create',
  tokenRevoke: 'token_revoke',
  tokenList: 'token_list',
  callRecordingSet: 'call_recording_set',
} as const;

/** Apply a policy set: Cedar text (ids come from `@id("...")` annotations or are numbered) or policies by id. */
export const ApplyPolicySetRequestSchema = z
  .object({
    policies: z.union([z.string().min(1).max(1024 * 1024), z.record(z.string().regex(/^[A-Za-z0-9._-]{1,128}$/), z.string().min(1))]),
    /** The version the caller saw (`policy show`); a stale one is refused with POLICY.CONFLICT. */
    expectedVersion: z.number().int().min(0).optional(),
  })
  .strict();

export const PolicySetReplySchema = z.object({
  version: z.number().int(),
  sha256: z.string(),
  policies: z.record(z.string(), z.string()),
  appliedAt: z.string().optional(),
  appliedBy: z.string().optional(),
});

/** What-if: would `principal` (with its role and tenant) be allowed `action` on `resource`? */
export const PolicyCheckRequestSchema = z
  .object({
    principal: PrincipalIdSchema,
    /** Defaults to the principal's current role and tenant from its newest active token. */
    role: z.enum(ROLES).optional(),
    tenant: TenantIdSchema.optional(),
    action: z.enum(ACTIONS),
    resource: ResourceSchema,
    environment: EnvironmentSchema.optional(),
  })
  .strict();

export const PolicyCheckReplySchema = z.object({
  decision: z.enum(['allow', 'deny']),
  policyIds: z.array(z.string()),
  policyVersion: z.number().int(),
  errors: z.array(z.string()),
});

export const CreateTokenRequestSchema = z
  .object({
    principal: PrincipalIdSchema,
    role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
    principalType: z.enum(['user', 'service']).default('user'),
    /** Defaults to the caller's tenant; another tenant needs a platform administrator. */
    tenant: TenantIdSchema.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const CreateTokenReplySchema = z.object({
  tokenId: z.string(),
  /** The token itself: shown in this reply only, stored nowhere. */
  token: z.string(),
  principal: z.string(),
  role: z.string(),
  tenant: z.string(),
  expiresAt: z.string().optional(),
});

export const RevokeTokenRequestSchema = z.object({ tokenId: z.string().regex(/^[a-z0-9]{8,64}$/), reason: z.string().min(1).max(1024) }).strict();

export const TokenListReplySchema = z.object({
  tokens: z.array(
    z.object({
      tokenId: z.string(),
      principal: z.string(),
      principalType: z.string(),
      role: z.string(),
      tenant: z.string(),
      issuedAt: z.string(),
      expiresAt: z.string().optional(),
      revokedAt: z.string().optional(),
      revokedReason: z.string().optional(),
    }),
  ),
});

export type ApplyPolicySetRequest = z.input<typeof ApplyPolicySetRequestSchema>;
export type PolicyCheckRequest = z.input<typeof PolicyCheckRequestSchema>;
export type CreateTokenRequest = z.input<typeof CreateTokenRequestSchema>;
export type RevokeTokenRequest = z.input<typeof RevokeTokenRequestSchema>;
