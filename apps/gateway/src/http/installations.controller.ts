import type { ServerResponse } from 'node:http';
import { InstallPluginRequestSchema, RemovePluginRequestSchema, RollbackPluginRequestSchema, UpgradePluginRequestSchema, parseOrThrow } from '@forgeone/contracts';
import { API, type InstallationDryRunReply, type InstallationReply, type RouteInput } from '@forgeone/http-contract';
import { Controller, Res } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

type ChangeVerb = 'install' | 'upgrade' | 'rollback';

// /v1/environments/{env}/installations: install, upgrade, rollback and remove, each one registry
// command assembled from the path and the checked body. The registry authorises the command itself.
// `"dryRun": true` in the body of install, upgrade and rollback is the registry's dry run: 200 with
// what would happen, or the command's own error, and nothing changed.
@Controller()
export class InstallationsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  // 201 for an installation, 200 for a dry run that created nothing, so the status is set here.
  @ContractRoute(API.installPlugin)
  async install(@RouteRequest() { params, body, credential }: RouteInput<typeof API.installPlugin>, @Res() res: ServerResponse): Promise<void> {
    const command = parseOrThrow(InstallPluginRequestSchema, { ...body, environment: params.environment }, 'COMMAND.INVALID', 'the install request');
    const reply = await this.change('install', command, credential);
    res.statusCode = command.dryRun ? 200 : 201;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply));
  }

  @ContractRoute(API.upgradePlugin)
  upgrade(@RouteRequest() { params, body, credential }: RouteInput<typeof API.upgradePlugin>): Promise<InstallationReply | InstallationDryRunReply> {
    const command = parseOrThrow(UpgradePluginRequestSchema, { ...body, name: `${params.publisher}/${params.plugin}`, environment: params.environment }, 'COMMAND.INVALID', 'the upgrade request');
    return this.change('upgrade', command, credential);
  }

  // A rollback is not a PUT of a lower version: it is its own action in policy and carries a reason.
  @ContractRoute(API.rollbackPlugin)
  rollback(@RouteRequest() { params, body, credential }: RouteInput<typeof API.rollbackPlugin>): Promise<InstallationReply | InstallationDryRunReply> {
    const command = parseOrThrow(RollbackPluginRequestSchema, { ...body, name: `${params.publisher}/${params.plugin}`, environment: params.environment }, 'COMMAND.INVALID', 'the rollback request');
    return this.change('rollback', command, credential);
  }

  @ContractRoute(API.removePlugin)
  remove(@RouteRequest() { params, credential }: RouteInput<typeof API.removePlugin>): Promise<InstallationReply> {
    const command = parseOrThrow(RemovePluginRequestSchema, { name: `${params.publisher}/${params.plugin}`, environment: params.environment }, 'COMMAND.INVALID', 'the remove request');
    return this.commands.send('remove', command, credential);
  }

  private change(verb: ChangeVerb, command: { dryRun?: boolean }, credential: string): Promise<InstallationReply | InstallationDryRunReply> {
    return command.dryRun ? this.commands.dryRun<InstallationDryRunReply>(verb, command, credential) : this.commands.send<InstallationReply>(verb, command, credential);
  }
}
