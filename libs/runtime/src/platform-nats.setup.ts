import { busInboxPrefix, names as namesFor } from '@forgeone/contracts';
import { provisionPlatformStorage, type PlatformStorageSettings, type ProvisionedStorage } from '@forgeone/event-store';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { redactUrl } from './config.js';
import { refuseInsecureNats } from './nats-security.probe.js';
import { natsConnectionOptions, natsCredentialOptions, natsTlsHint, type NatsTlsSettings } from './nats-url.js';
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
  /** The operator's credential on a server the platform started (NKey seed or user:password). */
  readonly credential?: string;
  /** The CA of the servers' TLS certificates (FORGEONE_NATS_CA_FILE). */
  readonly caFile?: string;
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
  const tls = options.caFile ? { caFile: options.caFile } : {};
  for (const done of await provisionPlatformStorageAt(natsUrl, options.namespace, config.storage, options.credential, tls)) logProvisioned(logger, done);
  // The private nats-server refuses anonymous clients and enforces the generated permissions; an external one is probed.
  if (!options.managed) await refuseInsecureNats(natsUrl, names, { insecure: config.insecure, logger, ...tls });
  return {};
}

/**
 * Connects to `natsUrl` (a user allowed to create and update streams; TLS checked against `tls.caFile`
 * when given), runs {@link provisionPlatformStorage} for `namespace` and disconnects; what `forgeone admin setup` runs.
 */
export async function provisionPlatformStorageAt(
  natsUrl: string,
  namespace: string,
  settings: PlatformStorageSettings,
  credential?: string,
  tls: NatsTlsSettings = {},
): Promise<ProvisionedStorage[]> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...natsConnectionOptions(natsUrl, tls),
      ...(credential ? { ...natsCredentialOptions(credential), inboxPrefix: busInboxPrefix(namesFor(namespace), { kind: 'operator' }) } : {}),
      name: 'forgeone-storage-setup',
      timeout: 5_000,
      maxReconnectAttempts: 0,
    });
  } catch (error) {
    throw new Error(`cannot connect to NATS ${redactUrl(natsUrl)} to provision the platform's storage: ${(error as Error).message}${natsTlsHint(error, tls)}`, { cause: error });
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
