import { Body, Controller, Get, Headers, HttpCode, Post } from '@nestjs/common';
import type { z } from 'zod';
import { PolicyCommandSender } from '../policy-commands.sender.js';
import { QueryAuthorizer } from '../query.authorizer.js';
import { requireCredential } from './bearer-credential.js';
import {
  ApplyPoliciesBodySchema,
  PolicyCheckBodySchema,
  type ApplyPoliciesReplySchema,
  type PolicyCheckResultSchema,
  type ShowPoliciesReplySchema,
} from './http-api.schemas.js';
import { parseBody } from './request.parsers.js';

// /v1/policies: the Cedar policy set (apply a new version, show the active one) and what-if
// checks, each one policy command; the policy service authenticates and authorises the caller.
@Controller('v1/policies')
export class PoliciesController {
  constructor(
    private readonly commands: PolicyCommandSender,
    private readonly authorizer: QueryAuthorizer,
  ) {}

  // 200, not 201: the reply is the active policy set, which may be unchanged.
  @Post()
  @HttpCode(200)
  apply(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof ApplyPoliciesReplySchema>> {
    const credential = requireCredential(authorization);
    const request = parseBody(ApplyPoliciesBodySchema, body, 'the policy apply request');
    return this.commands.send('apply', request, credential);
  }

  @Get()
  show(@Headers('authorization') authorization?: string): Promise<z.infer<typeof ShowPoliciesReplySchema>> {
    return this.commands.send('show', {}, requireCredential(authorization));
  }

  @Post('check')
  @HttpCode(200)
  async check(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof PolicyCheckResultSchema>> {
    const credential = requireCredential(authorization);
    const request = parseBody(PolicyCheckBodySchema, body, 'the policy check request');
    const tenant = request.resource.tenant ?? request.tenant ?? (await this.authorizer.tenantOf(credential));
    return this.commands.send('check', { ...request, resource: { ...request.resource, tenant } }, credential);
  }
}
