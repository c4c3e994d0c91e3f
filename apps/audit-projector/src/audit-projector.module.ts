import { JetStreamEventStore } from '@forgeone/event-store';
import { createDataSource } from '@forgeone/persistence';
import type { ServiceContext } from '@forgeone/service-host';
import type { SigningKeyProvider } from '@forgeone/signing';
import { Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditCheckpointSigner } from './audit-checkpoint.signer.js';
import { ProjectEventHandler } from './project-event.handler.js';
import type { CheckpointOptions } from './projector.config.js';
import { CHECKPOINT_SIGNER_TOKEN, PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

class DataSourceCloser implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}
  async onApplicationShutdown() {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

class CheckpointSignerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly signer: AuditCheckpointSigner | null) {}
  onApplicationBootstrap() {
    this.signer?.start();
  }
  async onApplicationShutdown() {
    await this.signer?.stop();
  }
}

/** What signs checkpoints: the audit key and when to sign; absent for a rebuild projector, which signs nothing. */
export interface CheckpointSigning {
  readonly key: SigningKeyProvider;
  readonly options: CheckpointOptions;
}

@Module({})
export class AuditProjectorModule {
  static forRoot(context: ServiceContext, databaseUrl: string, projector: string, signing?: CheckpointSigning): DynamicModule {
    return {
      module: AuditProjectorModule,
      imports: [context.busModule],
      controllers: [ProjectEventHandler],
      providers: [
        { provide: PROJECTOR_NAME_TOKEN, useValue: projector },
        {
          provide: DataSource,
          useFactory: () => createDataSource(databaseUrl, { applicationName: `forgeone-${projector}` }).initialize(),
        },
        { provide: DataSourceCloser, useFactory: (ds: DataSource) => new DataSourceCloser(ds), inject: [DataSource] },
        {
          provide: CHECKPOINT_SIGNER_TOKEN,
          useFactory: (ds: DataSource, store: JetStreamEventStore) => (signing ? new AuditCheckpointSigner(ds, store, signing.key, signing.options, context.logger) : null),
          inject: [DataSource, JetStreamEventStore],
        },
        { provide: CheckpointSignerLifecycle, useFactory: (signer: AuditCheckpointSigner | null) => new CheckpointSignerLifecycle(signer), inject: [CHECKPOINT_SIGNER_TOKEN] },
      ],
    };
  }
}
