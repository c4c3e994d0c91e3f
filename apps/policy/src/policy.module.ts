import { AuthenticationFailureTally, PLATFORM_TENANT } from '@forgeone/authz';
import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import { JetStreamEventStore } from '@forgeone/event-store';
import type { ServiceContext } from '@forgeone/service-host';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuthorizationGate } from './authorization.gate.js';
import { AuthzCheckController } from './authz-check.controller.js';
import { DecisionRecorder } from './decision.recorder.js';
import { recordInsecureStart } from './insecure-start.recorder.js';
import { PolicyCommandsController } from './policy-commands.controller.js';
import type { PolicyServiceOptions } from './policy.options.js';
import { PolicyState } from './policy.state.js';

const SERVICE_CONTEXT = Symbol.for('forgeone.policy.service-context');
// Most often the counts of a closed window of failed authentications wait to be written.
const MAX_FAILURE_FLUSH_INTERVAL_MS = 5_000;
const POLICY_LOGGER = Symbol('POLICY_LOGGER');

/**
 * Loads state before the service listens (Nest runs bootstrap hooks before the transport starts),
 * writes the counts of failed authentications as their windows close, and the open window's when
 * the service stops, and the allows still being recorded ({@link PolicyLifecycle.finishWrites}, before NATS is drained).
 */
@Injectable()
export class PolicyLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @Inject(PolicyState) private readonly state: PolicyState,
    @Inject(DecisionRecorder) private readonly recorder: DecisionRecorder,
    @Inject(AuthorizationGate) private readonly gate: AuthorizationGate,
    @Inject(POLICY_LOGGER) private readonly logger: Logger,
    @Inject(JetStreamEventStore) private readonly store: JetStreamEventStore,
    @Inject(SERVICE_CONTEXT) private readonly context: ServiceContext,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.state.start();
    await recordInsecureStart(this.store, this.context.natsSecurity, this.context.logger);
    const interval = Math.min(this.gate.failureWindowMs, MAX_FAILURE_FLUSH_INTERVAL_MS);
    this.flushTimer = setInterval(() => void this.flushFailureCounts(false), interval);
    this.flushTimer.unref();
  }

  /** Stops the window timer and writes every count still held. */
  async writeOpenCounts(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushFailureCounts(true);
  }

  /**
   * What the bus server calls once no command is being answered, before it disconnects: the open
   * counts, then every allow still waiting or being written, while their acknowledgements can arrive.
   */
  async finishWrites(): Promise<void> {
    await this.writeOpenCounts();
    await this.recorder.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    // Normally done before the connection was drained; a count still held now cannot be written and is logged.
    await this.writeOpenCounts();
    await this.recorder.flush();
    await this.state.stop();
  }

  // One flush at a time, so a slow write never has two drains racing over the same counts.
  private flushFailureCounts(all: boolean): Promise<void> {
    this.flushing = this.flushing.then(() =>
      this.gate.flushFailureCounts(all, (error, count) => this.logger.error({ err: error, count }, 'could not record a count of failed authentications')),
    );
    return this.flushing;
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
          useFactory: (state: PolicyState, recorder: DecisionRecorder) =>
            new AuthorizationGate(
              state,
              recorder,
              new AuthenticationFailureTally({
                windowMs: options.authenticationFailures.windowMs,
                recordedPerSource: options.authenticationFailures.recordedPerSource,
                overflowTenant: PLATFORM_TENANT,
              }),
            ),
          inject: [PolicyState, DecisionRecorder],
        },
        { provide: POLICY_LOGGER, useValue: logger },
        { provide: SERVICE_CONTEXT, useValue: context },
        PolicyLifecycle,
      ],
    };
  }
}
