import { Body, Controller, Get, Headers, Param, Post, Query } from '@nestjs/common';
import { ProjectionsReader } from '../projections.reader.js';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { PluginListQuerySchema, PublishBodySchema, type PluginDetailReply, type PluginListReply, type PublishReply } from './http-api.schemas.js';
import { parseBody, parseQuery, pluginNameFromPath } from './request.parsers.js';

// /v1/plugins: publish (a bus command) and the plugin read models.
@Controller('v1/plugins')
export class PluginsController {
  constructor(
    private readonly commands: RegistryCommandSender,
    private readonly projections: ProjectionsReader,
  ) {}

  @Post()
  publish(@Body() body: unknown, @Headers('authorization') credential?: string): Promise<PublishReply> {
    const request = parseBody(PublishBodySchema, body, 'the publish request');
    return this.commands.send('publish', request, credential);
  }

  @Get()
  list(@Query() query: unknown): Promise<PluginListReply> {
    const { environment } = parseQuery(PluginListQuerySchema, query, 'the plugin list query');
    return this.projections.listPlugins(environment);
  }

  @Get(':publisher/:plugin')
  show(@Param('publisher') publisher: string, @Param('plugin') plugin: string): Promise<PluginDetailReply> {
    return this.projections.getPlugin(pluginNameFromPath(publisher, plugin));
  }

  @Get(':publisher/:plugin/history')
  async history(@Param('publisher') publisher: string, @Param('plugin') plugin: string) {
    return { events: await this.projections.history(pluginNameFromPath(publisher, plugin)) };
  }
}
