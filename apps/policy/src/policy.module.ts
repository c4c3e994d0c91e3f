import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import { JetStreamEventStore } from '@forgeone/event-store';
import type { ServiceContext } from '@forgeone/service-host';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuthorizationGate } from './authorization.gate.js';
import { AuthzCheckController } from './authz-check.controller.js';
import { DecisionRecorder } from './decision.recorder.js';
import { PolicyCommandsController } from './policy-commands.controller.js';
import type { PolicyServiceOptions } from './policy.options.js';
import { PolicyState } from './policy.state.js';

/** Loads state before the service listens (Nest runs bootstrap hooks before the transport starts). */
@Injectable()
export class PolicyLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(PolicyState) private readonly state: PolicyState,
    @Inject(DecisionRecorder) private readonly recorder: DecisionRecorder,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.state.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.recorder.flush();
    await this.state.stop();
  }
}

/** The policy service: Cedar decisions on `forgeone.authz.check`, policy sets and tokens on `forgeone.cmd.policy.*`. */
@Module({})
export class PolicyModule {
  static forRoot(context: ServiceContext, options: PolicyServiceOptions): DynamicModule {
    const { logger } = context;
    return {
      module: PolicyModule,
      imports: [context.busModule],
      controllers: [AuthzCheckController, PolicyCommandsController],
      providers: [
        {
          provide: PolicyState,
          useFactory: (nc: NatsConnection, names: Names, store: JetStreamEventStore) => new PolicyState(nc, names, store, context.authorship, options, logger),
          inject: [BUS_CONNECTION, BUS_NAMES, JetStreamEventStore],
        },
        {
          provide: DecisionRecorder,
          useFactory: (store: JetStreamEventStore) => new DecisionRecorder(store, options.recordAllows, logger),
          inject: [JetStreamEventStore],
        },
        {
          provide: AuthorizationGate,
          useFactory: (state: PolicyState, recorder: DecisionRecorder) => new AuthorizationGate(state, recorder),
          inject: [PolicyState, DecisionRecorder],
        },
        PolicyLifecycle,
      ],
    };
  }
}
