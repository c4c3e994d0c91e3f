import { PLATFORM_TENANT } from '@forgeone/authz';
import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import { parseOrThrow, SIEM_FORWARDER_VERBS, SiemSinkNameRequestSchema, type SiemSinkTestReply } from '@forgeone/contracts';
import type { SinkStatus } from '@forgeone/siem';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { SiemForwarder } from './siem-forwarder.js';

/** Bus adapter of `forgeone siem status` (each sink's position, lag and last error) and `siem sink test`. */
@Controller()
export class SiemStatusController {
  constructor(
    @Inject(SiemForwarder) private readonly forwarder: SiemForwarder,
    @Inject(AuthzClient) private readonly authz: AuthzClient,
  ) {}

  // Reading sink status is reading the audit trail's delivery: `read-audit` on the caller's tenant.
  // The platform's own tenant sees every sink; any other tenant only its own.
  @MessagePattern(`siem-forwarder.${SIEM_FORWARDER_VERBS.status}`)
  async status(@Ctx() ctx: BusContext): Promise<{ sinks: SinkStatus[] }> {
    const decision = await this.authz.authorize(ctx.credential, 'read-audit', { type: 'Tenant', id: '@own' }, ctx.source ? { source: ctx.source } : {});
    const tenant = decision.principal.tenant;
    return { sinks: await this.forwarder.status(tenant === PLATFORM_TENANT ? undefined : tenant) };
  }

  // Testing a sink sends to it: `configure-siem` on the caller's tenant, and only that tenant's sinks.
  @MessagePattern(`siem-forwarder.${SIEM_FORWARDER_VERBS.testSink}`)
  async testSink(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<SiemSinkTestReply> {
    const { name } = parseOrThrow(SiemSinkNameRequestSchema, body, 'COMMAND.INVALID', 'the SIEM sink test request');
    const decision = await this.authz.authorize(ctx.credential, 'configure-siem', { type: 'Tenant', id: '@own' }, ctx.source ? { source: ctx.source } : {});
    return this.forwarder.testTenantSink(decision.principal.tenant, name, decision.principal.id, randomUUID());
  }
}
