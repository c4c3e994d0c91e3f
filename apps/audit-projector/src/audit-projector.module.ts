import { createDataSource } from '@forgeone/persistence';
import type { ServiceContext } from '@forgeone/service-host';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ProjectEventHandler } from './project-event.handler.js';
import { PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

class DataSourceCloser implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}
  async onApplicationShutdown() {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class AuditProjectorModule {
  static forRoot(context: ServiceContext, databaseUrl: string, projector: string): DynamicModule {
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
      ],
    };
  }
}
