import { EventContext, HaltConsumerError } from '@forgeone/bus';
import type { CloudEvent } from '@forgeone/contracts';
import { applyEvent, AuditLogConflictError, PoisonEventError, ProjectionGapError } from '@forgeone/persistence';
import { createLogger } from '@forgeone/telemetry';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

const log = createLogger('audit-projector');

/**
 * Writes every event of the stream into the projections and the audit log, in stream order,
 * one transaction per event. A gap, a poison event or an audit conflict halts the consumer:
 * the projector never skips an event, and an operator sees why in the logs and in readiness.
 */
@Controller()
export class ProjectEventHandler {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(PROJECTOR_NAME_TOKEN) private readonly projector: string,
  ) {}

  @EventPattern<string>('*')
  async project(@Payload() event: CloudEvent, @Ctx() ctx: EventContext): Promise<void> {
    try {
      const outcome = await applyEvent(this.dataSource, this.projector, ctx.sequence, event);
      log.debug({ sequence: ctx.sequence, type: event.type, outcome }, 'projected');
    } catch (error) {
      if (error instanceof ProjectionGapError || error instanceof PoisonEventError || error instanceof AuditLogConflictError) {
        throw new HaltConsumerError(`${error.code} at stream sequence ${ctx.sequence}: ${error.message}`);
      }
      // Anything else (the database is down, a deadlock) is retried with backoff by the transport.
      throw error;
    }
  }
}
