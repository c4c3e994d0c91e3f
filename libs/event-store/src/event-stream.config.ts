import type { Names } from '@forgeone/contracts';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

export interface EventStreamOptions {
  /** 1 on a single server, 3 in a cluster. */
  readonly replicas?: number;
  /** How long a repeated `Nats-Msg-Id` is recognised as a retry. */
  readonly duplicateWindowMs?: number;
  /** Upper bound of the stream size; with `discard: new` a full stream refuses appends instead of dropping history. */
  readonly maxBytes?: number;
}

/**
 * Creates the event stream (`names.stream` over `names.eventsWildcard`) or brings an
 * existing one up to the immutable-history settings: limits retention, discard new,
 * deny delete and purge, no roll-ups, a duplicate window and file storage. Idempotent;
 * never deletes anything. Throws when the existing stream has settings NATS cannot change
 * in place (retention or storage), naming them.
 */
export async function ensureEventStream(jsm: JetStreamManager, names: Names, options: EventStreamOptions = {}): Promise<StreamInfo> {
  const { replicas = 1, duplicateWindowMs = 120_000, maxBytes } = options;
  const wanted = {
    subjects: [names.eventsWildcard],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
    storage: StorageType.File,
    ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
  } satisfies Partial<StreamConfig>;

  let existing: StreamInfo | undefined;
  try {
    existing = await jsm.streams.info(names.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
  }
  if (!existing) {
    try {
      return await jsm.streams.add({ name: names.stream, ...wanted });
    } catch (error) {
      // Another service created it at the same moment: fall through to the update path.
      existing = await jsm.streams.info(names.stream).catch(() => {
        throw error;
      });
    }
  }

  const current = existing.config;
  const fixed: string[] = [];
  if (current.retention !== wanted.retention) fixed.push(`retention is ${current.retention}, expected ${wanted.retention}`);
  if (current.storage !== wanted.storage) fixed.push(`storage is ${current.storage}, expected ${wanted.storage}`);
  if (fixed.length > 0) {
    throw new Error(
      `stream ${names.stream} exists with settings that cannot be changed in place (${fixed.join('; ')}); ` +
        'migrate its events to a new stream created with the expected settings',
    );
  }
  const differs =
    current.subjects.length !== 1 ||
    current.subjects[0] !== names.eventsWildcard ||
    current.discard !== wanted.discard ||
    current.deny_delete !== true ||
    current.deny_purge !== true ||
    current.allow_rollup_hdrs !== false ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.num_replicas !== replicas ||
    (maxBytes !== undefined && current.max_bytes !== maxBytes);
  if (!differs) return existing;
  return jsm.streams.update(names.stream, { ...current, ...wanted });
}
