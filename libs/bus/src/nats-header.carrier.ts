import type { HeaderCarrier } from '@forgeone/telemetry';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Adapts NATS headers to the telemetry carrier; NATS answers "" for a missing header. */
export function natsHeaderCarrier(hdrs: MsgHdrs | undefined): HeaderCarrier {
  return {
    // One look-up for a present header; `has` tells an empty one from a missing one.
    get: (key) => {
      if (hdrs === undefined) return undefined;
      const value = hdrs.get(key);
      return value !== '' || hdrs.has(key) ? value : undefined;
    },
    set: (key, value) => hdrs?.set(key, value),
  };
}
