import { EventContext, HaltConsumerError, REFUSED_EVENT_PATTERN, type RefusedEvent } from '@forgeone/bus';
import { HEADERS, type CloudEvent } from '@forgeone/contracts';
import { applyEvent, AuditLogConflictError, PoisonEventError, ProjectionGapError, recordForgedEvent } from '@forgeone/persistence';
import { createLogger } from '@forgeone/telemetry';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import type { AuditCheckpointSigner } from './audit-checkpoint.signer.js';
import { CHECKPOINT_SIGNER_TOKEN, PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

const log = createLogger('audit-projector');

/**
 * Writes every event of the stream into the projections and the audit log, in stream order,
 * one transaction per event. A gap, a poison event or an audit conflict halts the consumer:
 * the projector never skips an event, and an operator sees why in the logs and in readiness.
 * An event its aggregate's owner did not write (refused by the transport, or a replayed id found
 * in the audit log) changes no projection: it becomes an audit row marked forged and a security
 * finding, and the projector goes on with the next event.
 */
@Controller()
export class ProjectEventHandler {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(PROJECTOR_NAME_TOKEN) private readonly projector: string,
    @Inject(CHECKPOINT_SIGNER_TOKEN) private readonly checkpoints: AuditCheckpointSigner | null,
  ) {}

  @EventPattern<string>('*')
  async project(@Payload() event: CloudEvent, @Ctx() ctx: EventContext): Promise<void> {
    await this.haltOnDamage(ctx, async () => {
      const outcome = await applyEvent(this.dataSource, this.projector, ctx.sequence, event, {
        origin: { writer: ctx.header(HEADERS.eventWriter) ?? null, subject: ctx.subject },
      });
      if (outcome === 'forged') {
        log.error({ sequence: ctx.sequence, eventId: event.id, type: event.type, subject: ctx.subject }, 'a replayed event was recorded in the audit log as forged; no projection changed');
      } else {
        log.debug({ sequence: ctx.sequence, type: event.type, outcome }, 'projected');
        if (outcome === 'applied') this.checkpoints?.noteProjected(event.type);
      }
    });
  }

  @EventPattern<string>(REFUSED_EVENT_PATTERN)
  async recordForged(@Payload() refused: RefusedEvent, @Ctx() ctx: EventContext): Promise<void> {
    await this.haltOnDamage(ctx, async () => {
      const { refusal } = refused;
      const outcome = await recordForgedEvent(this.dataSource, this.projector, ctx.sequence, {
        reason: refusal.reason,
        message: refusal.message,
        subject: ctx.subject,
        writer: refusal.writer,
        payload: refused.data,
        storedAt: refused.storedAt,
      });
      log.debug({ sequence: ctx.sequence, reason: refusal.reason, outcome }, 'recorded as forged');
      if (outcome === 'forged') this.checkpoints?.noteProjected('forged');
    });
  }

  private async haltOnDamage(ctx: EventContext, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof ProjectionGapError || error instanceof PoisonEventError || error instanceof AuditLogConflictError) {
        throw new HaltConsumerError(`${error.code} at stream sequence ${ctx.sequence}: ${error.message}`);
      }
      // Anything else (the database is down, a deadlock) is retried with backoff by the transport.
      throw error;
    }
  }
}
