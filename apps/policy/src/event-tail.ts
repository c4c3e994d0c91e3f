import { decodeSubjectToken, type CloudEvent } from '@forgeone/contracts';
import { ReplayGuard, type EventAuthorship, type EventRefusal } from '@forgeone/event-store';
import type { Logger } from '@forgeone/telemetry';
import { jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** One stored event with the aggregate id its subject names and its stream sequence. */
export interface TailedEvent {
  readonly event: CloudEvent;
  readonly aggregateId: string;
  readonly sequence: number;
}

/** A message on a followed subject that was refused: it applies nothing but still occupies its place. */
export interface RefusedTailEvent {
  readonly refusal: EventRefusal;
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

export interface EventTailHandlers {
  readonly apply: (tailed: TailedEvent) => void;
  /** Called for a forged or replayed message after it was logged; it must change no state beyond the subject's sequence. */
  readonly refused?: (refused: RefusedTailEvent) => void;
}

/**
 * Reads every event under `filterSubject` from the start of the stream and keeps following it
 * (a JetStream ordered consumer: no server-side state to clean up, resumes itself after a reconnect).
 * Each message is verified before it is parsed; a forged or replayed one is logged at error level
 * and skipped without touching readiness, so a publish on the bus cannot make the service unready.
 */
export async function tailEvents(
  nc: NatsConnection,
  authorship: EventAuthorship,
  filterSubject: string,
  handlers: EventTailHandlers,
  logger: Logger,
): Promise<EventTail> {
  const consumer = await jetstream(nc).consumers.get(authorship.names.stream, { filter_subjects: filterSubject });
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
  // The tail reads from the start, so every id applied before is known here.
  const replays = new ReplayGuard();
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  const loop = (async () => {
    try {
      for await (const msg of messages) {
        const aggregateId = decodeSubjectToken(msg.subject.slice(msg.subject.lastIndexOf('.') + 1));
        try {
          const opened = authorship.open(msg);
          let refusal = opened.ok ? undefined : opened.refusal;
          if (opened.ok) {
            const first = replays.replayOf(opened.event.id, msg.seq);
            if (first !== undefined) refusal = authorship.replayRefusal(msg, opened.event, first);
          }
          if (refusal) {
            logger.error({ refusal }, 'refused an event its aggregate owner did not write; it changes no state');
            handlers.refused?.({ refusal, aggregateId, sequence: msg.seq });
          } else if (opened.ok) {
            handlers.apply({ event: opened.event, aggregateId, sequence: msg.seq });
          }
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
