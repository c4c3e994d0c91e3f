import type { Names } from '@forgeone/contracts';
import type { Logger } from '@forgeone/telemetry';
import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SinkDefinition } from './siem.config.js';
import type { EventOpener } from './shared-event-reads.js';
import type { SiemEvent } from './siem-event.js';
import { forgedEventRecord } from './siem-records.js';
import { sinkAccepts } from './sink-filter.js';
import type { SinkCheckpointStore } from './sink-checkpoint.store.js';
import type { SinkTransport } from './sink.transport.js';

/** What `siem status` shows of one sink. */
export interface SinkStatus {
  readonly sink: string;
  readonly kind: 'syslog' | 'hec';
  readonly tenant: string | null;
  readonly lastDeliveredSequence: number;
  readonly lastDeliveredAt: string | null;
  /** Stream messages after the checkpoint (events the filter drops included). */
  readonly lagEvents: number;
  /** How long the oldest event not yet delivered has waited; 0 when caught up. */
  readonly lagSeconds: number;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

export interface SinkPumpOptions {
  readonly sink: SinkDefinition;
  readonly transport: SinkTransport;
  readonly connection: NatsConnection;
  readonly names: Names;
  /** Verifies, then parses, each message: the forwarder's {@link SharedEventReads}, so sinks reading together verify once. */
  readonly authorship: EventOpener;
  readonly checkpoints: SinkCheckpointStore;
  readonly logger: Logger;
  /** Messages read ahead of delivery: the most this sink holds in memory (twice this, counting the consumer's own pull). */
  readonly bufferEvents: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

/**
 * One sink's reader: its own ordered consumer of the stream from the sink's checkpoint + 1, a
 * bounded batch at a time, verified (a message its owner did not write is never forwarded),
 * filtered, delivered with retry and exponential backoff, then checkpointed. Each sink runs on its
 * own, so one that is down or slow holds back nothing but itself, and no command or projection
 * waits for any sink.
 */
export class SinkPump {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private position = 0;
  private lastDeliveredAt: string | null = null;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private pendingSince: number | null = null;
  private checkpointing: Promise<void> | undefined;
  private nextCheckpoint: { sequence: number; eventId: string | null } | undefined;

  constructor(private readonly options: SinkPumpOptions) {}

  get id(): string {
    return this.options.sink.id;
  }

  private get checkpointKey(): string {
    return this.options.sink.checkpointKey ?? this.options.sink.id;
  }

  async start(): Promise<void> {
    const stored = await this.options.checkpoints.load(this.checkpointKey);
    this.position = Math.max(stored.lastSequence, this.options.sink.startAfterSequence ?? 0);
    this.lastDeliveredAt = stored.deliveredAt;
    this.lastError = stored.lastError;
    this.lastErrorAt = stored.lastErrorAt;
    this.running = true;
    this.loop = this.run().catch((error: unknown) => this.options.logger.error({ err: error, sink: this.id }, 'SIEM sink stopped'));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.checkpointing;
    await this.options.transport.close();
  }

  /** Where the sink stands, against the stream's last sequence. */
  status(streamLastSequence: number): SinkStatus {
    const { sink } = this.options;
    const lag = Math.max(0, streamLastSequence - this.position);
    return {
      sink: sink.id,
      kind: sink.target.kind,
      tenant: sink.filter.tenant ?? null,
      lastDeliveredSequence: this.position,
      lastDeliveredAt: this.lastDeliveredAt,
      lagEvents: lag,
      lagSeconds: lag > 0 && this.pendingSince !== null ? Math.max(0, Math.round((Date.now() - this.pendingSince) / 100) / 10) : 0,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.readFromPosition();
      } catch (error) {
        // The stream or the consumer failed (not the sink): read again from the position with a new consumer.
        this.options.logger.warn({ err: error, sink: this.id }, 'SIEM sink: reading the stream failed; reading again');
        await this.sleep(this.options.retryMinMs);
      }
    }
  }

