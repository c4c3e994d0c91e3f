import 'reflect-metadata';
import { connectNats } from '@forgeone/bus';
import { names as namesFor } from '@forgeone/contracts';
import { eventAuthorshipFromEnv } from '@forgeone/event-store';
import { createDataSource } from '@forgeone/persistence';
import { loadConfig, redactConfig, serviceNatsConnectionOptions } from '@forgeone/runtime';
import { guardPlatformNats, startMetricsFor, stopOnSignals } from '@forgeone/service-host';
import { createLogger, initTelemetry, shutdownTelemetry, type MetricsEndpoint } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { createGatewayApp } from './gateway.app.js';
import { gatewayAuthFromEnv, requireDatabaseUrl, requireNatsUrl } from './gateway.config.js';

await initTelemetry('forgeone-gateway');
const logger = createLogger('gateway');
let connection: NatsConnection | undefined;
let dataSource: DataSource | undefined;
let metrics: MetricsEndpoint | undefined;

try {
  const config = loadConfig();
  const natsUrl = requireNatsUrl(config);
  const databaseUrl = requireDatabaseUrl(config);
  // Without its service credential every query would be refused: refuse to start instead.
  const auth = gatewayAuthFromEnv(process.env);
  logger.info({ config: redactConfig(config) }, 'starting');
  metrics = await startMetricsFor('gateway', config, logger);
  const names = namesFor(config.namespace);
  // The pinned writer keys, as every service reads them: audit verify checks who wrote each row's event.
  const authorship = eventAuthorshipFromEnv(process.env, 'gateway', names);
  connection = await connectNats(natsUrl, 'forgeone-gateway', serviceNatsConnectionOptions(natsUrl, 'gateway', names));
  // Like every service: refuses missing or weakened storage and an insecure NATS before serving.
  const guard = await guardPlatformNats({ natsUrl, connection, names, logger, ...(config.natsCaFile ? { caFile: config.natsCaFile } : {}) });
  // Queries read the projections; their schema belongs to the audit-projector, so no migrations here.
  dataSource = await createDataSource(databaseUrl, { applicationName: 'forgeone-gateway' }).initialize();

  const app = await createGatewayApp({ connection, names, dataSource, logger, auth, platformChecks: guard.readiness, authorship });
  await app.startAllMicroservices();
  await app.listen(config.httpPort, '0.0.0.0');
  logger.info({ url: `http://127.0.0.1:${config.httpPort}`, docs: `http://127.0.0.1:${config.httpPort}/docs`, namespace: names.namespace || '(none)' }, 'ready');

  const ds = dataSource;
  const endpoint = metrics;
  stopOnSignals(logger, async () => {
    // Closing the app stops HTTP and the bus server, which drains the NATS connection.
    await app.close();
    await ds.destroy();
    await endpoint?.close();
    await shutdownTelemetry();
  });
} catch (error) {
  logger.fatal({ err: error }, `cannot start gateway: ${(error as Error).message}`);
  await dataSource?.destroy().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await metrics?.close().catch(() => undefined);
  await shutdownTelemetry();
  process.exit(1);
}
