import type { ServerResponse } from 'node:http';
import { InstallPluginRequestSchema, RemovePluginRequestSchema, RollbackPluginRequestSchema, UpgradePluginRequestSchema, parseOrThrow } from '@forgeone/contracts';
import { Body, Controller, Delete, Headers, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { requireCredential } from './bearer-credential.js';
import { InstallBodySchema, RollbackBodySchema, UpgradeBodySchema, type InstallationDryRunReply, type InstallationReply } from './http-api.schemas.js';
import { parseBody } from './request.parsers.js';

type ChangeVerb = 'install' | 'upgrade' | 'rollback';

// /v1/environments/{env}/installations: install, upgrade, rollback and remove, each one registry command.
// A request without a token is refused first; then the body is checked (unknown fields are named)
// and the command assembled with the path. The registry authorises the command itself.
// `"dryRun": true` in the body of install, upgrade and rollback is the registry's dry run: 200 with
// what would happen, or the command's own error, and nothing changed.
@Controller('v1/environments/:environment/installations')
export class InstallationsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  // 201 for an installation, 200 for a dry run that created nothing, so the status is set here.
  @Post()
  async install(
    @Param('environment') environment: string,
    @Body() body: unknown,
    @Res() res: ServerResponse,
    @Headers('authorization') authorization?: string,
  ): Promise<void> {
    const credential = requireCredential(authorization);
    const fields = parseBody(InstallBodySchema, body, 'the install request');
    const command = parseOrThrow(InstallPluginRequestSchema, { ...fields, environment }, 'COMMAND.INVALID', 'the install request');
    const reply = await this.change('install', command, credential);
    res.statusCode = command.dryRun ? 200 : 201;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply));
  }

  @Put(':publisher/:plugin')
  upgrade(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<InstallationReply | InstallationDryRunReply> {
    const credential = requireCredential(authorization);
    const fields = parseBody(UpgradeBodySchema, body, 'the upgrade request');
    const command = parseOrThrow(UpgradePluginRequestSchema, { ...fields, name: `${publisher}/${plugin}`, environment }, 'COMMAND.INVALID', 'the upgrade request');
    return this.change('upgrade', command, credential);
  }

  // A rollback is not a PUT of a lower version: it is its own action in policy and carries a reason.
  @Post(':publisher/:plugin/rollback')
  @HttpCode(200)
  rollback(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<InstallationReply | InstallationDryRunReply> {
    const credential = requireCredential(authorization);
    const fields = parseBody(RollbackBodySchema, body, 'the rollback request');
    const command = parseOrThrow(RollbackPluginRequestSchema, { ...fields, name: `${publisher}/${plugin}`, environment }, 'COMMAND.INVALID', 'the rollback request');
    return this.change('rollback', command, credential);
  }

  @Delete(':publisher/:plugin')
  remove(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Headers('authorization') authorization?: string,
  ): Promise<InstallationReply> {
    const credential = requireCredential(authorization);
    const command = parseOrThrow(RemovePluginRequestSchema, { name: `${publisher}/${plugin}`, environment }, 'COMMAND.INVALID', 'the remove request');
    return this.commands.send('remove', command, credential);
  }

  private change(verb: ChangeVerb, command: { dryRun?: boolean }, credential: string | undefined): Promise<InstallationReply | InstallationDryRunReply> {
    return command.dryRun ? this.commands.dryRun<InstallationDryRunReply>(verb, command, credential) : this.commands.send<InstallationReply>(verb, command, credential);
  }
}
