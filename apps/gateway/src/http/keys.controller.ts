import { ForgeOneError, parseOrThrow, RevokeKeyRequestSchema } from '@forgeone/contracts';
import { Body, Controller, Delete, Get, Headers, Param, Post, Query } from '@nestjs/common';
import type { z } from 'zod';
import { SignerCommandSender } from '../signer-commands.sender.js';
import { requireCredential } from './bearer-credential.js';
import {
  KeyListQuerySchema,
  RevokeKeyBodySchema,
  RevokeKeyQuerySchema,
  TrustKeyBodySchema,
  type KeyListReplySchema,
  type RevokeKeyReplySchema,
  type TrustKeyReplySchema,
} from './http-api.schemas.js';
import { parseBody, parseQuery } from './request.parsers.js';

// /v1/keys: the caller's tenant's trust store of publisher keys, each route one signer command
// (the signer checks `trust-key`, `revoke-key` or `read` on the tenant).
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly commands: SignerCommandSender) {}

  @Post()
  trust(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof TrustKeyReplySchema>> {
    const credential = requireCredential(authorization);
    return this.commands.send('trustKey', parseBody(TrustKeyBodySchema, body, 'the key trust request'), credential);
  }

  @Get()
  list(@Query() query: unknown, @Headers('authorization') authorization?: string): Promise<z.infer<typeof KeyListReplySchema>> {
    const credential = requireCredential(authorization);
    parseQuery(KeyListQuerySchema, query, 'the key list query');
    return this.commands.send('listKeys', {}, credential);
  }

  // The reason comes in the body ({ "reason": ..., "revokedAt"?: ... }) or, for clients that send no DELETE body, as ?reason=.
  @Delete(':keyId')
  revoke(
    @Param('keyId') keyId: string,
    @Body() body: unknown,
    @Query() query: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<z.infer<typeof RevokeKeyReplySchema>> {
    const credential = requireCredential(authorization);
    const inQuery = parseQuery(RevokeKeyQuerySchema, query, 'the key revoke query');
    const inBody = isEmptyBody(body) ? {} : parseBody(RevokeKeyBodySchema, body, 'the key revoke request');
    if (inQuery.reason !== undefined && inBody.reason !== undefined && inQuery.reason !== inBody.reason) {
      throw new ForgeOneError('COMMAND.INVALID', 'the key revoke request gives two different reasons (body and ?reason=); give one');
    }
    const reason = inBody.reason ?? inQuery.reason;
    if (reason === undefined) {
      throw new ForgeOneError('COMMAND.INVALID', 'the key revoke request needs a reason: send { "reason": "<why>" } or ?reason=<why>; it is kept in the audit log');
    }
    const revokedAt = inBody.revokedAt ?? inQuery.revokedAt;
    const command = parseOrThrow(RevokeKeyRequestSchema, { keyId, reason, ...(revokedAt ? { revokedAt } : {}) }, 'COMMAND.INVALID', 'the key revoke request');
    return this.commands.send('revokeKey', command, credential);
  }
}

// Express leaves `{}` as the body of a request that sent none.
function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
}
