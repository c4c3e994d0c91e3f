import type { SiemEvent } from './siem-event.js';

/** Sends one sink's events in its format; each call either delivers all of them or throws. */
export interface SinkTransport {
  /** Resolves once the sink took every event (syslog: written to the connection; HEC: a 2xx answer). */
  deliver(events: readonly SiemEvent[]): Promise<void>;
  close(): Promise<void>;
}
