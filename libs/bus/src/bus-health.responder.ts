import type { HealthReply, Names, ServiceName } from '@forgeone/contracts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

export type ReadinessChecks = Record<string, { ok: boolean; detail?: string }>;

export interface BusHealthResponderOptions {
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly service: ServiceName;
  /** The event consumer's check; undefined for a service that consumes no events. */
  readonly consumer: () => { ok: boolean; detail?: string } | undefined;
  /** Extra checks for the health reply (database reachable, ...). */
  readonly readiness?: () => Promise<ReadinessChecks>;
  /** Keeps the server's close waiting for a reply still being written. */
  readonly track: (work: Promise<unknown>) => void;
}

// Below the client's default health timeout, so a hanging check still yields a reply.
const READINESS_TIMEOUT_MS = 1_500;
const encoder = new TextEncoder();

/** Answers `forgeone.health.<service>` with the connection, the consumer and the service's own checks. */
export class BusHealthResponder {
  private subscription?: Subscription;

  constructor(private readonly options: BusHealthResponderOptions) {}

  async health(): Promise<HealthReply> {
    const { connection, readiness, service } = this.options;
    const checks: ReadinessChecks = {
      nats: connection.isClosed() ? { ok: false, detail: 'connection closed' } : { ok: true },
    };
    const consumer = this.options.consumer();
    if (consumer !== undefined) checks.consumer = consumer;
    if (readiness) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`readiness checks did not finish within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
      });
      try {
        Object.assign(checks, await Promise.race([readiness(), timeout]));
      } catch (error) {
        checks.readiness = { ok: false, detail: (error as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }
    return { service, ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Subscribes the health subject (the caller flushes). */
  start(): void {
    const { connection, names, service, track } = this.options;
    this.subscription = connection.subscribe(names.health(service), {
      callback: (error, msg) => {
        if (error) return;
        track(this.health().then((reply) => msg.respond(encoder.encode(JSON.stringify(reply)))));
      },
    });
  }

  async drain(): Promise<void> {
    const sub = this.subscription;
    if (sub !== undefined && !sub.isClosed() && !this.options.connection.isClosed()) await sub.drain().catch(() => undefined);
  }
}
