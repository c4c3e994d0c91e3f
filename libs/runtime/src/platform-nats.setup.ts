import { names as namesFor } from '@forgeone/contracts';
import { provisionPlatformStorage, type PlatformStorageSettings, type ProvisionedStorage } from '@forgeone/event-store';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { redactUrl } from './config.js';
import { refuseInsecureNats } from './nats-security.probe.js';
import { natsConnectionOptions } from './nats-url.js';
import type { PlatformNatsConfig } from './platform-nats.config.js';
import type { Logger } from './runtime.logger.js';

export interface PreparePlatformNatsOptions {
  /** NATS to provision on; its user must be allowed to create and update streams. */
  readonly natsUrl: string;
  /** True for the private nats-server the platform started itself. */
  readonly managed: boolean;
  readonly namespace: string;
  readonly config: PlatformNatsConfig;
  readonly logger: Logger;
}

/**
 * What the platform does on its NATS before any service starts: provisions the storage
 * ({@link provisionPlatformStorage}: creates what is missing, raises what is below the settings,
 * lowers nothing) and, on an external NATS, refuses one that anonymous clients may write to unless
 * FORGEONE_NATS_INSECURE=1. Returns variables to add to every service's environment.
 */
export async function preparePlatformNats(options: PreparePlatformNatsOptions): Promise<Record<string, string>> {
  const { natsUrl, logger, config } = options;
  const names = namesFor(options.namespace);
  for (const done of await provisionPlatformStorageAt(natsUrl, options.namespace, config.storage)) logProvisioned(logger, done);
  if (!options.managed) {
    await refuseInsecureNats(natsUrl, names, { insecure: config.insecure, logger });
    return {};
  }
  // The private nats-server has no users, so every client on this machine may use it: each service
  // probes it, says so at error level and runs (the policy service records it in the audit log).
  logger.debug({ natsUrl: redactUrl(natsUrl) }, 'private nats-server without users: services run in insecure mode');
  return { FORGEONE_NATS_INSECURE: '1' };
}

/**
 * Connects to `natsUrl` (a user allowed to create and update streams), runs
 * {@link provisionPlatformStorage} for `namespace` and disconnects; what `forgeone admin setup` runs.
 */
export async function provisionPlatformStorageAt(natsUrl: string, namespace: string, settings: PlatformStorageSettings): Promise<ProvisionedStorage[]> {
  let nc: NatsConnection;
  try {
    nc = await connect({ ...natsConnectionOptions(natsUrl), name: 'forgeone-storage-setup', timeout: 5_000, maxReconnectAttempts: 0 });
  } catch (error) {
    throw new Error(`cannot connect to NATS ${redactUrl(natsUrl)} to provision the platform's storage: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await provisionPlatformStorage(nc, namesFor(namespace), settings);
  } finally {
    await nc.close();
  }
}

function logProvisioned(logger: Logger, done: ProvisionedStorage): void {
  if (done.action === 'unchanged') logger.debug({ storage: done.label }, 'storage as required');
  else logger.info({ storage: done.label, action: done.action, changes: done.changes }, `${done.label} ${done.action}${done.changes.length ? `: ${done.changes.join(', ')}` : ''}`);
}
