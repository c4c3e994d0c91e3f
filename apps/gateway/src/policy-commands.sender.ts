import { BusClient } from '@forgeone/bus';
import { POLICY_VERBS } from '@forgeone/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from './gateway.config.js';
import { clientSourceHeaders } from './http/client-source.js';

export type PolicyVerb = keyof typeof POLICY_VERBS;

// Sends a validated command to the policy service with the caller's credential; policy
// authenticates and authorises it. Policy state is not in the projections, so there is no wait.
@Injectable()
export class PolicyCommandSender {
  constructor(
    private readonly bus: BusClient,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  send<T>(verb: PolicyVerb, command: object, credential: string): Promise<T> {
    return this.bus.request<T>('policy', POLICY_VERBS[verb], command, { credential, timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }
}
