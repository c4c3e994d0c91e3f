import { BusContext } from '@forgeone/bus';
import {
  InstallPluginRequestSchema,
  parseOrThrow,
  PublishPluginVersionRequestSchema,
  RemovePluginRequestSchema,
  UpgradePluginRequestSchema,
} from '@forgeone/contracts';
import { ArtifactStore, JetStreamEventStore, sha256Digest } from '@forgeone/event-store';
import { installPlugin, publishPluginVersion, removePlugin, upgradePlugin, type CommandMetadata, type RegistryPorts } from '@forgeone/registry-domain';
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { PluginEventStreamAdapter } from './plugin-event-stream.adapter.js';

/** Bus adapter for `forgeone.cmd.registry.*`: validate the request, run the use case, reply. */
@Controller()
export class RegistryCommandsController {
  private readonly ports: RegistryPorts;

  constructor(events: JetStreamEventStore, artifacts: ArtifactStore) {
    this.ports = { plugins: new PluginEventStreamAdapter(events), artifacts, sha256: sha256Digest };
  }

  @MessagePattern('registry.publish')
  publish(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(PublishPluginVersionRequestSchema, body, 'COMMAND.INVALID', 'the publish request');
    return publishPluginVersion(this.ports, request, metadataOf(ctx));
  }

  @MessagePattern('registry.install')
  install(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(InstallPluginRequestSchema, body, 'COMMAND.INVALID', 'the install request');
    return installPlugin(this.ports.plugins, request, metadataOf(ctx));
  }

  @MessagePattern('registry.upgrade')
  upgrade(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(UpgradePluginRequestSchema, body, 'COMMAND.INVALID', 'the upgrade request');
    return upgradePlugin(this.ports.plugins, request, metadataOf(ctx));
  }

  @MessagePattern('registry.remove')
  remove(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RemovePluginRequestSchema, body, 'COMMAND.INVALID', 'the remove request');
    return removePlugin(this.ports.plugins, request, metadataOf(ctx));
  }
}

// Until principals are authenticated every command is recorded as the anonymous actor of the default tenant.
function metadataOf(_ctx: BusContext): CommandMetadata {
  return { actor: 'anonymous', tenant: 'default', now: new Date(), newId: randomUUID };
}
