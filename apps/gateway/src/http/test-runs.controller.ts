import { parseOrThrow, TestPluginRequestSchema, type TestPluginResult } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { ProjectionsReader } from '../projections.reader.js';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';
import { pluginNameFromPath } from './request.parsers.js';

// /v1/plugins/{publisher}/{plugin}/test-runs: run a version's test vectors (a registry command, which the
// registry authorises as `test`) and list the recorded runs (a query, `read`, checked by the interceptor).
@Controller()
export class TestRunsController {
  constructor(
    private readonly commands: RegistryCommandSender,
    private readonly projections: ProjectionsReader,
  ) {}

  @ContractRoute(API.testPlugin)
  test(@RouteRequest() { params, body, credential }: RouteInput<typeof API.testPlugin>): Promise<RouteReply<typeof API.testPlugin>> {
    const command = parseOrThrow(TestPluginRequestSchema, { ...body, name: pluginNameFromPath(params.publisher, params.plugin) }, 'COMMAND.INVALID', 'the test request');
    return this.commands.test<TestPluginResult>(command, credential);
  }

  @ContractRoute(API.listTestRuns)
  list(@RouteRequest() { params, query, tenant }: RouteInput<typeof API.listTestRuns>): Promise<RouteReply<typeof API.listTestRuns>> {
    return this.projections.testRuns(tenant, pluginNameFromPath(params.publisher, params.plugin), query.environment);
  }
}
