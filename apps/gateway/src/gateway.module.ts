import { authzClientProvider } from '@forgeone/authz-client';
import { BusModule, type ReadinessChecks } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import type { EventAuthorship } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DEFAULT_AUTHENTICATION_FAILURE_SETTINGS } from '@forgeone/authz';
import { DEFAULT_GATEWAY_SETTINGS, GATEWAY_EVENT_AUTHORSHIP, GATEWAY_LOGGER, GATEWAY_PLATFORM_CHECKS, GATEWAY_SETTINGS, type GatewayAuthOptions, type GatewaySettings } from './gateway.config.js';
import { AUTH_FAILURE_LIMITER, AuthFailureLimiter } from './http/auth-failure.limiter.js';
import { ClientSourceInterceptor } from './http/client-source.js';
import { RouteContractInterceptor } from './http/contract-route.js';
import { AuditVerifier } from './audit.verifier.js';
import { AuditLogController } from './http/audit-log.controller.js';
import { DocsController } from './http/docs.controller.js';
import { EnvironmentsController } from './http/environments.controller.js';
import { HttpErrorFilter } from './http/error.filter.js';
import { HealthController } from './http/health.controller.js';
import { InstallationsController } from './http/installations.controller.js';
import { PromotionsController } from './http/promotions.controller.js';
import { InvocationsController } from './http/invocations.controller.js';
import { KeysController } from './http/keys.controller.js';
import { PluginsController } from './http/plugins.controller.js';
import { PoliciesController } from './http/policies.controller.js';
import { EvidenceController } from './http/evidence.controller.js';
import { SiemController } from './http/siem.controller.js';
import { ReportsController } from './http/reports.controller.js';
import { ReviewsController } from './http/reviews.controller.js';
import { SettingsController } from './http/settings.controller.js';
import { TokensController } from './http/tokens.controller.js';
import { TestRunsController } from './http/test-runs.controller.js';
import { TraceContextInterceptor } from './http/tracing.middleware.js';
import { PolicyCommandSender } from './policy-commands.sender.js';
import { PluginStorageReader } from './plugin-storage.reader.js';
import { ProjectionsReader } from './projections.reader.js';
import { QueryAuthorizer } from './query.authorizer.js';
import { RegistryCommandSender } from './registry-commands.sender.js';
import { SignerCommandSender } from './signer-commands.sender.js';

export interface GatewayModuleOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  // Initialized DataSource over the projections; the gateway never migrates it.
  readonly dataSource: DataSource;
  readonly logger: Logger;
  // The gateway's own credential for authz.check and the decision cache settings.
  readonly auth: GatewayAuthOptions;
  readonly settings?: Partial<GatewaySettings>;
  // What the start found about NATS (the security probe), shown among the gateway's own checks.
  readonly platformChecks?: () => ReadinessChecks;
  // The writer keys pinned for this platform (FORGEONE_EVENT_WRITER_KEYS): audit verify checks each row's stream message with them.
  readonly authorship?: EventAuthorship;
}

@Module({})
export class GatewayModule {
  static forRoot(options: GatewayModuleOptions): DynamicModule {
    return {
      module: GatewayModule,
      // The gateway's HttpErrorFilter is its only global filter; it leaves bus errors to the transport.
      imports: [BusModule.forRoot({ connection: options.connection, names: options.names, exceptionFilter: false })],
      controllers: [PluginsController, InstallationsController, PromotionsController, EnvironmentsController, InvocationsController, AuditLogController, EvidenceController, ReportsController, SettingsController, PoliciesController, TokensController, KeysController, HealthController, DocsController, SiemController, TestRunsController, ReviewsController],
      providers: [
        { provide: DataSource, useValue: options.dataSource },
        { provide: GATEWAY_LOGGER, useValue: options.logger },
        { provide: GATEWAY_PLATFORM_CHECKS, useValue: options.platformChecks ?? (() => ({})) },
        { provide: GATEWAY_EVENT_AUTHORSHIP, useValue: options.authorship ?? null },
        { provide: GATEWAY_SETTINGS, useValue: { ...DEFAULT_GATEWAY_SETTINGS, ...options.settings } },
        authzClientProvider({ serviceCredential: options.auth.serviceCredential, ...options.auth.authz }),
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: TraceContextInterceptor },
        { provide: APP_INTERCEPTOR, useClass: ClientSourceInterceptor },
        // After the client source is set: the queries it authorises carry their source to policy.
        { provide: APP_INTERCEPTOR, useClass: RouteContractInterceptor },
        { provide: AUTH_FAILURE_LIMITER, useValue: new AuthFailureLimiter(options.auth.failures ?? DEFAULT_AUTHENTICATION_FAILURE_SETTINGS) },
        ProjectionsReader,
        AuditVerifier,
        PluginStorageReader,
        RegistryCommandSender,
        PolicyCommandSender,
        SignerCommandSender,
        QueryAuthorizer,
      ],
    };
  }
}
