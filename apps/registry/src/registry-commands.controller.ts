import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import {
  InstallPluginRequestSchema,
  parseOrThrow,
  PublishPluginVersionRequestSchema,
  RemovePluginRequestSchema,
  RollbackPluginRequestSchema,
  UpgradePluginRequestSchema,
  type SignaturePolicy,
  type StorageQuotaSettings,
} from '@forgeone/contracts';
import { ArtifactStore, JetStreamEventStore, sha256Digest } from '@forgeone/event-store';
import {
  installPlugin,
  publishPluginVersion,
  removePlugin,
  rollbackPlugin,
  upgradePlugin,
  type CommandContext,
  type RegistryPorts,
} from '@forgeone/registry-domain';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { PolicyAuthorizer } from './policy.authorizer.js';
import { SignatureVerifierAdapter } from './signature-verifier.adapter.js';

/** Nest token of the registry's signature policy (FORGEONE_SIGNATURE_POLICY). */
export const SIGNATURE_POLICY = Symbol('SIGNATURE_POLICY');
/** Nest token of the registry's storage quota settings (FORGEONE_STORAGE_*). */
export const STORAGE_QUOTA = Symbol('STORAGE_QUOTA');

/** Bus adapter for `forgeone.cmd.registry.*`: validate the request shape, run the use case (which asks policy first), reply. */
@Controller()
export class RegistryCommandsController {
  private readonly ports: RegistryPorts;

  constructor(
    events: JetStreamEventStore,
    artifacts: ArtifactStore,
    authz: AuthzClient,
    @Inject(SIGNATURE_POLICY) signaturePolicy: SignaturePolicy,
    @Inject(STORAGE_QUOTA) storageQuota: StorageQuotaSettings,
  ) {
    this.ports = {
      events,
      artifacts,
      sha256: sha256Digest,
      authorizer: new PolicyAuthorizer(authz),
      signatures: new SignatureVerifierAdapter(events, artifacts),
      signaturePolicy,
      storageQuota,
    };
  }

  @MessagePattern('registry.publish')
  publish(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(PublishPluginVersionRequestSchema, body, 'COMMAND.INVALID', 'the publish request');
    return publishPluginVersion(this.ports, request, contextOf(ctx));
  }

  @MessagePattern('registry.install')
  install(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(InstallPluginRequestSchema, body, 'COMMAND.INVALID', 'the install request');
    return installPlugin(this.ports, request, contextOf(ctx));
  }

  @MessagePattern('registry.upgrade')
  upgrade(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(UpgradePluginRequestSchema, body, 'COMMAND.INVALID', 'the upgrade request');
    return upgradePlugin(this.ports, request, contextOf(ctx));
  }

  @MessagePattern('registry.rollback')
  rollback(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RollbackPluginRequestSchema, body, 'COMMAND.INVALID', 'the rollback request');
    return rollbackPlugin(this.ports, request, contextOf(ctx));
  }

  @MessagePattern('registry.remove')
  remove(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RemovePluginRequestSchema, body, 'COMMAND.INVALID', 'the remove request');
    return removePlugin(this.ports, request, contextOf(ctx));
  }
}

// Only the credential (and, for counting failed authentications, the reported source) is taken from
// the request; who the caller is and which tenant it acts in come from policy.
function contextOf(ctx: BusContext): CommandContext {
  const source = ctx.source;
  return { credential: ctx.credential, now: new Date(), newId: randomUUID, ...(source ? { source } : {}) };
}
