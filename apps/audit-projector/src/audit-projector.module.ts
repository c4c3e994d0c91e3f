import { authzClientProvider, type AuthzClientSettings } from '@forgeone/authz-client';
import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import { JetStreamEventStore } from '@forgeone/event-store';
import { createDataSource } from '@forgeone/persistence';
import type { ServiceContext } from '@forgeone/service-host';
import type { SigningKeyProvider } from '@forgeone/signing';
import type { NatsConnection } from '@nats-io/transport-node';
import { Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditCheckpointSigner } from './audit-checkpoint.signer.js';
import { EvidenceExportController } from './evidence-export.controller.js';
import { ProjectEventHandler } from './project-event.handler.js';
import { ProjectionRebuildController } from './projection-rebuild.controller.js';
import { ProjectionRebuilds } from './projection-rebuild.runner.js';
import type { CheckpointOptions } from './projector.config.js';
import { AUDIT_KEY_TOKEN, CHECKPOINT_SIGNER_TOKEN, PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

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

/** What signs checkpoints: the audit key and when to sign; absent for a second projector, which signs nothing. */
export interface CheckpointSigning {
  readonly key: SigningKeyProvider;
  readonly options: CheckpointOptions;
}

export interface AuditProjectorOptions {
  readonly databaseUrl: string;
  readonly projector: string;
  /** The projector's own service credential, sent with its authorisation checks. */
  readonly serviceCredential: () => string;
  readonly authz: AuthzClientSettings;
}

@Module({})
export class AuditProjectorModule {
  static forRoot(context: ServiceContext, options: AuditProjectorOptions, signing?: CheckpointSigning): DynamicModule {
    const { databaseUrl, projector } = options;
    return {
      module: AuditProjectorModule,
      imports: [context.busModule],
      controllers: [ProjectEventHandler, ProjectionRebuildController, EvidenceExportController],
      providers: [
        { provide: PROJECTOR_NAME_TOKEN, useValue: projector },
        { provide: AUDIT_KEY_TOKEN, useValue: signing?.key ?? null },
        {
          provide: DataSource,
          useFactory: () => createDataSource(databaseUrl, { applicationName: `forgeone-${projector}` }).initialize(),
        },
        { provide: DataSourceCloser, useFactory: (ds: DataSource) => new DataSourceCloser(ds), inject: [DataSource] },
        authzClientProvider({ serviceCredential: options.serviceCredential, ...options.authz }),
        {
          provide: ProjectionRebuilds,
          useFactory: (live: DataSource, connection: NatsConnection, names: Names, events: JetStreamEventStore) =>
            new ProjectionRebuilds({ live, databaseUrl, projector, connection, names, authorship: context.authorship, events, logger: context.logger }),
          inject: [DataSource, BUS_CONNECTION, BUS_NAMES, JetStreamEventStore],
        },
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
