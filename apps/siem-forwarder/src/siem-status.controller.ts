import { PLATFORM_TENANT } from '@forgeone/authz';
import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import type { SinkStatus } from '@forgeone/siem';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern } from '@nestjs/microservices';
import { SiemForwarder } from './siem-forwarder.js';

/** Bus adapter of `forgeone siem status`: each sink's position, lag and last error. */
@Controller()
export class SiemStatusController {
  constructor(
    @Inject(SiemForwarder) private readonly forwarder: SiemForwarder,
    @Inject(AuthzClient) private readonly authz: AuthzClient,
  ) {}

  // Reading sink status is reading the audit trail's delivery: `read-audit` on the caller's tenant.
  // The platform's own tenant sees every sink; any other tenant only its own.
  @MessagePattern('siem-forwarder.status')
  async status(@Ctx() ctx: BusContext): Promise<{ sinks: SinkStatus[] }> {
    const decision = await this.authz.authorize(ctx.credential, 'read-audit', { type: 'Tenant', id: '@own' }, ctx.source ? { source: ctx.source } : {});
    const tenant = decision.principal.tenant;
    return { sinks: await this.forwarder.status(tenant === PLATFORM_TENANT ? undefined : tenant) };
  }
}
