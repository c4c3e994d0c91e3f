import { ForgeOneBusServer } from '@forgeone/bus';
import { PinoNestLogger } from '@forgeone/telemetry';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { assertJsonDepth } from '@forgeone/contracts';
import { JSON_BODY_LIMIT_BYTES } from './gateway.config.js';
import { GatewayModule, type GatewayModuleOptions } from './gateway.module.js';
import { AUTH_FAILURE_LIMITER, type AuthFailureLimiter } from './http/auth-failure.limiter.js';
import { apiReferenceAssetsFolder } from './http/docs.controller.js';
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
  // Only proxies named in FORGEONE_TRUSTED_PROXIES may say who the client is (X-Forwarded-For).
  const trustedProxies = options.auth.trustedProxies ?? [];
  app.set('trust proxy', trustedProxies.length > 0 ? [...trustedProxies] : false);
  // Order matters: the span opens before the body is read, so refused bodies are traced too; a client
  // refused for its failed authentications is answered before its body is read.
  app.use(tracingMiddleware);
  app.use('/v1', app.get<AuthFailureLimiter>(AUTH_FAILURE_LIMITER).middleware());
  // Nesting is measured on the raw bytes, before JSON.parse: deeper bodies overflow later recursive walks.
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT_BYTES, verify: (_req: unknown, _res: unknown, body: Buffer) => assertJsonDepth(body, 'the request body') });
  app.disable('x-powered-by');
  // Swagger UI's script and style for the page at /docs, from the npm package.
  app.useStaticAssets(apiReferenceAssetsFolder(), { prefix: '/docs/assets/', index: false, fallthrough: true });
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
