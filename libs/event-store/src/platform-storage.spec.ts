import { names as namesFor } from '@forgeone/contracts';
import type { StreamConfig } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLATFORM_STORAGE_SETTINGS, platformStorage, PlatformStorageError, raiseStorageConfig, storageProblems, type PlatformStorage } from './platform-storage.js';
import { storageUsageLevel } from './storage-usage.monitor.js';

const names = namesFor('t-unit');
const settings = { ...DEFAULT_PLATFORM_STORAGE_SETTINGS, eventsMaxBytes: 64 * 1024 * 1024 };
const [events, artifacts, kv] = platformStorage(names, settings);

// A stream configuration as NATS reports it for storage provisioned exactly as required.
function provisioned(storage: PlatformStorage, overrides: Partial<StreamConfig> = {}): StreamConfig {
  return {
    name: storage.stream,
    max_consumers: -1,
    max_msg_size: -1,
    duplicate_window: 120_000_000_000,
    deny_delete: false,
    deny_purge: false,
    allow_rollup_hdrs: false,
    ...storage.exact,
    ...storage.minimum,
    ...overrides,
  } as unknown as StreamConfig;
}

describe('platform storage - requirements', () => {
  it('platform storage - names the stream and both buckets of the namespace', () => {
    expect(platformStorage(names, settings).map((s) => [s.kind, s.label, s.stream])).toEqual([
      ['events', 'stream T_UNIT_FORGEONE_EVENTS', 'T_UNIT_FORGEONE_EVENTS'],
      ['artifacts', 'object store t-unit-forgeone-artifacts', 'OBJ_t-unit-forgeone-artifacts'],
      ['plugin-kv', 'key-value bucket t-unit-forgeone-plugin-kv', 'KV_t-unit-forgeone-plugin-kv'],
    ]);
  });

  it('platform storage - storage provisioned as required has no problems', () => {
    for (const storage of [events, artifacts, kv]) expect(storageProblems(storage, provisioned(storage))).toEqual([]);
  });

  it('platform storage - a weakened event stream is named setting by setting', () => {
    const weakened = provisioned(events, {
      deny_delete: false,
      deny_purge: false,
      allow_rollup_hdrs: true,
      discard: 'old' as never,
      max_msgs: 5,
      max_bytes: 1024,
      max_age: 60_000_000_000,
      max_msgs_per_subject: 1,
      duplicate_window: 1_000_000_000,
      subjects: [names.eventsWildcard, 'forgeone.cmd.>'],
      sealed: true,
    });
    expect(storageProblems(events, weakened)).toEqual([
      'stream T_UNIT_FORGEONE_EVENTS: subjects are ["t-unit.forgeone.evt.>","forgeone.cmd.>"], must be ["t-unit.forgeone.evt.>"]',
      'stream T_UNIT_FORGEONE_EVENTS: discard is old, must be new',
      'stream T_UNIT_FORGEONE_EVENTS: deny_delete is false, must be true',
      'stream T_UNIT_FORGEONE_EVENTS: deny_purge is false, must be true',
      'stream T_UNIT_FORGEONE_EVENTS: allow_rollup_hdrs is true, must be false',
      'stream T_UNIT_FORGEONE_EVENTS: sealed is true, must be false',
      'stream T_UNIT_FORGEONE_EVENTS: max_msgs is 5, must be unlimited',
      'stream T_UNIT_FORGEONE_EVENTS: max_age is 60s, must be unlimited',
      'stream T_UNIT_FORGEONE_EVENTS: max_msgs_per_subject is 1, must be unlimited',
      'stream T_UNIT_FORGEONE_EVENTS: max_bytes is 1024 (1KB), must be at least 67108864 (64MB) (FORGEONE_EVENTS_MAX_BYTES)',
      'stream T_UNIT_FORGEONE_EVENTS: duplicate_window is 1s, must be at least 120s',
    ]);
  });

  it('platform storage - deny_delete left out of a config counts as false', () => {
    const { deny_delete: _omitted, ...rest } = provisioned(events);
    expect(storageProblems(events, rest as StreamConfig)).toEqual(['stream T_UNIT_FORGEONE_EVENTS: deny_delete is false, must be true']);
  });

  it('platform storage - buckets that would drop or expire data are refused', () => {
    expect(storageProblems(artifacts, provisioned(artifacts, { discard: 'old' as never, max_msgs_per_subject: 10 }))).toEqual([
      'object store t-unit-forgeone-artifacts: discard is old, must be new',
      'object store t-unit-forgeone-artifacts: max_msgs_per_subject is 10, must be unlimited',
    ]);
    expect(storageProblems(kv, provisioned(kv, { max_age: 3_600_000_000_000 }))).toEqual([
      'key-value bucket t-unit-forgeone-plugin-kv: max_age is 3600s, must be unlimited',
    ]);
  });
});

describe('platform storage - replicas and limits are never lowered', () => {
  it('platform storage - more replicas than the setting pass, fewer are named with the setting', () => {
    const three = platformStorage(names, { ...settings, replicas: 3 })[0];
    expect(storageProblems(events, provisioned(events, { num_replicas: 3 }))).toEqual([]);
    expect(storageProblems(three, provisioned(three, { num_replicas: 1 }))).toEqual([
      'stream T_UNIT_FORGEONE_EVENTS: num_replicas is 1, must be at least 3 (FORGEONE_NATS_REPLICAS)',
    ]);
  });

  it('platform storage - raising keeps more replicas and larger limits, and raises fewer', () => {
    const stronger = provisioned(events, { num_replicas: 3, max_bytes: 2 ** 40, duplicate_window: 600_000_000_000 });
    expect(raiseStorageConfig(events, stronger)).toEqual({ config: stronger, changes: [] });
    const unlimitedBytes = provisioned(events, { max_bytes: -1 });
    expect(raiseStorageConfig(events, unlimitedBytes).changes).toEqual([]);

    const three = platformStorage(names, { ...settings, replicas: 3 })[0];
    const raised = raiseStorageConfig(three, provisioned(three, { num_replicas: 1, max_bytes: 1024, deny_delete: false }));
    expect(raised.changes).toEqual(['deny_delete false → true', 'max_bytes 1024 (1KB) → 67108864 (64MB)', 'num_replicas 1 → 3']);
    expect(raised.config).toMatchObject({ num_replicas: 3, max_bytes: 64 * 1024 * 1024, deny_delete: true, name: events.stream });
  });

  it('platform storage - what NATS cannot change in place is refused, not raised', () => {
    expect(() => raiseStorageConfig(events, provisioned(events, { retention: 'interest' as never, sealed: true }))).toThrow(PlatformStorageError);
    expect(() => raiseStorageConfig(events, provisioned(events, { storage: 'memory' as never }))).toThrow(
      /stream T_UNIT_FORGEONE_EVENTS: storage is memory, must be file\. NATS cannot change this in place/,
    );
  });
});

describe('storage usage - alarm levels', () => {
  it('storage usage - warn from 80 %, error from 95 %', () => {
    expect([0, 79.9, 80, 94.9, 95, 100].map(storageUsageLevel)).toEqual(['ok', 'ok', 'warn', 'warn', 'error', 'error']);
  });
});
