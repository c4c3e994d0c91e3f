import { z } from 'zod';

/**
 * The aggregate of events about the platform itself: `forgeone.evt.platform.<id>`. Only the
 * policy service writes it (EVENT_OWNERSHIP).
 */
export const PLATFORM_AGGREGATE = 'platform';
/** Aggregate id of the record of starts on an insecure NATS. */
export const NATS_SECURITY_AGGREGATE_ID = 'nats';

export const PLATFORM_EVENT_TYPES = {
  natsInsecureStart: 'io.forgeone.platform.nats_insecure_start.v1',
} as const;

/**
 * A service started with FORGEONE_NATS_INSECURE=1 on a NATS that lets anonymous clients do what
 * only the platform's services may: the audit log keeps every such start.
 */
export const NatsInsecureStartSchema = z
  .object({
    /** The service that started (the event's writer). */
    service: z.string().min(1).max(64),
    /** The NATS servers, without credentials. */
    servers: z.array(z.string().min(1).max(512)).min(1).max(32),
    /** What an anonymous client was found to be allowed to do. */
    exposures: z.array(z.string().min(1).max(1_000)).min(1).max(64),
  })
  .strict();
export type NatsInsecureStart = z.infer<typeof NatsInsecureStartSchema>;
