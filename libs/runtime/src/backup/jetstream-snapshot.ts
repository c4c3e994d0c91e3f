import { closeSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';

/** What the server says about a stream when it starts a snapshot; restoring sends it back. */
export interface StreamSnapshotMeta {
  readonly config: Record<string, unknown> & { readonly name: string };
  readonly state: Record<string, unknown> & { readonly messages: number; readonly first_seq: number; readonly last_seq: number };
}

interface ApiError {
  readonly code: number;
  readonly err_code?: number;
  readonly description: string;
}

const CHUNK_BYTES = 128 * 1024;
// The server gives up on a snapshot when a chunk goes unacknowledged for 2 s; a restore chunk is stored before its reply.
const API_TIMEOUT_MS = 30_000;
// The server rebuilds the stream's indexes from the uploaded files before it answers the last, empty chunk.
const RESTORE_FINISH_TIMEOUT_MS = 10 * 60_000;

export class StreamSnapshotError extends Error {
  override readonly name = 'StreamSnapshotError';
  constructor(
    readonly stream: string,
    message: string,
  ) {
    super(message);
  }
}

function parseApiReply<T>(stream: string, what: string, msg: Msg): T & { error?: ApiError } {
  let reply: T & { error?: ApiError };
  try {
    reply = msg.json<T & { error?: ApiError }>();
  } catch {
    throw new StreamSnapshotError(stream, `${what} of stream ${stream}: the server's reply is not JSON (${msg.string().slice(0, 200)})`);
  }
  if (reply.error) throw new StreamSnapshotError(stream, `${what} of stream ${stream} refused by the server: ${reply.error.description} (code ${reply.error.code}${reply.error.err_code ? `/${reply.error.err_code}` : ''})`);
  return reply;
}

/**
 * Writes a snapshot of `stream` to `file` through JetStream's own API (`$JS.API.STREAM.SNAPSHOT`), the one
 * `nats stream backup` uses: the server sends the stream's store files (an S2-compressed tar) in chunks that
 * the client acknowledges. Its messages keep their sequence numbers when restored. Consumers are left out:
 * each service recreates its own from its checkpoint.
 */
export async function snapshotStream(nc: NatsConnection, stream: string, file: string): Promise<{ meta: StreamSnapshotMeta; bytes: number }> {
  const deliver = createInbox();
  const fd = openSync(file, 'wx', 0o600);
  let bytes = 0;
  let settle!: (error?: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Subscribed before asking: the first chunk may arrive before the reply to the request.
  const sub = nc.subscribe(deliver, {
    callback: (error, msg) => {
      if (error) return settle(new StreamSnapshotError(stream, `snapshot of stream ${stream}: ${error.message}`));
      if (msg.data.length === 0) {
        const code = msg.headers?.code ?? 204;
        // The last, empty message says how it ended: 204 complete, anything else (408 no flow response, ...) failed.
        if (code !== 204) return settle(new StreamSnapshotError(stream, `snapshot of stream ${stream} ended by the server: ${code} ${msg.headers?.description ?? ''}`.trim()));
        return settle();
      }
      try {
        writeSync(fd, msg.data);
        bytes += msg.data.length;
      } catch (writeError) {
        return settle(new StreamSnapshotError(stream, `snapshot of stream ${stream}: cannot write ${file}: ${(writeError as Error).message}`));
      }
      if (msg.reply) msg.respond();
    },
  });
  try {
    const reply = await nc.request(`$JS.API.STREAM.SNAPSHOT.${stream}`, JSON.stringify({ deliver_subject: deliver, no_consumers: true, chunk_size: CHUNK_BYTES }), {
      timeout: API_TIMEOUT_MS,
    });
    const meta = parseApiReply<StreamSnapshotMeta>(stream, 'snapshot', reply);
    await done;
    return { meta: { config: meta.config, state: meta.state }, bytes };
  } finally {
    sub.unsubscribe();
    closeSync(fd);
  }
}

/**
 * Recreates `meta.config.name` from a file {@link snapshotStream} wrote (`$JS.API.STREAM.RESTORE`): the
 * server refuses when the stream exists. Resolves with the restored stream's state.
 */
export async function restoreStream(nc: NatsConnection, meta: StreamSnapshotMeta, file: string): Promise<{ messages: number; first_seq: number; last_seq: number }> {
  const stream = meta.config.name;
  const start = parseApiReply<{ deliver_subject: string }>(stream, 'restore', await nc.request(`$JS.API.STREAM.RESTORE.${stream}`, JSON.stringify(meta), { timeout: API_TIMEOUT_MS }));
  const handle = await open(file, 'r');
  try {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      const ack = await nc.request(start.deliver_subject, chunk.subarray(0, bytesRead), { timeout: API_TIMEOUT_MS });
      if (ack.data.length > 0) parseApiReply<object>(stream, 'restore', ack);
    }
  } finally {
    await handle.close();
  }
  const finished = parseApiReply<{ state: { messages: number; first_seq: number; last_seq: number } }>(
    stream,
    'restore',
    await nc.request(start.deliver_subject, new Uint8Array(0), { timeout: RESTORE_FINISH_TIMEOUT_MS }),
  );
  return finished.state;
}
