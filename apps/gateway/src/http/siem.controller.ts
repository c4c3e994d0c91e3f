import { BusClient } from '@forgeone/bus';
import { SIEM_FORWARDER_VERBS, SIEM_SINK_VERBS } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller, Inject } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from '../gateway.config.js';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { clientSourceHeaders } from './client-source.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/siem: the SIEM forwarder answers with the state only it holds (positions, lag, last errors) and
// tests a sink (it alone connects to sinks); the registry keeps a tenant's sinks. Each authenticates and
// authorises the caller itself (read-audit, configure-siem) and shows a tenant only its own sinks.
@Controller()
export class SiemController {
  constructor(
    private readonly bus: BusClient,
    private readonly commands: RegistryCommandSender,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  @ContractRoute(API.siemStatus)
  status(@RouteRequest() { credential }: RouteInput<typeof API.siemStatus>): Promise<RouteReply<typeof API.siemStatus>> {
    return this.bus.request('siem-forwarder', SIEM_FORWARDER_VERBS.status, {}, { credential, timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }

  @ContractRoute(API.addSiemSink)
  add(@RouteRequest() { body, credential }: RouteInput<typeof API.addSiemSink>): Promise<RouteReply<typeof API.addSiemSink>> {
    return this.commands.ask(SIEM_SINK_VERBS.add, body, credential);
  }

  @ContractRoute(API.listSiemSinks)
  list(@RouteRequest() { credential }: RouteInput<typeof API.listSiemSinks>): Promise<RouteReply<typeof API.listSiemSinks>> {
    return this.commands.ask(SIEM_SINK_VERBS.list, {}, credential);
  }

  @ContractRoute(API.removeSiemSink)
  remove(@RouteRequest() { params, credential }: RouteInput<typeof API.removeSiemSink>): Promise<RouteReply<typeof API.removeSiemSink>> {
    return this.commands.ask(SIEM_SINK_VERBS.remove, { name: params.name }, credential);
  }

  @ContractRoute(API.testSiemSink)
  test(@RouteRequest() { params, credential }: RouteInput<typeof API.testSiemSink>): Promise<RouteReply<typeof API.testSiemSink>> {
    // Resolving, connecting and delivering can take longer than a command: the forwarder gives up after 15 s.
    return this.bus.request('siem-forwarder', SIEM_FORWARDER_VERBS.testSink, { name: params.name }, { credential, timeoutMs: Math.max(this.settings.commandTimeoutMs, 20_000), headers: clientSourceHeaders() });
  }
}