  /**
   * Reads from the position with an ordered consumer: a reader task moves arrived messages into a
   * queue of at most `bufferEvents` (it stops pulling when the queue is full, and the consumer
   * pulls no more than that ahead), and this loop delivers whatever the queue holds as one batch,
   * so an event waits for nothing but the batch in flight before it.
   */
  private async readFromPosition(): Promise<void> {
    const { connection, names, bufferEvents } = this.options;
    const consumer = await jetstream(connection).consumers.get(names.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.position + 1 });
    const messages = await consumer.consume({ max_messages: bufferEvents });
    const queue: JsMsg[] = [];
    let arrived: (() => void) | undefined;
    let drained: (() => void) | undefined;
    let failure: unknown;
    let ended = false;
    const reader = (async () => {
      try {
        for await (const msg of messages) {
          queue.push(msg);
          arrived?.();
          while (queue.length >= bufferEvents && this.running) await new Promise<void>((resolve) => (drained = resolve));
          if (!this.running) break;
        }
      } catch (error) {
        failure = error;
      } finally {
        ended = true;
        arrived?.();
      }
    })();
    try {
      while (this.running) {
        if (queue.length === 0) {
          if (ended) throw failure ?? new Error('the stream consumer ended');
          this.pendingSince = null;
          await new Promise<void>((resolve) => {
            arrived = resolve;
            this.wake = resolve;
          });
          arrived = undefined;
          continue;
        }
        const batch = queue.splice(0, bufferEvents);
        drained?.();
        // The ordered consumer may hand over what the checkpoint already covers after it was recreated.
        const fresh = batch.filter((msg) => msg.seq > this.position);
        if (fresh.length === 0) continue;
        this.pendingSince ??= Math.floor(Number(fresh[0].info.timestampNanos) / 1e6);
        await this.deliver(fresh);
      }
    } finally {
      await messages.close().catch(() => undefined);
      drained?.();
      await reader;
    }
  }

  private async deliver(batch: readonly JsMsg[]): Promise<void> {
    const { sink, authorship, logger, checkpoints, transport } = this.options;
    const events: SiemEvent[] = [];
    let end: JsMsg | undefined;
    for (const msg of batch) {
      const opened = authorship.open(msg);
      if (!opened.ok) {
        logger.error({ sink: sink.id, sequence: msg.seq, reason: opened.refusal.reason }, 'SIEM sink: a message its owner did not write is not forwarded');
        // A platform sink is told of the attempt (never the payload); a tenant's sink is not, since nothing says whose it was.
        if (sink.filter.tenant === undefined) {
          const { refusal } = opened;
          events.push(
            forgedEventRecord(
              { sequence: msg.seq, subject: msg.subject, claimedType: msg.headers?.get('Ce-Type') || null, claimedId: msg.headers?.get('Nats-Msg-Id') || null, claimedWriter: refusal.writer, reason: refusal.reason },
              new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)),
            ),
          );
        }
        continue;
      }
      if (sinkAccepts(sink.filter, opened.event)) events.push({ sequence: msg.seq, event: opened.event });
      if (sink.endsWith?.(opened.event)) {
        // Nothing after the sink's end reaches it, whenever the forwarder gets round to stopping it.
        end = msg;
        break;
      }
    }
    const last = end ?? batch[batch.length - 1];
    for (let attempt = 0; events.length > 0; attempt++) {
      if (!this.running) return;
      try {
        await transport.deliver(events);
        break;
      } catch (error) {
        const message = (error as Error).message;
        this.lastError = message;
        this.lastErrorAt = new Date().toISOString();
        const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(attempt, 16));
        logger.warn({ sink: sink.id, attempt: attempt + 1, retryInMs: delay, error: message }, 'SIEM sink: delivery failed; retrying');
        await checkpoints.failed(this.checkpointKey, message).catch(() => undefined);
        await this.sleep(delay * (0.75 + Math.random() * 0.5));
      }
    }
    const lastEventId = events.length ? events[events.length - 1].event.id : null;
    this.saveCheckpoint(last.seq, lastEventId);
    this.position = last.seq;
    if (events.length) {
      this.lastDeliveredAt = new Date().toISOString();
      this.lastError = null;
      this.lastErrorAt = null;
    }
    this.pendingSince = null;
    if (end) this.running = false;
  }

  /**
   * Records the position off the delivery path: one write in flight, later positions coalesced into
   * the next. The checkpoint may trail what was delivered (a restart then sends those events again,
   * same ids), never lead it, so delivery stays at least once.
   */
  private saveCheckpoint(sequence: number, eventId: string | null): void {
    this.nextCheckpoint = { sequence, eventId: eventId ?? this.nextCheckpoint?.eventId ?? null };
    this.checkpointing ??= this.writeCheckpoints().finally(() => (this.checkpointing = undefined));
  }

  private async writeCheckpoints(): Promise<void> {
    while (this.nextCheckpoint) {
      const { sequence, eventId } = this.nextCheckpoint;
      this.nextCheckpoint = undefined;
      try {
        await this.options.checkpoints.delivered(this.checkpointKey, sequence, eventId);
      } catch (error) {
        // The next delivery writes a later position; until then a restart resends from the stored one.
        this.options.logger.warn({ err: error, sink: this.id, sequence }, 'SIEM sink: the checkpoint was not written');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
