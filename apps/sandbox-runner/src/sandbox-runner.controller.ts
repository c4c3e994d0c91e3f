import { AuthzClient } from '@forgeone/authz-client';
import { BusContext, EventContext } from '@forgeone/bus';
import { OWN_TENANT, type CloudEvent } from '@forgeone/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { PluginInstallations } from './plugin-installations.table.js';
import { PluginInvoker } from './plugin.invoker.js';

/**
 * Bus adapter of the runner: invocations on `forgeone.invoke.<env>.<plugin>` (queue group of the
 * runners, so several share the load), its statistics command, and the plugin events that feed
 * the installation table.
 */
@Controller()
export class SandboxRunnerController {
  constructor(
    @Inject(PluginInvoker) private readonly invoker: PluginInvoker,
    @Inject(PluginInstallations) private readonly installations: PluginInstallations,
    @Inject(AuthzClient) private readonly authz: AuthzClient,
  ) {}

  @MessagePattern('invoke.*.*')
  invoke(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const tokens = ctx.subject.split('.');
    return this.invoker.invoke(tokens[tokens.length - 2], tokens[tokens.length - 1], body, ctx.credential);
  }

  /** Success and failure counts per plugin of the caller's tenant, and what is installed there (needs `read` on the own Tenant). */
  @MessagePattern('sandbox-runner.stats')
  async stats(@Ctx() ctx: BusContext) {
    const decision = await this.authz.authorize(ctx.credential, 'read', { type: 'Tenant', id: OWN_TENANT });
    const tenant = decision.principal.tenant;
    return {
      tenant,
      invocations: this.invoker.stats(tenant),
      installations: this.installations.list().filter((i) => i.tenant === tenant),
    };
  }

  @EventPattern<string>('*')
  async onPluginEvent(@Payload() event: CloudEvent, @Ctx() ctx: EventContext) {
    await this.installations.apply(event, ctx.sequence);
  }
}
