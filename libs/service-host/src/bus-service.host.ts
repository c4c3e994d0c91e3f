import { BusModule, connectNats, ForgeOneBusServer, type BusConsumerOptions, type ReadinessChecks } from '@forgeone/bus';
import { names as namesFor, type Names, type ServiceName } from '@forgeone/contracts';
import { eventAuthorshipFromEnv, type EventAuthorship, type PlatformStorageKind } from '@forgeone/event-store';
import { loadConfig, redactConfig, serviceNatsConnectionOptions, type NatsSecurityReport, type PlatformConfig } from '@forgeone/runtime';
import { createLogger, initTelemetry, PinoNestLogger, shutdownTelemetry, startMetrics, type Logger, type MetricsEndpoint } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DynamicModule, INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { guardPlatformNats } from './platform-nats.guard.js';

/** What a service's root module is built from. */
export interface ServiceContext {
  readonly config: PlatformConfig;
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly logger: Logger;
  /** Signs the service's own events and verifies every event it reads (from FORGEONE_EVENT_*). */
  readonly authorship: EventAuthorship;
  /** Import this in the root module: it provides the connection, names, bus client and stores. */
  readonly busModule: DynamicModule;
  /** What a client without credentials may do on this NATS (non-empty exposures only in insecure mode). */
  readonly natsSecurity?: NatsSecurityReport;
}

export interface BusServiceDefinition {
  readonly service: ServiceName;
  /** The root module; it receives the context so it can wire config into providers. */
  readonly module: (context: ServiceContext) => Type | DynamicModule;
  /**
   * A durable consumer of the event stream, for services with event handlers; `app` gives the
   * module's providers once it is created (for a consumer that resumes from a stored checkpoint).
   */
  readonly consumer?: (names: Names, app: () => INestApplicationContext) => BusConsumerOptions;
  /** Extra readiness checks (a database, a halted projection). */
  readonly readiness?: (app: INestApplicationContext) => Promise<ReadinessChecks>;
  /** The platform storage this service writes, watched for usage alarms (FORGEONE_STORAGE_CHECK_INTERVAL_MS). */
  readonly writes?: readonly PlatformStorageKind[];
  /** Runs after the module is created and before the service listens (migrations, warm-up). */
  readonly beforeListen?: (app: INestApplicationContext, context: ServiceContext) => Promise<void>;
  /** Runs at shutdown once no command or event is in flight, while NATS is still connected (write what is buffered). */
  readonly beforeDisconnect?: (app: INestApplicationContext) => Promise<void>;
}

/**
 * Boots a ForgeOne service on the bus: telemetry, JSON logs, configuration, event authorship, NATS,
 * a check of the platform's storage and of the NATS's security (refusing to start on either's
 * failure), the Nest microservice with the ForgeOne transport; on SIGTERM or SIGINT it drains NATS,
 * closes the module (pools included) and exits.
 */
export async function runBusService(definition: BusServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await initTelemetry(`forgeone-${definition.service}`, env);
  const logger = createLogger(definition.service);
  let metrics: MetricsEndpoint | undefined;
  try {
    const config = loadConfig(env);
    if (!config.natsUrl) throw new Error('NATS_URL is not set: a service needs the NATS server of its platform (npm start sets it)');
    logger.info({ config: redactConfig(config) }, 'starting');
    // Before the module: instruments and observers registered while it is built record from the start.
    metrics = await startMetricsFor(definition.service, config, logger);
    const names = namesFor(config.namespace);
    // Before connecting: a writer without its key, or a reader without the pinned keys, does not start.
    const authorship = eventAuthorshipFromEnv(env, definition.service, names);
    const connection = await connectNats(config.natsUrl, `forgeone-${definition.service}`, serviceNatsConnectionOptions(config.natsUrl, definition.service, names, env));
    const guard = await guardPlatformNats({
      natsUrl: config.natsUrl,
      connection,
      names,
      logger,
      writes: definition.writes ?? [],
      env,
      ...(config.natsCaFile ? { caFile: config.natsCaFile } : {}),
    });
    const context: ServiceContext = {
      config,
      connection,
      names,
      logger,
      authorship,
      busModule: BusModule.forRoot({ connection, names, authorship, logger }),
      natsSecurity: guard.security,
    };

    const created: { app?: INestApplicationContext } = {};
    const app = () => {
      if (!created.app) throw new Error(`${definition.service} is not created yet`);
      return created.app;
    };
    const server = new ForgeOneBusServer({
      service: definition.service,
      names,
      connection,
      logger,
      authorship,
      ...(definition.consumer ? { consumer: definition.consumer(names, app) } : {}),
      readiness: async () => ({ ...guard.readiness(), ...(created.app && definition.readiness ? await definition.readiness(created.app) : {}) }),
      ...(definition.beforeDisconnect ? { beforeDisconnect: async () => (created.app ? definition.beforeDisconnect?.(created.app) : undefined) } : {}),
    });
    const micro = await NestFactory.createMicroservice(definition.module(context), {
      strategy: server,
      logger: new PinoNestLogger(logger),
      bufferLogs: false,
    });
    created.app = micro;
    await definition.beforeListen?.(micro, context);
    await micro.listen();
    logger.info({ namespace: names.namespace || '(none)' }, 'ready');
    const endpoint = metrics;
    stopOnSignals(logger, async () => {
      guard.stop();
      await micro.close();
      await endpoint?.close();
      await shutdownTelemetry();
    });
  } catch (error) {
    logger.fatal({ err: error }, `cannot start ${definition.service}: ${(error as Error).message}`);
    await metrics?.close().catch(() => undefined);
    await shutdownTelemetry();
    process.exit(1);
  }
}

/**
 * Serves the service's Prometheus metrics when FORGEONE_METRICS_PORT is set, and logs where
 * (`npm start` gives each service its own port). The token is never logged.
 */
export async function startMetricsFor(service: string, config: PlatformConfig, logger: Logger): Promise<MetricsEndpoint | undefined> {
  const { port, host, token, pluginMetricNames, toggleSignal } = config.metrics;
  const endpoint = await startMetrics(`forgeone-${service}`, { ...(port !== undefined ? { port } : {}), host, ...(token ? { token } : {}), pluginMetricNames });
  if (endpoint) logger.info({ metrics: endpoint.url, scrapeToken: token ? 'required' : 'none (loopback only)', ...(toggleSignal ? { toggleSignal } : {}) }, 'serving metrics');
  if (endpoint && toggleSignal) {
    // Off unless configured: lets a benchmark compare recording on and off within the same process.
    process.on(toggleSignal, () => {
      endpoint.setRecording(!endpoint.recording);
      logger.info({ recording: endpoint.recording }, endpoint.recording ? 'metrics recording resumed' : 'metrics recording paused');
    });
  }
  return endpoint;
}

/** Graceful stop on SIGTERM/SIGINT: one attempt, bounded in time, then exit. */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, graceMs = 10_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'did not stop in time; exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
