import { BUS_CONNECTION, BUS_NAMES, BusClient } from '@forgeone/bus';
import { EnvironmentSchema, ForgeOneError, InvokeRequestSchema, PluginNameSchema, parseOrThrow, type Names } from '@forgeone/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { Body, Controller, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { GATEWAY_SETTINGS, type GatewaySettings } from '../gateway.config.js';
import { requireCredential } from './bearer-credential.js';
import { CallBodySchema, type CallReply } from './http-api.schemas.js';
import { parseBody } from './request.parsers.js';
import { clientSourceHeaders } from './client-source.js';

// Room for the headers (credential, traceparent) next to the body in one NATS message.
const HEADER_ALLOWANCE_BYTES = 8 * 1024;

const CallTargetSchema = z.object({ environment: EnvironmentSchema, name: PluginNameSchema });

// /v1/environments/{env}/plugins/{publisher}/{plugin}/calls/{handler}: one plugin call, sent to the
// sandbox runners on forgeone.invoke.<env>.<plugin> with the caller's token. The runner authorises
// the call and answers with the output or a typed error (SANDBOX.*, AUTHZ.DENIED, ...).
@Controller('v1/environments/:environment/plugins/:publisher/:plugin/calls')
export class InvocationsController {
  constructor(
    private readonly bus: BusClient,
    @Inject(BUS_NAMES) private readonly names: Names,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  // 200, not 201: a call creates nothing.
  @Post(':handler')
  @HttpCode(200)
  call(
    @Param('environment') environment: string,
    @Param('publisher') publisher: string,
    @Param('plugin') plugin: string,
    @Param('handler') handler: string,
    @Body() body: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<CallReply> {
    const credential = requireCredential(authorization);
    const target = parseOrThrow(CallTargetSchema, { environment, name: `${publisher}/${plugin}` }, 'COMMAND.INVALID', 'the plugin call path');
    const fields = parseBody(CallBodySchema, body, 'the plugin call request');
    const request = parseOrThrow(InvokeRequestSchema, { handler, ...fields }, 'COMMAND.INVALID', 'the plugin call request');
    this.assertFitsOneMessage(request);
    return this.bus.requestSubject<CallReply>(this.names.invoke(target.environment, target.name), request, {
      credential,
      timeoutMs: this.settings.commandTimeoutMs,
      headers: clientSourceHeaders(),
      label: `invoke ${target.name} ${handler}`,
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
