import { ForgeOneError } from '@forgeone/contracts';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';

/** True when `error` says JetStream (or the stream) could not be reached, not that it refused the request. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof NoRespondersError) return true;
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) return true;
  // JetStreamNotEnabled is what a publish gets when no stream listens on the subject (not exported publicly).
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') return true;
  if (error instanceof RequestError) return error.isNoResponders() || error.cause instanceof TimeoutError;
  if (error instanceof JetStreamApiError) return error.code === JetStreamApiCodes.StreamNotFound;
  return false;
}

/** Wraps a NATS failure into EVENTSTORE.UNAVAILABLE, naming what was attempted. */
export function unavailable(what: string, error: unknown): ForgeOneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ForgeOneError(
    'EVENTSTORE.UNAVAILABLE',
    `${what} failed: the event stream is not reachable (${reason}); check that NATS with JetStream is running and the stream exists`,
    { reason },
  );
}
