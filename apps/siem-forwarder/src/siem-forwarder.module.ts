import { authzClientProvider, type AuthzClientSettings } from '@forgeone/authz-client';
import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import { createDataSource } from '@forgeone/persistence';
import type { ServiceContext } from '@forgeone/service-host';
import { SinkCheckpointStore, type SiemConfig } from '@forgeone/siem';
import { ConfigSecretBox, type ConfigSecretKeyProvider } from '@forgeone/signing';
import type { NatsConnection } from '@nats-io/transport-node';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SiemForwarder } from './siem-forwarder.js';
import { SiemStatusController } from './siem-status.controller.js';

class DataSourceCloser implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}
  async onApplicationShutdown() {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

export interface SiemForwarderOptions {
  readonly databaseUrl: string;
  readonly siem: SiemConfig;
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
  /** Opens tenant sinks' HEC tokens (FORGEONE_CONFIG_SECRET_KEY). */
  readonly configSecretKey: ConfigSecretKeyProvider;
}

@Module({})
export class SiemForwarderModule {
  static forRoot(context: ServiceContext, options: SiemForwarderOptions): DynamicModule {
    return {
      module: SiemForwarderModule,
      imports: [context.busModule],
      controllers: [SiemStatusController],
      providers: [
        { provide: DataSource, useFactory: () => createDataSource(options.databaseUrl, { applicationName: 'forgeone-siem-forwarder', poolSize: 4 }).initialize() },
        { provide: DataSourceCloser, useFactory: (ds: DataSource) => new DataSourceCloser(ds), inject: [DataSource] },
        { provide: SinkCheckpointStore, useFactory: (ds: DataSource) => new SinkCheckpointStore(ds), inject: [DataSource] },
        authzClientProvider({ serviceCredential: options.serviceCredential, ...options.authz }),
        {
          provide: SiemForwarder,
          useFactory: (connection: NatsConnection, names: Names, checkpoints: SinkCheckpointStore) =>
            new SiemForwarder(options.siem, connection, names, context.authorship, checkpoints, context.logger, ConfigSecretBox.from(options.configSecretKey) ?? null),
          inject: [BUS_CONNECTION, BUS_NAMES, SinkCheckpointStore],
        },
      ],
    };
  }
}
