import { isSiemSinkEvent, SIEM_SINK_AGGREGATE, SIEM_SINK_EVENT_TYPES, type Names, type SiemSinkDefinition } from '@forgeone/contracts';
import type { EventAuthorship, StoredMessage } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** A tenant sink as its `added` event defined it, with where in the stream it was added. */
export interface TenantSinkAdded {
  readonly tenant: string;
  readonly definition: SiemSinkDefinition;
  /** The stream sequence of the `added` event: the sink receives what follows it. */
  readonly sequence: number;
  readonly actor: string;
}

export interface TenantSinkFollowerOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly authorship: EventAuthorship;
  readonly logger: Logger;
  readonly retryMs: number;
  onAdded(sink: TenantSinkAdded): Promise<void>;
  onRemoved(tenant: string, name: string): Promise<void>;
}

/**
 * Follows the `siem-sink` events from the start of the stream with an ordered consumer and hands
 * each verified one over, in order: the forwarder starts and stops tenant sinks from them. A
 * message its owner (the registry) did not write is skipped and logged: it never starts a sink.
 */
export class TenantSinkFollower {
  private running = false;
  private loop: Promise<void> | undefined;
  private stopReading: (() => Promise<void>) | undefined;
  private position = 0;

  constructor(private readonly options: TenantSinkFollowerOptions) {}

  /** The last stream sequence applied (0 before any). */
  get appliedSequence(): number {
    return this.position;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.stopReading?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { connection, names, logger } = this.options;
    while (this.running) {
      try {
        const consumer = await jetstream(connection).consumers.get(names.stream, {
          filter_subjects: names.aggregateEvents(SIEM_SINK_AGGREGATE),
          ...(this.position > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.position + 1 } : { deliver_policy: DeliverPolicy.All }),
        });
        const messages = await consumer.consume({ max_messages: 64 });
        this.stopReading = () => messages.close().then(() => undefined, () => undefined);
        for await (const msg of messages) {
          if (!this.running) break;
          if (msg.seq <= this.position) continue;
          try {
            await this.apply(msg);
          } catch (error) {
            // Fail closed: a sink event that cannot be applied starts nothing; the next ones still apply.
            logger.error({ err: error, sequence: msg.seq }, 'SIEM tenant sinks: a sink event could not be applied');
          }
          this.position = msg.seq;
        }
      } catch (error) {
        if (!this.running) break;
        logger.warn({ err: error }, 'SIEM tenant sinks: reading the sink events failed; reading again');
      }
      if (this.running) await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
    }
  }

  private async apply(msg: StoredMessage): Promise<void> {
    const { authorship, logger } = this.options;
    const opened = authorship.open(msg);
    if (!opened.ok) {
      logger.error({ sequence: msg.seq, reason: opened.refusal.reason }, 'SIEM tenant sinks: a sink event its owner did not write is ignored');
      return;
    }
    const event = opened.event;
    if (!isSiemSinkEvent(event)) return;
    if (event.type === SIEM_SINK_EVENT_TYPES.added) await this.options.onAdded({ tenant: event.tenant, definition: event.data, sequence: msg.seq, actor: event.actor });
    else await this.options.onRemoved(event.tenant, event.data.name);
  }
}
