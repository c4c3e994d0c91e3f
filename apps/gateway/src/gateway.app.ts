import { ForgeOneBusServer } from '@forgeone/bus';
import { PinoNestLogger } from '@forgeone/telemetry';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { JSON_BODY_LIMIT_BYTES } from './gateway.config.js';
import { GatewayModule, type GatewayModuleOptions } from './gateway.module.js';
import { tracingMiddleware } from './http/tracing.middleware.js';
import { projectionsReadiness } from './projections.reader.js';

// Builds the gateway: the HTTP API and, on the bus, the gateway's own health subject.
// Not listening yet: call startAllMicroservices() and listen().
export async function createGatewayApp(options: GatewayModuleOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(options), {
    logger: new PinoNestLogger(options.logger),
    bodyParser: false,
    // Idle keep-alive connections (the CLI's fetch keeps them) must not hold up a shutdown.
    forceCloseConnections: true,
  });
  // Order matters: the span opens before the body is read, so refused bodies are traced too.
  app.use(tracingMiddleware);
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT_BYTES });
  app.disable('x-powered-by');
  app.connectMicroservice(
    {
      strategy: new ForgeOneBusServer({
        service: 'gateway',
        names: options.names,
        connection: options.connection,
        logger: options.logger,
        // Below the bus server's own 1.5 s bound, so a slow database reads as such, not as a timeout.
        readiness: async () => ({ ...options.platformChecks?.(), ...(await projectionsReadiness(options.dataSource, 1_000)) }),
      }),
    },
    { inheritAppConfig: false },
  );
  return app;
}
