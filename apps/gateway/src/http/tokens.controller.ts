import { ForgeOneError, parseOrThrow, RevokeTokenRequestSchema } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { PolicyCommandSender } from '../policy-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/tokens: API tokens, each route one policy command (policy checks `manage-tokens`).
// The token itself appears once, in the reply to its creation.
@Controller()
export class TokensController {
  constructor(private readonly commands: PolicyCommandSender) {}

  @ContractRoute(API.createToken)
  create(@RouteRequest() { body, credential }: RouteInput<typeof API.createToken>): Promise<RouteReply<typeof API.createToken>> {
    return this.commands.send('tokenCreate', body, credential);
  }

  @ContractRoute(API.listTokens)
  list(@RouteRequest() { query, credential }: RouteInput<typeof API.listTokens>): Promise<RouteReply<typeof API.listTokens>> {
    return this.commands.send('tokenList', query, credential);
  }

  // The reason comes in the body ({ "reason": ... }) or, for clients that send no DELETE body, as ?reason=.
  @ContractRoute(API.revokeToken)
  revoke(@RouteRequest() { params, query, body, credential }: RouteInput<typeof API.revokeToken>): Promise<RouteReply<typeof API.revokeToken>> {
    const inBody = body?.reason;
    if (query.reason !== undefined && inBody !== undefined && query.reason !== inBody) {
      throw new ForgeOneError('COMMAND.INVALID', 'the token revoke request gives two different reasons (body and ?reason=); give one');
    }
    const reason = inBody ?? query.reason;
    if (reason === undefined) {
      throw new ForgeOneError('COMMAND.INVALID', 'the token revoke request needs a reason: send { "reason": "<why>" } or ?reason=<why>; it is kept in the audit log');
    }
    const command = parseOrThrow(RevokeTokenRequestSchema, { tokenId: params.tokenId, reason }, 'COMMAND.INVALID', 'the token revoke request');
    return this.commands.send('tokenRevoke', command, credential);
  }
}
