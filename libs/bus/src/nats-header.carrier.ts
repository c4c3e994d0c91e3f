import type { HeaderCarrier } from '@forgeone/telemetry';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Adapts NATS headers to the telemetry carrier; NATS answers "" for a missing header. */
export function natsHeaderCarrier(hdrs: MsgHdrs | undefined): HeaderCarrier {
  return {
    get: (key) => (hdrs?.has(key) ? hdrs.get(key) : undefined),
    set: (key, value) => hdrs?.set(key, value),
  };
}
