import { ForgeOneError, parseOrThrow, RevokeTokenRequestSchema } from '@forgeone/contracts';
import { Body, Controller, Delete, Get, Headers, Param, Post, Query } from '@nestjs/common';
import type { z } from 'zod';
import { PolicyCommandSender } from '../policy-commands.sender.js';
import { requireCredential } from './bearer-credential.js';
import {
  CreateTokenShapeSchema,
  RevokeTokenBodySchema,
  RevokeTokenQuerySchema,
  TokenListQuerySchema,
  type CreateTokenResultSchema,
  type RevokeTokenReplySchema,
  type TokenListResultSchema,
} from './http-api.schemas.js';
import { parseBody, parseQuery } from './request.parsers.js';

// /v1/tokens: API tokens, each route one policy command (policy checks `manage-tokens`).
// The token itself appears once, in the reply to its creation.
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly commands: PolicyCommandSender) {}

  @Post()
  create(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof CreateTokenResultSchema>> {
    const credential = requireCredential(authorization);
    const request = parseBody(CreateTokenShapeSchema, body, 'the token create request');
    return this.commands.send('tokenCreate', request, credential);
  }

  @Get()
  list(@Query() query: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof TokenListResultSchema>> {
    const credential = requireCredential(authorization);
    const request = parseQuery(TokenListQuerySchema, query, 'the token list query');
    return this.commands.send('tokenList', request, credential);
  }

  // The reason comes in the body ({ "reason": ... }) or, for clients that send no DELETE body, as ?reason=.
  @Delete(':tokenId')
  revoke(
    @Param('tokenId') tokenId: string,
    @Body() body: unknown,
    @Query() query: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<z.infer<typeof RevokeTokenReplySchema>> {
    const credential = requireCredential(authorization);
    const inQuery = parseQuery(RevokeTokenQuerySchema, query, 'the token revoke query').reason;
    const inBody = isEmptyBody(body) ? undefined : parseBody(RevokeTokenBodySchema, body, 'the token revoke request').reason;
    if (inQuery !== undefined && inBody !== undefined && inQuery !== inBody) {
      throw new ForgeOneError('COMMAND.INVALID', 'the token revoke request gives two different reasons (body and ?reason=); give one');
    }
    const reason = inBody ?? inQuery;
    if (reason === undefined) {
      throw new ForgeOneError('COMMAND.INVALID', 'the token revoke request needs a reason: send { "reason": "<why>" } or ?reason=<why>; it is kept in the audit log');
    }
    const command = parseOrThrow(RevokeTokenRequestSchema, { tokenId, reason }, 'COMMAND.INVALID', 'the token revoke request');
    return this.commands.send('tokenRevoke', command, credential);
  }
}

// Express leaves `{}` as the body of a request that sent none.
function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
}
