import type { Names } from '@forgeone/contracts';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectionOptions } from './nats-url.js';

/** Reads single messages of the event stream by sequence, as stored (no signature check: the caller compares bytes). */
export interface EventStreamReader {
  /** The payload at `sequence`, or undefined when the stream holds none there. */
  read(sequence: number): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** Reads the event stream of `names` over a connection the caller owns, one message per request (an audit's memory stays bounded). */
export async function eventStreamMessages(nc: NatsConnection, names: Names): Promise<(sequence: number) => Promise<Uint8Array | undefined>> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  return async (sequence) => {
    try {
      return (await jsm.streams.getMessage(names.stream, { seq: sequence }))?.data ?? undefined;
    } catch (error) {
      if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.NoMessageFound || error.status === 404)) return undefined;
      throw error;
    }
  };
}

/** Opens the event stream of `names` on NATS_URL for reading, on a connection of its own. */
export async function openEventStreamReader(natsUrl: string, names: Names, connection: Partial<ConnectionOptions> = {}): Promise<EventStreamReader> {
  const nc = await connect({ ...natsConnectionOptions(natsUrl), ...connection, name: 'forgeone-audit-verify' });
  const read = await eventStreamMessages(nc, names);
  return { read, close: () => nc.close() };
}
