import type { ServerResponse } from 'node:http';
import { ApprovePluginRequestSchema, parseOrThrow, PromotePluginRequestSchema, RejectPluginRequestSchema, type ApprovalReply, type PromotionReply } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller, Res } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// Approvals of a version for a gated environment and promotions into it: each one registry command assembled
// from the path and the checked body; the registry authorises and decides it.
@Controller()
export class PromotionsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  @ContractRoute(API.approvePlugin)
  approve(@RouteRequest() { params, body, credential }: RouteInput<typeof API.approvePlugin>): Promise<RouteReply<typeof API.approvePlugin>> {
    const command = parseOrThrow(
      ApprovePluginRequestSchema,
      { ...(body ?? {}), name: `${params.publisher}/${params.plugin}`, version: params.version, environment: params.environment },
      'COMMAND.INVALID',
      'the approval',
    );
    return this.commands.send<ApprovalReply>('approve', command, credential);
  }

  @ContractRoute(API.rejectPlugin)
  reject(@RouteRequest() { params, body, credential }: RouteInput<typeof API.rejectPlugin>): Promise<RouteReply<typeof API.rejectPlugin>> {
    const command = parseOrThrow(
      RejectPluginRequestSchema,
      { ...body, name: `${params.publisher}/${params.plugin}`, version: params.version, environment: params.environment },
      'COMMAND.INVALID',
      'the rejection',
    );
    return this.commands.send<ApprovalReply>('reject', command, credential);
  }

  // 201 for a promotion, 200 for a dry run that changed nothing, so the status is set here.
  @ContractRoute(API.promotePlugin)
  async promote(@RouteRequest() { params, body, credential }: RouteInput<typeof API.promotePlugin>, @Res() res: ServerResponse): Promise<void> {
    const command = parseOrThrow(PromotePluginRequestSchema, { ...body, to: params.environment }, 'COMMAND.INVALID', 'the promotion');
    const reply: RouteReply<typeof API.promotePlugin> = command.dryRun
      ? { ...(await this.commands.dryRun<PromotionReply>('promote', command, credential)), projected: false }
      : await this.commands.send<PromotionReply>('promote', command, credential);
    res.statusCode = command.dryRun ? 200 : 201;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply));
  }
}
