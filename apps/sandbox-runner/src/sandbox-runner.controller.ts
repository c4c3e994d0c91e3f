import { AuthzClient } from '@forgeone/authz-client';
import { BusCommandRegistry, BusContext, EventContext, REFUSED_EVENT_PATTERN } from '@forgeone/bus';
import { OWN_TENANT, parseOrThrow, PLUGIN_STORAGE_VERB, PluginStorageRequestSchema, RunTestVectorsRequestSchema, TEST_VECTORS_PATTERN, type CloudEvent } from '@forgeone/contracts';
import { Controller, Inject, type OnModuleInit } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { PluginInstallations } from './plugin-installations.table.js';
import { PluginInvoker } from './plugin.invoker.js';
import { PluginStorageReport } from './plugin-storage.report.js';

/**
 * Bus adapter of the runner: invocations on `forgeone.invoke.<env>.<plugin>` (queue group of the
 * runners, so several share the load), its statistics and storage queries, and the plugin events that feed
 * the installation table.
 */
@Controller()
export class SandboxRunnerController implements OnModuleInit {
  constructor(
    @Inject(PluginInvoker) private readonly invoker: PluginInvoker,
    @Inject(PluginInstallations) private readonly installations: PluginInstallations,
    @Inject(AuthzClient) private readonly authz: AuthzClient,
    @Inject(BusCommandRegistry) private readonly commands: BusCommandRegistry,
    @Inject(PluginStorageReport) private readonly storage: PluginStorageReport,
  ) {}

  // Invocations are the hot path: a direct command, without Nest's per-call pipeline. The invoker
  // validates the subject and body itself and throws ForgeOneErrors, which the transport answers.
  onModuleInit(): void {
    this.commands.register('invoke.*.*', (body, ctx) => this.invoke(body, ctx));
  }

  invoke(body: unknown, ctx: BusContext) {
    const subject = ctx.subject;
    const last = subject.lastIndexOf('.');
    const previous = subject.lastIndexOf('.', last - 1);
    return this.invoker.invoke(subject.slice(previous + 1, last), subject.slice(last + 1), body, ctx.credential, ctx.source);
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

  /** A plugin's storage quota and usage per environment, and its tenant's total (needs `read` on the own Tenant, like every query). */
  @MessagePattern(`sandbox-runner.${PLUGIN_STORAGE_VERB}`)
  async pluginStorage(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const { name } = parseOrThrow(PluginStorageRequestSchema, body, 'COMMAND.INVALID', 'the storage request');
    const decision = await this.authz.authorize(ctx.credential, 'read', { type: 'Tenant', id: OWN_TENANT });
    return this.storage.of(decision.principal.tenant, name);
  }

  /**
   * Runs an installed version's test vectors for the registry, which alone may send this request (bus
   * permissions) and has authorised `test` for the caller; the caller's credential comes along so the
   * hooks are judged for the tester, as in a call.
   */
  @MessagePattern(TEST_VECTORS_PATTERN)
  runTestVectors(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RunTestVectorsRequestSchema, body, 'COMMAND.INVALID', 'the test vectors request');
    return this.invoker.runTestVectors(request, ctx.credential, ctx.source);
  }

  @EventPattern<string>('*')
  async onPluginEvent(@Payload() event: CloudEvent, @Ctx() ctx: EventContext) {
    await this.installations.apply(event, ctx.sequence);
  }

  // A refused (forged or replayed) plugin event installs nothing, but a call waiting for the
  // subject's latest sequence must not wait for it in vain.
  @EventPattern<string>(REFUSED_EVENT_PATTERN)
  onRefusedEvent(@Ctx() ctx: EventContext) {
    this.installations.skip(ctx.sequence);
  }
}
