import { BusClient } from '@forgeone/bus';
import { ForgeOneError, PLUGIN_STORAGE_VERB, type PluginStorageReply } from '@forgeone/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_SETTINGS, type GatewaySettings } from './gateway.config.js';

// Storage quota and usage live in the plugin key/value bucket, which only the sandbox-runner reads:
// the gateway asks it with the caller's credential (the runner authorises `read` like every query).
@Injectable()
export class PluginStorageReader {
  constructor(
    private readonly bus: BusClient,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  // Null when no runner answers: the rest of `plugin show` comes from the projections and still stands.
  async read(name: string, credential: string): Promise<PluginStorageReply | null> {
    try {
      return await this.bus.request<PluginStorageReply>('sandbox-runner', PLUGIN_STORAGE_VERB, { name }, { credential, timeoutMs: this.settings.commandTimeoutMs });
    } catch (error) {
      if (error instanceof ForgeOneError && (error.code === 'SERVICE.UNAVAILABLE' || error.code === 'SERVICE.TIMEOUT')) return null;
      throw error;
    }
  }
}
