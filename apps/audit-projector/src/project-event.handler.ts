import { EVENT_BATCH_PATTERN, HaltConsumerError, type BatchedEvent, type EventBatch } from '@forgeone/bus';
import { HEADERS } from '@forgeone/contracts';
import { applyEvents, isProjectionHalt, ProjectionGapError, type ApplyResult, type ProjectionBatchItem } from '@forgeone/persistence';
import { createLogger } from '@forgeone/telemetry';
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import type { AuditCheckpointSigner } from './audit-checkpoint.signer.js';
import { CHECKPOINT_SIGNER_TOKEN, PROJECTOR_NAME_TOKEN } from './projector.tokens.js';

const log = createLogger('audit-projector');

/**
 * Writes every event of the stream into the projections and the audit log, in stream order, a
 * batch of consecutive events per transaction (applyEvents). A gap, a poison event or an audit
 * conflict halts the consumer at that event, the events before it in the batch committed: the
 * projector never skips an event, and an operator sees why in the logs and in readiness.
 * An event its aggregate's owner did not write (refused by the transport, or a replayed id found
 * in the audit log) changes no projection: it becomes an audit row marked forged and a security
 * finding, in its place in the batch, and the projector goes on with the next event.
 */
@Controller()
export class ProjectEventHandler {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(PROJECTOR_NAME_TOKEN) private readonly projector: string,
    @Inject(CHECKPOINT_SIGNER_TOKEN) private readonly checkpoints: AuditCheckpointSigner | null,
  ) {}

  @EventPattern<string>(EVENT_BATCH_PATTERN)
  async project(@Payload() batch: EventBatch): Promise<void> {
    const items = batch.events.map(toBatchItem);
    let outcomes: ApplyResult[];
    try {
      outcomes = await applyEvents(this.dataSource, this.projector, items);
    } catch (error) {
      if (isProjectionHalt(error)) {
        const sequence = error instanceof ProjectionGapError ? error.received : error.sequence;
        throw new HaltConsumerError(`${error.code} at stream sequence ${sequence}: ${error.message}`, { sequence });
      }
      // Anything else (the database is down, a deadlock) rolled the batch back; the transport retries it with backoff.
      throw error;
    }
    outcomes.forEach((outcome, index) => this.noted(batch.events[index], outcome));
  }

  private noted(delivered: BatchedEvent, outcome: ApplyResult): void {
    const { sequence, subject } = delivered.context;
    if (delivered.kind === 'refused') {
      log.debug({ sequence, reason: delivered.refused.refusal.reason, outcome }, 'recorded as forged');
      if (outcome === 'forged') this.checkpoints?.noteProjected('forged');
      return;
    }
    const { event } = delivered;
    if (outcome === 'forged') {
      log.error({ sequence, eventId: event.id, type: event.type, subject }, 'a replayed event was recorded in the audit log as forged; no projection changed');
      return;
    }
    log.debug({ sequence, type: event.type, outcome }, 'projected');
    if (outcome === 'applied') this.checkpoints?.noteProjected(event.type);
  }
}

function toBatchItem(delivered: BatchedEvent): ProjectionBatchItem {
  const { context } = delivered;
  if (delivered.kind === 'event') {
    return { sequence: context.sequence, event: delivered.event, origin: { writer: context.header(HEADERS.eventWriter) ?? null, subject: context.subject } };
  }
  const { refusal, data, storedAt } = delivered.refused;
  return { sequence: context.sequence, forged: { reason: refusal.reason, message: refusal.message, subject: context.subject, writer: refusal.writer, payload: data, storedAt } };
}
