import { decodeSubjectToken, type CloudEvent } from '@forgeone/contracts';
import { decodeStoredEvent } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import { jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** One stored event with the aggregate id its subject names and its stream sequence. */
export interface TailedEvent {
  readonly event: CloudEvent;
  readonly aggregateId: string;
  readonly sequence: number;
}

export interface EventTail {
  /** Resolves once every event stored when the tail started has been handled. */
  readonly caughtUp: Promise<void>;
  /** Set when an event could not be read; the tail skips it and readiness reports it. */
  readonly problem: () => string | undefined;
  stop(): Promise<void>;
}

/**
 * Reads every event under `filterSubject` from the start of the stream and keeps following it
 * (a JetStream ordered consumer: no server-side state to clean up, resumes itself after a reconnect).
 */
export async function tailEvents(
  nc: NatsConnection,
  stream: string,
  filterSubject: string,
  handle: (tailed: TailedEvent) => void,
  logger: Logger,
): Promise<EventTail> {
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filterSubject });
  const pendingAtStart = (await consumer.info(true)).num_pending;
  let markCaughtUp!: () => void;
  let failCatchUp!: (error: Error) => void;
  const caughtUp = new Promise<void>((resolve, reject) => {
    markCaughtUp = resolve;
    failCatchUp = reject;
  });
  // A tail that stops before catching up fails the start; once caught up, nobody awaits this.
  caughtUp.catch(() => undefined);
  if (pendingAtStart === 0) markCaughtUp();
  let problem: string | undefined;
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  const loop = (async () => {
    try {
      for await (const msg of messages) {
        try {
          const event = decodeStoredEvent(msg);
          const aggregateId = decodeSubjectToken(msg.subject.slice(msg.subject.lastIndexOf('.') + 1));
          handle({ event, aggregateId, sequence: msg.seq });
        } catch (error) {
          problem = `event ${msg.seq} on ${msg.subject} could not be applied: ${(error as Error).message}`;
          logger.error({ err: error, sequence: msg.seq, subject: msg.subject }, 'event could not be applied; the service is not ready until it is fixed');
        }
        if (msg.info.pending === 0) markCaughtUp();
      }
    } catch (error) {
      if (nc.isClosed() || nc.isDraining()) return;
      problem = `reading ${filterSubject} stopped: ${(error as Error).message}`;
      logger.error({ err: error, filterSubject }, 'event tail stopped');
      failCatchUp(new Error(problem));
    }
  })();
  return {
    caughtUp,
    problem: () => problem,
    stop: async () => {
      await messages.close().catch(() => undefined);
      await loop;
    },
  };
}
