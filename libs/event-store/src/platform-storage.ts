import type { Names } from '@forgeone/contracts';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import bytes from 'bytes';

/** The three pieces of JetStream storage the platform keeps. */
export type PlatformStorageKind = 'events' | 'artifacts' | 'plugin-kv';

/** How big and how replicated the platform's storage must be; services only check, the operator step provisions. */
export interface PlatformStorageSettings {
  /** Replicas of the event stream and of both buckets (FORGEONE_NATS_REPLICAS): 1 on one server, 3 in a cluster. */
  readonly replicas: number;
  /** Byte limit of the event stream (FORGEONE_EVENTS_MAX_BYTES); with `discard: new` a full stream refuses appends. */
  readonly eventsMaxBytes: number;
  /** Byte limit of the artifact object store (FORGEONE_ARTIFACTS_MAX_BYTES). */
  readonly artifactsMaxBytes: number;
  /** Byte limit of the plugin key/value bucket (FORGEONE_PLUGIN_KV_MAX_BYTES). */
  readonly pluginKvMaxBytes: number;
  /** How long a repeated `Nats-Msg-Id` is recognised as a retry (default 2 minutes). */
  readonly eventsDuplicateWindowMs?: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Defaults of {@link PlatformStorageSettings}. */
export const DEFAULT_PLATFORM_STORAGE_SETTINGS: Required<PlatformStorageSettings> = {
  replicas: 1,
  eventsMaxBytes: 4 * GiB,
  artifactsMaxBytes: 4 * GiB,
  pluginKvMaxBytes: 512 * MiB,
  eventsDuplicateWindowMs: 120_000,
};

/** The smallest byte limit accepted for any of the three. */
export const MIN_STORAGE_MAX_BYTES = MiB;

type ExactSetting = 'subjects' | 'retention' | 'storage' | 'discard' | 'deny_delete' | 'deny_purge' | 'allow_rollup_hdrs' | 'sealed';
type MinimumSetting = 'max_msgs' | 'max_bytes' | 'max_age' | 'max_msgs_per_subject' | 'duplicate_window' | 'num_replicas';

/** One piece of platform storage and the settings it must have. */
export interface PlatformStorage {
  readonly kind: PlatformStorageKind;
  /** How messages name it: `stream FORGEONE_EVENTS`, `object store forgeone-artifacts`, ... */
  readonly label: string;
  /** The JetStream stream that holds it. */
  readonly stream: string;
  /** The bucket name, for the object store and the key/value bucket. */
  readonly bucket?: string;
  /** The configured byte limit (the yardstick of usage alarms when the stream itself has none). */
  readonly maxBytes: number;
  /** The variable a setting comes from, for messages. */
  readonly variables: Partial<Record<MinimumSetting, string>>;
  /** Settings that must be exactly this. */
  readonly exact: Readonly<Partial<Pick<StreamConfig, ExactSetting>>>;
  /** Settings that must be at least this; -1 (0 for ages) means unlimited, which is above everything. */
  readonly minimum: Readonly<Partial<Record<MinimumSetting, number>>>;
}

/**
 * The platform's storage with the settings each must have: the event stream (immutable history:
 * limits retention, discard new, deny delete and purge, no roll-ups, no age, count or per-subject
 * limit), the artifact object store and the plugin key/value bucket (discard new, nothing expires).
 */
export function platformStorage(names: Names, settings: PlatformStorageSettings): readonly PlatformStorage[] {
  const replicas = { num_replicas: settings.replicas };
  const kept = { max_msgs: -1, max_age: 0 };
  return [
    {
      kind: 'events',
      label: `stream ${names.stream}`,
      stream: names.stream,
      maxBytes: settings.eventsMaxBytes,
      variables: { max_bytes: 'FORGEONE_EVENTS_MAX_BYTES', num_replicas: 'FORGEONE_NATS_REPLICAS' },
      exact: {
        subjects: [names.eventsWildcard],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        deny_delete: true,
        deny_purge: true,
        allow_rollup_hdrs: false,
        sealed: false,
      },
      minimum: {
        ...kept,
        max_msgs_per_subject: -1,
        max_bytes: settings.eventsMaxBytes,
        duplicate_window: nanos(settings.eventsDuplicateWindowMs ?? DEFAULT_PLATFORM_STORAGE_SETTINGS.eventsDuplicateWindowMs),
        ...replicas,
      },
    },
    {
      kind: 'artifacts',
      label: `object store ${names.artifactBucket}`,
      stream: `OBJ_${names.artifactBucket}`,
      bucket: names.artifactBucket,
      maxBytes: settings.artifactsMaxBytes,
      variables: { max_bytes: 'FORGEONE_ARTIFACTS_MAX_BYTES', num_replicas: 'FORGEONE_NATS_REPLICAS' },
      // Subjects as the object store client lays them out; a per-subject limit would drop chunks.
      exact: {
        subjects: [`$O.${names.artifactBucket}.C.>`, `$O.${names.artifactBucket}.M.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        sealed: false,
      },
      minimum: { ...kept, max_msgs_per_subject: -1, max_bytes: settings.artifactsMaxBytes, ...replicas },
    },
    {
      kind: 'plugin-kv',
      label: `key-value bucket ${names.pluginKvBucket}`,
      stream: `KV_${names.pluginKvBucket}`,
      bucket: names.pluginKvBucket,
      maxBytes: settings.pluginKvMaxBytes,
      variables: { max_bytes: 'FORGEONE_PLUGIN_KV_MAX_BYTES', num_replicas: 'FORGEONE_NATS_REPLICAS' },
      exact: {
        subjects: [`$KV.${names.pluginKvBucket}.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        sealed: false,
      },
      // History 1: the latest value of each key.
      minimum: { ...kept, max_msgs_per_subject: 1, max_bytes: settings.pluginKvMaxBytes, ...replicas },
    },
  ];
}

/** Storage missing, weakened or not changeable in place; the message names each storage and setting. */
export class PlatformStorageError extends Error {
  override readonly name = 'PlatformStorageError';
  readonly code = 'STORAGE.NOT_AS_REQUIRED';
  constructor(
    readonly problems: readonly string[],
    advice: string,
  ) {
    super(`${problems.join('; ')}. ${advice}`);
  }
}

const RUN_SETUP =
  'Refusing to run on it: an operator provisions the storage with `forgeone admin setup` (NATS_URL with rights to create and update streams; `npm start` does it itself)';

/**
 * What is wrong with `config` for `storage`, one line per setting:
 * `stream FORGEONE_EVENTS: deny_delete is false, must be true`. Empty when it is as required or
 * stronger (more replicas, a larger limit, a longer duplicate window). Pure.
 */
export function storageProblems(storage: PlatformStorage, config: StreamConfig): string[] {
  const problems: string[] = [];
  for (const [setting, wanted] of Object.entries(storage.exact) as [ExactSetting, unknown][]) {
    const actual = normalisedExact(setting, config[setting]);
    if (!sameValue(actual, wanted)) problems.push(`${storage.label}: ${setting} ${setting === 'subjects' ? 'are' : 'is'} ${show(actual)}, must be ${show(wanted)}`);
  }
  for (const [setting, wanted] of Object.entries(storage.minimum) as [MinimumSetting, number][]) {
    const actual = config[setting] as number | undefined;
    if (atLeast(setting, actual, wanted)) continue;
    const variable = storage.variables[setting] ? ` (${storage.variables[setting]})` : '';
    problems.push(`${storage.label}: ${setting} is ${showLimit(setting, actual)}, must be ${unlimited(setting, wanted) ? 'unlimited' : `at least ${showLimit(setting, wanted)}`}${variable}`);
  }
  return problems;
}

/** The configuration `config` raised to what `storage` requires, keeping every stronger setting; the changes in words. */
export interface RaisedStorageConfig {
  readonly config: StreamConfig;
  readonly changes: readonly string[];
}

/**
 * `config` with every setting below `storage`'s requirement raised to it and everything else kept
 * (a larger limit, more replicas, a longer duplicate window stay). Throws a {@link PlatformStorageError}
 * for what NATS cannot change in place (retention, storage type, a sealed stream). Pure.
 */
export function raiseStorageConfig(storage: PlatformStorage, config: StreamConfig): RaisedStorageConfig {
  const fixed: string[] = [];
  for (const setting of ['retention', 'storage', 'sealed'] as const) {
    const wanted = storage.exact[setting];
    if (wanted !== undefined && normalisedExact(setting, config[setting]) !== wanted) {
      fixed.push(`${storage.label}: ${setting} is ${show(normalisedExact(setting, config[setting]))}, must be ${show(wanted)}`);
    }
  }
  if (fixed.length > 0) {
    throw new PlatformStorageError(fixed, 'NATS cannot change this in place: move its data to storage created with the required settings');
  }
  const next: Record<string, unknown> = { ...config };
  const changes: string[] = [];
  for (const [setting, wanted] of Object.entries(storage.exact) as [ExactSetting, unknown][]) {
    const actual = normalisedExact(setting, config[setting]);
    if (sameValue(actual, wanted)) continue;
    next[setting] = wanted;
    changes.push(`${setting} ${show(actual)} → ${show(wanted)}`);
  }
  for (const [setting, wanted] of Object.entries(storage.minimum) as [MinimumSetting, number][]) {
    const actual = config[setting] as number | undefined;
    if (atLeast(setting, actual, wanted)) continue;
    next[setting] = wanted;
    changes.push(`${setting} ${showLimit(setting, actual)} → ${showLimit(setting, wanted)}`);
  }
  return { config: next as unknown as StreamConfig, changes };
}

/** What provisioning did to one piece of storage. */
export interface ProvisionedStorage {
  readonly kind: PlatformStorageKind;
  readonly label: string;
  readonly stream: string;
  readonly action: 'created' | 'raised' | 'unchanged';
  /** Settings raised (`max_bytes 1MB → 4GB`), empty when none was. */
  readonly changes: readonly string[];
}

/**
 * The operator step: creates the platform's storage that is missing and raises every setting
 * that is below `settings` (a weakened stream gets deny_delete back, a lowered limit its size),
 * never lowering anything: a stream with more replicas or a larger limit than configured keeps
 * it. Idempotent, safe to run while services run. Needs a NATS user allowed to create and update
 * streams. Throws a {@link PlatformStorageError} for what cannot be fixed in place.
 */
export async function provisionPlatformStorage(nc: NatsConnection, names: Names, settings: PlatformStorageSettings): Promise<ProvisionedStorage[]> {
  const jsm = await jetstreamManager(nc);
  const done: ProvisionedStorage[] = [];
  for (const storage of platformStorage(names, settings)) {
    let info = await streamInfo(jsm, storage.stream);
    let created = false;
    if (!info) {
      info = await create(nc, jsm, storage, settings).catch((error: unknown) => explainCreateFailure(storage, error));
      created = true;
    }
    const raised = raiseStorageConfig(storage, info.config);
    if (raised.changes.length > 0) {
      info = await jsm.streams.update(storage.stream, raised.config).catch((error: unknown) => {
        throw new Error(`raising ${storage.label} (${raised.changes.join(', ')}) failed: ${(error as Error).message}`, { cause: error });
      });
    }
    // The server has the last word (an old server may ignore a field): what it answers is checked again.
    const left = storageProblems(storage, info.config);
    if (left.length > 0) throw new PlatformStorageError(left, 'NATS did not accept the required settings');
    done.push({
      kind: storage.kind,
      label: storage.label,
      stream: storage.stream,
      action: created ? 'created' : raised.changes.length > 0 ? 'raised' : 'unchanged',
      changes: raised.changes,
    });
  }
  return done;
}

/** One piece of storage as a service found it at start. */
export interface CheckedStorage {
  readonly storage: PlatformStorage;
  readonly config: StreamConfig;
}

/**
 * What every service runs at start: reads the configuration of the platform's storage (nothing
 * is created or changed) and throws a {@link PlatformStorageError} naming each storage that is
 * missing and each setting that is below `settings` (`stream FORGEONE_EVENTS: deny_delete is
 * false, must be true`). Stronger settings pass.
 */
export async function checkPlatformStorage(nc: NatsConnection, names: Names, settings: PlatformStorageSettings): Promise<CheckedStorage[]> {
  const jsm = await jetstreamManager(nc);
  const problems: string[] = [];
  const checked: CheckedStorage[] = [];
  for (const storage of platformStorage(names, settings)) {
    const info = await streamInfo(jsm, storage.stream);
    if (!info) {
      problems.push(`${storage.label} does not exist`);
      continue;
    }
    problems.push(...storageProblems(storage, info.config));
    checked.push({ storage, config: info.config });
  }
  if (problems.length > 0) throw new PlatformStorageError(problems, RUN_SETUP);
  return checked;
}

async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
}

async function create(nc: NatsConnection, jsm: JetStreamManager, storage: PlatformStorage, settings: PlatformStorageSettings): Promise<StreamInfo> {
  try {
    switch (storage.kind) {
      case 'events': {
        const { sealed: _sealed, ...exact } = storage.exact;
        return await jsm.streams.add({ name: storage.stream, ...exact, ...storage.minimum });
      }
      case 'artifacts':
        // The client lays out the bucket's subjects and headers; settings are then checked and raised like any stream's.
        await new Objm(nc).create(storage.bucket!, { storage: StorageType.File, replicas: settings.replicas, max_bytes: storage.maxBytes });
        break;
      case 'plugin-kv':
        await new Kvm(nc).create(storage.bucket!, { history: 1, storage: StorageType.File, replicas: settings.replicas, max_bytes: storage.maxBytes });
        break;
    }
  } catch (error) {
    // Another provisioner created it at the same moment: carry on with theirs.
    const raced = await streamInfo(jsm, storage.stream).catch(() => undefined);
    if (raced) return raced;
    throw error;
  }
  const info = await streamInfo(jsm, storage.stream);
  if (!info) throw new Error(`${storage.label} was created but its stream ${storage.stream} cannot be found`);
  return info;
}

function explainCreateFailure(storage: PlatformStorage, error: unknown): never {
  const reason = (error as Error).message;
  const hint = /insufficient|resources/i.test(reason)
    ? `; the server cannot reserve ${bytes.format(storage.maxBytes)} (${storage.variables.max_bytes}): give JetStream more storage or lower the limit`
    : /replica|clustered|peers/i.test(reason)
      ? `; the server cannot place ${storage.minimum.num_replicas} replicas (FORGEONE_NATS_REPLICAS): 1 on a single server`
      : '';
  throw new Error(`creating ${storage.label} failed: ${reason}${hint}`, { cause: error });
}

// Booleans NATS leaves out of a config when false.
function normalisedExact(setting: ExactSetting, value: unknown): unknown {
  if (value === undefined && (setting === 'deny_delete' || setting === 'deny_purge' || setting === 'allow_rollup_hdrs' || setting === 'sealed')) return false;
  return value;
}

function sameValue(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) return Array.isArray(actual) && actual.length === wanted.length && wanted.every((w, i) => actual[i] === w);
  return actual === wanted;
}

// Ages and windows are unlimited at 0, counts and sizes at -1 (NATS also reports 0 for some of them).
function unlimited(setting: MinimumSetting, value: number | undefined): boolean {
  if (value === undefined) return false;
  if (setting === 'duplicate_window' || setting === 'num_replicas') return false;
  return setting === 'max_age' ? value === 0 : value <= 0;
}

/** True when `actual` is at least `wanted`, unlimited being above everything. */
function atLeast(setting: MinimumSetting, actual: number | undefined, wanted: number): boolean {
  if (unlimited(setting, actual)) return true;
  if (unlimited(setting, wanted)) return false;
  if (actual === undefined) return setting === 'num_replicas' ? wanted <= 1 : false;
  return actual >= wanted;
}

function show(value: unknown): string {
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function showLimit(setting: MinimumSetting, value: number | undefined): string {
  if (value === undefined) return 'not set';
  if (unlimited(setting, value)) return 'unlimited';
  if (setting === 'max_bytes') return `${value} (${bytes.format(value)})`;
  if (setting === 'max_age' || setting === 'duplicate_window') return `${value / 1e9}s`;
  return String(value);
}
