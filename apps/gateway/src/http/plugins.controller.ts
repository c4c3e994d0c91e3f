import { API, type PluginDetailReply, type PluginListReply, type PublishReply, type RouteInput } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { PluginStorageReader } from '../plugin-storage.reader.js';
import { ProjectionsReader } from '../projections.reader.js';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';
import { pluginNameFromPath } from './request.parsers.js';

// /v1/plugins: publish (a bus command the registry authorises) and the plugin read models of the
// caller's tenant (authorised by the contract's interceptor); show adds storage usage from the sandbox-runner.
@Controller()
export class PluginsController {
  constructor(
    private readonly commands: RegistryCommandSender,
    private readonly projections: ProjectionsReader,
    private readonly storage: PluginStorageReader,
  ) {}

  @ContractRoute(API.publishPluginVersion)
  publish(@RouteRequest() { body, credential }: RouteInput<typeof API.publishPluginVersion>): Promise<PublishReply> {
    return this.commands.send('publish', body, credential);
  }

  @ContractRoute(API.listPlugins)
  list(@RouteRequest() { query, tenant }: RouteInput<typeof API.listPlugins>): Promise<PluginListReply> {
    return this.projections.listPlugins(tenant, query.environment);
  }

  @ContractRoute(API.showPlugin)
  async show(@RouteRequest() { params, tenant, credential }: RouteInput<typeof API.showPlugin>): Promise<PluginDetailReply> {
    const name = pluginNameFromPath(params.publisher, params.plugin);
    const [detail, storage] = await Promise.all([this.projections.getPlugin(tenant, name), this.storage.read(name, credential)]);
    return { ...detail, storage };
  }

  @ContractRoute(API.pluginHistory)
  async history(@RouteRequest() { params, tenant }: RouteInput<typeof API.pluginHistory>) {
    return { events: await this.projections.history(tenant, pluginNameFromPath(params.publisher, params.plugin)) };
  }
}
