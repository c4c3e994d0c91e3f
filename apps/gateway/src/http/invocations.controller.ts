import { BUS_CONNECTION, BUS_NAMES, BusClient } from '@forgeone/bus';
import { ForgeOneError, InvokeRequestSchema, parseOrThrow, type Names } from '@forgeone/contracts';
import { API, type CallReply, type RouteInput } from '@forgeone/http-contract';
import type { NatsConnection } from '@nats-io/transport-node';
import { Controller, Inject } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from '../gateway.config.js';
import { clientSourceHeaders } from './client-source.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// Room for the headers (credential, traceparent) next to the body in one NATS message.
const HEADER_ALLOWANCE_BYTES = 8 * 1024;

// /v1/environments/{env}/plugins/{publisher}/{plugin}/calls/{handler}: one plugin call, sent to the
// sandbox runners on forgeone.invoke.<env>.<plugin> with the caller's token. The runner authorises
// the call and answers with the output or a typed error (SANDBOX.*, AUTHZ.DENIED, ...).
@Controller()
export class InvocationsController {
  constructor(
    private readonly bus: BusClient,
    @Inject(BUS_NAMES) private readonly names: Names,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  @ContractRoute(API.callPlugin)
  call(@RouteRequest() { params, body, credential }: RouteInput<typeof API.callPlugin>): Promise<CallReply> {
    const name = `${params.publisher}/${params.plugin}`;
    const request = parseOrThrow(InvokeRequestSchema, { handler: params.handler, ...body }, 'COMMAND.INVALID', 'the plugin call request');
    this.assertFitsOneMessage(request);
    return this.bus.requestSubject<CallReply>(this.names.invoke(params.environment, name), request, {
      credential,
      timeoutMs: this.settings.commandTimeoutMs,
      headers: clientSourceHeaders(),
      label: `invoke ${name} ${params.handler}`,
      service: 'sandbox-runner',
    });
  }

  // NATS refuses a message above the server's max_payload; say so instead of failing with a transport error.
  private assertFitsOneMessage(request: object): void {
    const maxPayload = this.connection.info?.max_payload;
    if (!maxPayload) return;
    const size = Buffer.byteLength(JSON.stringify(request));
    const max = maxPayload - HEADER_ALLOWANCE_BYTES;
    if (size > max) {
      throw new ForgeOneError('COMMAND.TOO_LARGE', `the call request is ${size} bytes but the bus carries at most ${max} bytes per call (NATS max_payload); send a smaller input`, {
        sizeBytes: size,
        maxBytes: max,
      });
    }
  }
}
