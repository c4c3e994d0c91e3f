import { BusClient } from '@forgeone/bus';
import { SIGNER_VERBS } from '@forgeone/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from './gateway.config.js';
import { clientSourceHeaders } from './http/client-source.js';

export type SignerVerb = keyof typeof SIGNER_VERBS;

// Sends a validated command to the signer with the caller's credential; the signer authorises it.
// Key events are not projected, and the signer reads them fresh, so there is no wait.
@Injectable()
export class SignerCommandSender {
  constructor(
    private readonly bus: BusClient,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  send<T>(verb: SignerVerb, command: object, credential: string): Promise<T> {
    return this.bus.request<T>('signer', SIGNER_VERBS[verb], command, { credential, timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }
}
