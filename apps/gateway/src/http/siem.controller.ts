import { BusClient } from '@forgeone/bus';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller, Inject } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from '../gateway.config.js';
import { clientSourceHeaders } from './client-source.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/siem: the SIEM forwarder answers with the state only it holds (positions, lag, last errors);
// it authenticates and authorises the caller (read-audit) and shows a tenant only its own sinks.
@Controller()
export class SiemController {
  constructor(
    private readonly bus: BusClient,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  @ContractRoute(API.siemStatus)
  status(@RouteRequest() { credential }: RouteInput<typeof API.siemStatus>): Promise<RouteReply<typeof API.siemStatus>> {
    return this.bus.request('siem-forwarder', 'status', {}, { credential, timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }
}
