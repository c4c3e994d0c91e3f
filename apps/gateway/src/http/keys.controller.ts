import { ForgeOneError, parseOrThrow, RevokeKeyRequestSchema } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { SignerCommandSender } from '../signer-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/keys: the caller's tenant's trust store of publisher keys, each route one signer command
// (the signer checks `trust-key`, `revoke-key` or `read` on the tenant).
@Controller()
export class KeysController {
  constructor(private readonly commands: SignerCommandSender) {}

  @ContractRoute(API.trustKey)
  trust(@RouteRequest() { body, credential }: RouteInput<typeof API.trustKey>): Promise<RouteReply<typeof API.trustKey>> {
    return this.commands.send('trustKey', body, credential);
  }

  @ContractRoute(API.listKeys)
  list(@RouteRequest() { credential }: RouteInput<typeof API.listKeys>): Promise<RouteReply<typeof API.listKeys>> {
    return this.commands.send('listKeys', {}, credential);
  }

  // The reason comes in the body ({ "reason": ..., "revokedAt"?: ... }) or, for clients that send no DELETE body, as ?reason=.
  @ContractRoute(API.revokeKey)
  revoke(@RouteRequest() { params, query, body, credential }: RouteInput<typeof API.revokeKey>): Promise<RouteReply<typeof API.revokeKey>> {
    const inBody = body ?? {};
    if (query.reason !== undefined && inBody.reason !== undefined && query.reason !== inBody.reason) {
      throw new ForgeOneError('COMMAND.INVALID', 'the key revoke request gives two different reasons (body and ?reason=); give one');
    }
    const reason = inBody.reason ?? query.reason;
    if (reason === undefined) {
      throw new ForgeOneError('COMMAND.INVALID', 'the key revoke request needs a reason: send { "reason": "<why>" } or ?reason=<why>; it is kept in the audit log');
    }
    const revokedAt = inBody.revokedAt ?? query.revokedAt;
    const command = parseOrThrow(RevokeKeyRequestSchema, { keyId: params.keyId, reason, ...(revokedAt ? { revokedAt } : {}) }, 'COMMAND.INVALID', 'the key revoke request');
    return this.commands.send('revokeKey', command, credential);
  }
}
