import { HEADERS } from '@forgeone/contracts';
import { Body, Controller, Get, Headers, Param, Post, Query } from '@nestjs/common';
import { PluginStorageReader } from '../plugin-storage.reader.js';
import { ProjectionsReader } from '../projections.reader.js';
import { QueryAuthorizer } from '../query.authorizer.js';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { requireCredential } from './bearer-credential.js';
import { PluginListQuerySchema, PublishBodySchema, type PluginDetailReply, type PluginListReply, type PublishReply } from './http-api.schemas.js';
import { parseBody, parseQuery, pluginNameFromPath } from './request.parsers.js';

const TENANT_HEADER = HEADERS.tenant.toLowerCase();

// /v1/plugins: publish (a bus command the registry authorises) and the plugin read models of the
// caller's tenant (`read` on that Tenant, authorised here); show adds storage usage from the sandbox-runner.
@Controller('v1/plugins')
export class PluginsController {
  constructor(
    private readonly commands: RegistryCommandSender,
    private readonly projections: ProjectionsReader,
    private readonly authorizer: QueryAuthorizer,
    private readonly storage: PluginStorageReader,
  ) {}

  @Post()
  publish(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<PublishReply> {
    const credential = requireCredential(authorization);
    const request = parseBody(PublishBodySchema, body, 'the publish request');
    return this.commands.send('publish', request, credential);
  }

  @Get()
  async list(@Query() query: unknown, @Headers('authorization') authorization?: string, @Headers(TENANT_HEADER) tenant?: string): Promise<PluginListReply> {
    const credential = requireCredential(authorization);
    const { environment } = parseQuery(PluginListQuerySchema, query, 'the plugin list query');
    const decision = await this.authorizer.authorize(credential, 'read', tenant);
    return this.projections.listPlugins(decision.principal.tenant, environment);
  }

  @Get(':publisher/:plugin')
  async show(
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Headers('authorization') authorization?: string,
    @Headers(TENANT_HEADER) tenant?: string,
  ): Promise<PluginDetailReply> {
    const credential = requireCredential(authorization);
    const name = pluginNameFromPath(publisher, plugin);
    const decision = await this.authorizer.authorize(credential, 'read', tenant);
    const [detail, storage] = await Promise.all([this.projections.getPlugin(decision.principal.tenant, name), this.storage.read(name, credential)]);
    return { ...detail, storage };
  }

  @Get(':publisher/:plugin/history')
  async history(
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Headers('authorization') authorization?: string,
    @Headers(TENANT_HEADER) tenant?: string,
  ) {
    const credential = requireCredential(authorization);
    const name = pluginNameFromPath(publisher, plugin);
    const decision = await this.authorizer.authorize(credential, 'read', tenant);
    return { events: await this.projections.history(decision.principal.tenant, name) };
  }
}
