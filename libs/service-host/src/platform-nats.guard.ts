import type { ReadinessChecks } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import { checkPlatformStorage, platformStorage, StorageUsageMonitor, type PlatformStorageKind } from '@forgeone/event-store';
import { loadPlatformNatsConfig, refuseInsecureNats, type NatsSecurityReport } from '@forgeone/runtime';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';

/** What a service found out about its NATS at start, for its health reply. */
export interface PlatformNatsGuard {
  /** The anonymous-access probe's findings; `exposures` is non-empty only in insecure mode. */
  readonly security: NatsSecurityReport;
  /** `natsSecurity` (always) and `storage` (services that write) entries for the health reply. */
  readiness(): ReadinessChecks;
  stop(): void;
}

export interface GuardPlatformNatsOptions {
  readonly natsUrl: string;
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly logger: Logger;
  /** The storage this service writes, watched for usage alarms. */
  readonly writes?: readonly PlatformStorageKind[];
  readonly env?: NodeJS.ProcessEnv;
  /** The CA of the servers' TLS certificates (FORGEONE_NATS_CA_FILE), for the anonymous probe's own connection. */
  readonly caFile?: string;
}

/**
 * What every service runs at start, before it serves anything: checks the platform's storage
 * (reading its configuration only; missing or weakened storage throws, naming the setting),
 * probes the NATS as an anonymous client and refuses an insecure one unless FORGEONE_NATS_INSECURE=1,
 * and starts the usage alarms of the storage the service writes.
 */
export async function guardPlatformNats(options: GuardPlatformNatsOptions): Promise<PlatformNatsGuard> {
  const { connection, names, logger } = options;
  const config = loadPlatformNatsConfig(options.env ?? process.env);
  await checkPlatformStorage(connection, names, config.storage);
  const security = await refuseInsecureNats(options.natsUrl, names, { insecure: config.insecure, logger, ...(options.caFile ? { caFile: options.caFile } : {}) });
  const written = new Set(options.writes ?? []);
  const watched = platformStorage(names, config.storage).filter((storage) => written.has(storage.kind));
  const monitor = new StorageUsageMonitor(connection, watched, logger, { intervalMs: config.storageCheckIntervalMs });
  monitor.start();
  const securityCheck =
    security.exposures.length > 0
      ? { ok: true, detail: `INSECURE (FORGEONE_NATS_INSECURE=1): a client without credentials may ${security.exposures.join('; may ')}` }
      : { ok: true, detail: security.anonymousConnects ? 'clients without credentials may not write events, read commands or change the stream' : 'clients without credentials are refused' };
  return {
    security,
    readiness: () => ({ natsSecurity: securityCheck, ...(watched.length > 0 ? { storage: monitor.health() } : {}) }),
    stop: () => monitor.stop(),
  };
}
