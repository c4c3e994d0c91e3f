import { Body, Controller, Get, Headers, HttpCode, Post } from '@nestjs/common';
import type { z } from 'zod';
import { PolicyCommandSender } from '../policy-commands.sender.js';
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
  constructor(private readonly commands: PolicyCommandSender) {}

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

  // A resource without a tenant is left so: policy defaults it to the check's tenant, else the caller's.
  @Post('check')
  @HttpCode(200)
  check(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof PolicyCheckResultSchema>> {
    const credential = requireCredential(authorization);
    const request = parseBody(PolicyCheckBodySchema, body, 'the policy check request');
    return this.commands.send('check', request, credential);
  }
}
