import {
  ApprovePluginConfigRequestSchema,
  ENVIRONMENT_VERBS,
  parseOrThrow,
  RejectPluginConfigRequestSchema,
  ReportDropRejectedRequestSchema,
  SetEnvironmentRequestSchema,
  SetPluginConfigRequestSchema,
  WATCH_VERBS,
} from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/environments/{env} and a plugin's configuration in it: each route one registry command, which the
// registry authorises (read-environment, configure-environment, read-plugin-config, configure-plugin, approve).
@Controller()
export class EnvironmentsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  @ContractRoute(API.listEnvironments)
  list(@RouteRequest() { credential }: RouteInput<typeof API.listEnvironments>): Promise<RouteReply<typeof API.listEnvironments>> {
    return this.commands.ask(ENVIRONMENT_VERBS.listEnvironments, {}, credential);
  }

  @ContractRoute(API.showEnvironment)
  show(@RouteRequest() { params, credential }: RouteInput<typeof API.showEnvironment>): Promise<RouteReply<typeof API.showEnvironment>> {
    return this.commands.ask(ENVIRONMENT_VERBS.showEnvironment, { environment: params.environment }, credential);
  }

  @ContractRoute(API.setEnvironment)
  set(@RouteRequest() { params, body, credential }: RouteInput<typeof API.setEnvironment>): Promise<RouteReply<typeof API.setEnvironment>> {
    const command = parseOrThrow(SetEnvironmentRequestSchema, { ...body, environment: params.environment }, 'COMMAND.INVALID', 'the environment change');
    return this.commands.ask(ENVIRONMENT_VERBS.setEnvironment, command, credential);
  }

  @ContractRoute(API.confirmEnvironment)
  confirm(@RouteRequest() { params, credential }: RouteInput<typeof API.confirmEnvironment>): Promise<RouteReply<typeof API.confirmEnvironment>> {
    return this.commands.ask(ENVIRONMENT_VERBS.confirmEnvironment, { environment: params.environment }, credential);
  }

  @ContractRoute(API.listPluginConfig)
  listConfig(@RouteRequest() { params, credential }: RouteInput<typeof API.listPluginConfig>): Promise<RouteReply<typeof API.listPluginConfig>> {
    return this.commands.ask(ENVIRONMENT_VERBS.listPluginConfig, { name: `${params.publisher}/${params.plugin}`, environment: params.environment }, credential);
  }

  @ContractRoute(API.setPluginConfig)
  setConfig(@RouteRequest() { params, body, credential }: RouteInput<typeof API.setPluginConfig>): Promise<RouteReply<typeof API.setPluginConfig>> {
    const command = parseOrThrow(
      SetPluginConfigRequestSchema,
      { ...body, name: `${params.publisher}/${params.plugin}`, environment: params.environment, key: params.key },
      'COMMAND.INVALID',
      'the plugin configuration change',
    );
    return this.commands.ask(ENVIRONMENT_VERBS.setPluginConfig, command, credential);
  }

  @ContractRoute(API.unsetPluginConfig)
  unsetConfig(@RouteRequest() { params, credential }: RouteInput<typeof API.unsetPluginConfig>): Promise<RouteReply<typeof API.unsetPluginConfig>> {
    return this.commands.ask(ENVIRONMENT_VERBS.unsetPluginConfig, { name: `${params.publisher}/${params.plugin}`, environment: params.environment, key: params.key }, credential);
  }

  @ContractRoute(API.approvePluginConfig)
  approveConfig(@RouteRequest() { params, body, credential }: RouteInput<typeof API.approvePluginConfig>): Promise<RouteReply<typeof API.approvePluginConfig>> {
    const command = parseOrThrow(
      ApprovePluginConfigRequestSchema,
      { ...(body ?? {}), name: `${params.publisher}/${params.plugin}`, environment: params.environment, changeId: params.changeId },
      'COMMAND.INVALID',
      'the configuration change approval',
    );
    return this.commands.ask(ENVIRONMENT_VERBS.approvePluginConfig, command, credential);
  }

  @ContractRoute(API.rejectPluginConfig)
  rejectConfig(@RouteRequest() { params, body, credential }: RouteInput<typeof API.rejectPluginConfig>): Promise<RouteReply<typeof API.rejectPluginConfig>> {
    const command = parseOrThrow(
      RejectPluginConfigRequestSchema,
      { ...body, name: `${params.publisher}/${params.plugin}`, environment: params.environment, changeId: params.changeId },
      'COMMAND.INVALID',
      'the configuration change rejection',
    );
    return this.commands.ask(ENVIRONMENT_VERBS.rejectPluginConfig, command, credential);
  }

  // The plugins/ directory watcher is a client; the registry records what it refused (report-drop-rejected).
  @ContractRoute(API.reportDropRejected)
  reportDropRejected(@RouteRequest() { params, body, credential }: RouteInput<typeof API.reportDropRejected>): Promise<RouteReply<typeof API.reportDropRejected>> {
    const command = parseOrThrow(ReportDropRejectedRequestSchema, { ...body, environment: params.environment }, 'COMMAND.INVALID', 'the rejected drop report');
    return this.commands.ask(WATCH_VERBS.reportDropRejected, command, credential);
  }
}
