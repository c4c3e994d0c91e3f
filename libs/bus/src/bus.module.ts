import type { Names } from '@forgeone/contracts';
import { ArtifactStore, JetStreamEventStore, type EventAuthorship } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusClient } from './bus.client.js';
import { BusCommandRegistry } from './bus-command.registry.js';
import { BusExceptionFilter } from './bus-exception.filter.js';

/** Injection token of the service's `NatsConnection`. */
export const BUS_CONNECTION = Symbol.for('forgeone.bus.connection');
/** Injection token of the service's `Names`. */
export const BUS_NAMES = Symbol.for('forgeone.bus.names');
/** Injection token of the `EventStore` port (the JetStream implementation). */
export const EVENT_STORE = Symbol.for('forgeone.bus.event-store');

export interface BusModuleOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  /**
   * Signs what the service appends and verifies what it reads. Without it the module provides no
   * event store (a service that reads no events, such as the gateway); injecting one then fails.
   */
  readonly authorship?: EventAuthorship;
  /** Logs refused events the store leaves out. */
  readonly logger?: Logger;
  /**
   * Register {@link BusExceptionFilter} globally (default true). Turn it off only in an app
   * that registers it itself next to its own global filters.
   */
  readonly exceptionFilter?: boolean;
}

/** Provider of a {@link BusClient} built from BUS_CONNECTION and BUS_NAMES. */
export const busClientProvider: Provider = {
  provide: BusClient,
  useFactory: (nc: NatsConnection, names: Names) => new BusClient(nc, names),
  inject: [BUS_CONNECTION, BUS_NAMES],
};

/**
 * Global wiring of a service's bus: the connection (BUS_CONNECTION), names (BUS_NAMES), the
 * {@link BusCommandRegistry} of the connection, {@link BusClient}, {@link ArtifactStore} and, given
 * its authorship, {@link JetStreamEventStore} (also as EVENT_STORE).
 */
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: BUS_CONNECTION, useValue: options.connection },
      { provide: BUS_NAMES, useValue: options.names },
      { provide: BusCommandRegistry, useValue: BusCommandRegistry.of(options.connection) },
      busClientProvider,
      {
        provide: ArtifactStore,
        useFactory: (nc: NatsConnection, names: Names) => new ArtifactStore(nc, names),
        inject: [BUS_CONNECTION, BUS_NAMES],
      },
    ];
    const { authorship } = options;
    if (authorship) {
      providers.push(
        {
          provide: JetStreamEventStore,
          useFactory: (nc: NatsConnection, names: Names) => new JetStreamEventStore(nc, names, { authorship, ...(options.logger ? { logger: options.logger } : {}) }),
          inject: [BUS_CONNECTION, BUS_NAMES],
        },
        { provide: EVENT_STORE, useExisting: JetStreamEventStore },
      );
    }
    if (options.exceptionFilter !== false) providers.push({ provide: APP_FILTER, useClass: BusExceptionFilter });
    return {
      module: BusModule,
      global: true,
      providers,
      exports: [BUS_CONNECTION, BUS_NAMES, BusCommandRegistry, BusClient, ArtifactStore, ...(authorship ? [JetStreamEventStore, EVENT_STORE] : [])],
    };
  }
}
