import { InstallPluginRequestSchema, RemovePluginRequestSchema, UpgradePluginRequestSchema, parseOrThrow } from '@forgeone/contracts';
import { Body, Controller, Delete, Headers, Param, Post, Put } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { InstallBodySchema, UpgradeBodySchema, type InstallationReply } from './http-api.schemas.js';
import { parseBody } from './request.parsers.js';

// /v1/environments/{env}/installations: install, upgrade and remove, each one registry command.
// The body is checked first (unknown fields are named), then the command assembled with the path.
@Controller('v1/environments/:environment/installations')
export class InstallationsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  @Post()
  install(@Param('environment') environment: string, @Body() body: unknown, @Headers('authorization') credential?: string): Promise<InstallationReply> {
    const fields = parseBody(InstallBodySchema, body, 'the install request');
    const command = parseOrThrow(InstallPluginRequestSchema, { ...fields, environment }, 'COMMAND.INVALID', 'the install request');
    return this.commands.send('install', command, credential);
  }

  @Put(':publisher/:plugin')
  upgrade(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Headers('authorization') credential?: string,
  ): Promise<InstallationReply> {
    const fields = parseBody(UpgradeBodySchema, body, 'the upgrade request');
    const command = parseOrThrow(UpgradePluginRequestSchema, { ...fields, name: `${publisher}/${plugin}`, environment }, 'COMMAND.INVALID', 'the upgrade request');
    return this.commands.send('upgrade', command, credential);
  }

  @Delete(':publisher/:plugin')
  remove(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Headers('authorization') credential?: string,
  ): Promise<InstallationReply> {
    const command = parseOrThrow(RemovePluginRequestSchema, { name: `${publisher}/${plugin}`, environment }, 'COMMAND.INVALID', 'the remove request');
    return this.commands.send('remove', command, credential);
  }
}
