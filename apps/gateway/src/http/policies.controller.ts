import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { PolicyCommandSender } from '../policy-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/policies: the Cedar policy set (apply a new version, show the active one) and what-if
// checks, each one policy command; the policy service authenticates and authorises the caller.
// Apply answers 200, not 201 (the contract says so): the reply is the active set, which may be unchanged.
@Controller()
export class PoliciesController {
  constructor(private readonly commands: PolicyCommandSender) {}

  @ContractRoute(API.applyPolicies)
  apply(@RouteRequest() { body, credential }: RouteInput<typeof API.applyPolicies>): Promise<RouteReply<typeof API.applyPolicies>> {
    return this.commands.send('apply', body, credential);
  }

  @ContractRoute(API.showPolicies)
  show(@RouteRequest() { credential }: RouteInput<typeof API.showPolicies>): Promise<RouteReply<typeof API.showPolicies>> {
    return this.commands.send('show', {}, credential);
  }

  // A resource without a tenant is left so: policy defaults it to the check's tenant, else the caller's.
  @ContractRoute(API.checkPolicy)
  check(@RouteRequest() { body, credential }: RouteInput<typeof API.checkPolicy>): Promise<RouteReply<typeof API.checkPolicy>> {
    return this.commands.send('check', body, credential);
  }
}
