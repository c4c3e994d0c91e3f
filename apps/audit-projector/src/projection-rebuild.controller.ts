import { AuthzClient } from '@forgeone/authz-client';
import { PLATFORM_TENANT } from '@forgeone/authz';
import { BusContext } from '@forgeone/bus';
import { parseOrThrow, PROJECTION_REBUILD_VERBS, RebuildStartRequestSchema, RebuildStatusRequestSchema, type RebuildStatus } from '@forgeone/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { ProjectionRebuilds } from './projection-rebuild.runner.js';

// Projections serve every tenant: rebuilding them is asked on the platform's own tenant, which
// the default policies leave to the platform administrator (admin-all-in-tenant excludes it).
const PLATFORM = { type: 'Tenant', id: PLATFORM_TENANT } as const;

/** Bus adapter of `forgeone admin rebuild`: start a rebuild, and poll it by id. */
@Controller()
export class ProjectionRebuildController {
  constructor(
    @Inject(ProjectionRebuilds) private readonly rebuilds: ProjectionRebuilds,
    @Inject(AuthzClient) private readonly authz: AuthzClient,
  ) {}

  @MessagePattern(`audit-projector.${PROJECTION_REBUILD_VERBS.start}`)
  async start(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<RebuildStatus> {
    const decision = await this.authz.authorize(ctx.credential, 'rebuild-projections', PLATFORM, ctx.source ? { source: ctx.source } : {});
    const request = parseOrThrow(RebuildStartRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the rebuild request');
    return this.rebuilds.start(request.swap, { id: decision.principal.id, tenant: decision.principal.tenant });
  }

  @MessagePattern(`audit-projector.${PROJECTION_REBUILD_VERBS.status}`)
  async status(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<RebuildStatus> {
    await this.authz.authorize(ctx.credential, 'rebuild-projections', PLATFORM, ctx.source ? { source: ctx.source } : {});
    const request = parseOrThrow(RebuildStatusRequestSchema, body, 'COMMAND.INVALID', 'the rebuild status request');
    return this.rebuilds.status(request.rebuildId);
  }
}
