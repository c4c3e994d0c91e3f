import { randomUUID } from 'node:crypto';
import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import {
  ForgeOneError,
  ListKeysRequestSchema,
  OWN_TENANT,
  parseOrThrow,
  RevokeKeyRequestSchema,
  SignStatementRequestSchema,
  TrustKeyRequestSchema,
  type Action,
  type TrustedKeyInfo,
} from '@forgeone/contracts';
import { keyIdOf, parsePublicKey, type SigningKeyProvider, type TrustedKey } from '@forgeone/signing';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { KeyTrustStore, type KeyCommandMetadata } from './key-trust.store.js';

/** Nest token of the platform's signing key provider (absent: the `sign` command is refused). */
export const SIGNING_KEY_PROVIDER = Symbol('SIGNING_KEY_PROVIDER');

// A revocation time a little ahead of this clock is still "now" on a caller's clock.
const CLOCK_SKEW_MS = 60_000;

/**
 * `forgeone.cmd.signer.*`: the tenant's trust store (trust, revoke, list) and signing with the
 * platform key. Every command asks policy first with the caller's token; the tenant is the
 * authenticated principal's, never taken from the request.
 */
@Controller()
export class KeyCommandsController {
  constructor(
    private readonly authz: AuthzClient,
    private readonly store: KeyTrustStore,
    @Inject(SIGNING_KEY_PROVIDER) private readonly signingKey: SigningKeyProvider | null,
  ) {}

  @MessagePattern('signer.trust_key')
  async trust(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const metadata = await this.authorizeOnTenant(ctx, 'trust-key');
    const request = parseOrThrow(TrustKeyRequestSchema, body, 'COMMAND.INVALID', 'the key trust request');
    const keyId = keyIdOf(parsePublicKey(request.publicKeyPem));
    const result = await this.store.execute(
      {
        type: 'TrustKey',
        data: {
          keyId,
          publicKeyPem: request.publicKeyPem,
          publisher: request.publisher,
          scope: request.scope ?? `${request.publisher}/*`,
          validFrom: request.validFrom ?? metadata.now.toISOString(),
          validUntil: request.validUntil ?? null,
          trustedBy: metadata.actor,
        },
      },
      metadata,
    );
    return { ...listed(result.key), eventId: result.eventId, sequence: result.sequence };
  }

  @MessagePattern('signer.revoke_key')
  async revoke(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const metadata = await this.authorizeOnTenant(ctx, 'revoke-key');
    const request = parseOrThrow(RevokeKeyRequestSchema, body, 'COMMAND.INVALID', 'the key revoke request');
    const revokedAt = request.revokedAt ?? metadata.now.toISOString();
    if (Date.parse(revokedAt) > metadata.now.getTime() + CLOCK_SKEW_MS) {
      throw new ForgeOneError('COMMAND.INVALID', `revokedAt ${revokedAt} is in the future; revoke now (leave it out) or at a past time`, { revokedAt });
    }
    const result = await this.store.execute({ type: 'RevokeKey', data: { keyId: request.keyId, revokedAt, reason: request.reason, revokedBy: metadata.actor } }, metadata);
    return { ...listed(result.key), eventId: result.eventId, sequence: result.sequence };
  }

  @MessagePattern('signer.list_keys')
  async list(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const metadata = await this.authorizeOnTenant(ctx, 'read');
    parseOrThrow(ListKeysRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the key list request');
    const store = await this.store.load(metadata.tenant);
    return { keys: [...store.keys.values()].map(listed) };
  }

  /** Signs a plugin statement with the platform key; the caller needs `sign` on the plugin the statement names. */
  @MessagePattern('signer.sign')
  async sign(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(SignStatementRequestSchema, body, 'COMMAND.INVALID', 'the sign request');
    await this.authz.authorize(ctx.credential, 'sign', { type: 'Plugin', id: request.statement.predicate.name }, sourceOf(ctx));
    if (!this.signingKey) {
      throw new ForgeOneError(
        'SIGNER.KEY_NOT_CONFIGURED',
        'the signer has no platform signing key: set FORGEONE_SIGNER_KEY_FILE (a PEM file from forgeone keys generate) or FORGEONE_SIGNER_KEY, or sign locally with forgeone plugin sign',
      );
    }
    return { envelope: await this.signingKey.signStatement(request.statement), keyId: await this.signingKey.keyId() };
  }

  private async authorizeOnTenant(ctx: BusContext, action: Action): Promise<KeyCommandMetadata> {
    const decision = await this.authz.authorize(ctx.credential, action, { type: 'Tenant', id: OWN_TENANT }, sourceOf(ctx));
    return { tenant: decision.principal.tenant, actor: decision.principal.id, now: new Date(), newId: randomUUID };
  }
}

// The client the forwarding service reports, for policy's count of failed authentications.
function sourceOf(ctx: BusContext): { source?: string } {
  const source = ctx.source;
  return source ? { source } : {};
}

function listed(key: TrustedKey): TrustedKeyInfo {
  return { ...key, trustedAt: key.trustedAt ?? key.validFrom };
}
