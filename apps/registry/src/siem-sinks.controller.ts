import { AuthzClient } from '@forgeone/authz-client';
import { BusContext } from '@forgeone/bus';
import { AddSiemSinkRequestSchema, ListSiemSinksRequestSchema, parseOrThrow, SIEM_SINK_VERBS, SiemSinkNameRequestSchema } from '@forgeone/contracts';
import { JetStreamEventStore } from '@forgeone/event-store';
import { addSiemSink, listSiemSinks, removeSiemSink, type CommandContext, type SiemSinkPorts } from '@forgeone/registry-domain';
import type { ConfigSecretBox } from '@forgeone/signing';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { dnsHostResolver } from './dns-host.resolver.js';
import { PolicyAuthorizer } from './policy.authorizer.js';
import { CONFIG_SECRETS } from './registry-commands.controller.js';

/** Nest token of the blocks of refused addresses the platform opened to tenant SIEM sinks (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE). */
export const SIEM_TENANT_ALLOW_PRIVATE = Symbol('SIEM_TENANT_ALLOW_PRIVATE');

/** Bus adapter for `forgeone.cmd.registry.siem-sinks.*`: a tenant's own SIEM sinks, kept as events. */
@Controller()
export class SiemSinksController {
  private readonly ports: SiemSinkPorts;

  constructor(
    events: JetStreamEventStore,
    authz: AuthzClient,
    @Inject(CONFIG_SECRETS) configSecrets: ConfigSecretBox | null,
    @Inject(SIEM_TENANT_ALLOW_PRIVATE) allowedPrivate: readonly string[],
  ) {
    this.ports = { events, authorizer: new PolicyAuthorizer(authz), resolver: dnsHostResolver, allowedPrivate, ...(configSecrets ? { configSecrets } : {}) };
  }

  @MessagePattern(`registry.${SIEM_SINK_VERBS.add}`)
  add(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return addSiemSink(this.ports, parseOrThrow(AddSiemSinkRequestSchema, body, 'COMMAND.INVALID', 'the SIEM sink'), contextOf(ctx));
  }

  @MessagePattern(`registry.${SIEM_SINK_VERBS.remove}`)
  remove(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return removeSiemSink(this.ports, parseOrThrow(SiemSinkNameRequestSchema, body, 'COMMAND.INVALID', 'the SIEM sink removal'), contextOf(ctx));
  }

  @MessagePattern(`registry.${SIEM_SINK_VERBS.list}`)
  list(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    parseOrThrow(ListSiemSinksRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the SIEM sink list request');
    return listSiemSinks(this.ports, contextOf(ctx));
  }
}

function contextOf(ctx: BusContext): CommandContext {
  const source = ctx.source;
  return { credential: ctx.credential, now: new Date(), newId: randomUUID, ...(source ? { source } : {}) };
}
