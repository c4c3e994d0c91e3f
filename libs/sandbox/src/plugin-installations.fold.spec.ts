import { PLUGIN_EVENT_TYPES, type CloudEvent, type PluginManifest } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { evolveInstallation, installationChangeOf, installationKey, pluginEventOf, publishedVersionKey, type DesiredInstallation, type PluginCloudEvent } from './plugin-installations.fold.js';

const NAME = 'acme/hello';
const TENANT = 'acme';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (version: string, allow?: string[]): PluginManifest => ({
  name: NAME,
  version,
  abi: 1,
  description: 'says hello',
  handlers: ['greet'],
  capabilities: allow ? { http: { allow } } : {},
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 65536 },
  tests: [],
});

let id = 0;
function envelope(type: string, data: unknown, tenant = TENANT): CloudEvent {
  return {
    specversion: '1.0',
    id: `e-${++id}`,
    source: 'forgeone/registry',
    type,
    subject: `plugin/${tenant}:${NAME}`,
    time: '2026-12-01T00:00:00Z',
    datacontenttype: 'application/json',
    data,
    actor: 'user:1',
    tenant,
    schemaversion: '1',
  };
}
const typed = (type: string, data: unknown, tenant?: string): PluginCloudEvent => pluginEventOf(envelope(type, data, tenant))!;
const published = (version: string, extra: Record<string, unknown> = {}) =>
  typed(PLUGIN_EVENT_TYPES.versionPublished, { name: NAME, version, digest: digest('a'), sizeBytes: 10, manifestDigest: digest('e'), manifest: manifest(version), publisher: 'user:1', ...extra });
const installed = (version: string, environment = 'staging', d = digest('a'), tenant?: string) => typed(PLUGIN_EVENT_TYPES.installed, { name: NAME, version, digest: d, environment }, tenant);
const upgraded = (fromVersion: string, version: string, d: string) => typed(PLUGIN_EVENT_TYPES.upgraded, { name: NAME, fromVersion, version, digest: d, environment: 'staging' });
const rolledBack = (fromVersion: string, version: string, d: string) =>
  typed(PLUGIN_EVENT_TYPES.rolledBack, { name: NAME, fromVersion, version, digest: d, environment: 'staging', reason: '2.0.0 fails on empty input' });
const removed = (version: string, environment = 'staging') => typed(PLUGIN_EVENT_TYPES.removed, { name: NAME, version, environment });

/** Given these events, the installation at `key` is what their fold says. */
function given(events: PluginCloudEvent[], key = installationKey(TENANT, 'staging', NAME)): DesiredInstallation | null {
  return events.reduce<DesiredInstallation | null>((row, event) => evolveInstallation(row, key, event), null);
}

describe('pluginEventOf', () => {
  it('types a plugin event by its type string and leaves other types alone', () => {
    const event = pluginEventOf(envelope(PLUGIN_EVENT_TYPES.installed, { name: NAME, version: '1.0.0', digest: digest('a'), environment: 'staging' }));
    expect(event?.type).toBe(PLUGIN_EVENT_TYPES.installed);
    expect(pluginEventOf(envelope('io.forgeone.invocation.invocation_failed.v1', {}))).toBeUndefined();
  });
});

describe('installationChangeOf', () => {
  it('a published version is kept with what the sandbox needs to run it; privateEgress defaults to none', () => {
    expect(installationChangeOf(published('1.0.0'))).toEqual({
      kind: 'published',
      key: publishedVersionKey(TENANT, NAME, '1.0.0'),
      version: { digest: digest('a'), manifestDigest: digest('e'), manifest: manifest('1.0.0'), signature: undefined, privateEgress: [] },
    });
    const signature = { envelopeDigest: digest('f'), signedAt: '2026-12-01T00:00:00Z' };
    const egress = published('1.1.0', { manifest: manifest('1.1.0', ['http://10.0.0.1']), signature, privateEgress: ['http://10.0.0.1'] });
    expect(installationChangeOf(egress)).toMatchObject({ version: { signature, privateEgress: ['http://10.0.0.1'] } });
  });

  it('installed, upgraded and rolled back all say which version the environment runs; removed clears it', () => {
    const key = installationKey(TENANT, 'staging', NAME);
    expect(installationChangeOf(installed('1.0.0'))).toEqual({ kind: 'installed', key, installation: { tenant: TENANT, environment: 'staging', name: NAME, version: '1.0.0', digest: digest('a') } });
    expect(installationChangeOf(upgraded('1.0.0', '2.0.0', digest('b')))).toMatchObject({ kind: 'installed', key, installation: { version: '2.0.0', digest: digest('b') } });
    expect(installationChangeOf(rolledBack('2.0.0', '1.0.0', digest('a')))).toMatchObject({ kind: 'installed', key, installation: { version: '1.0.0', digest: digest('a') } });
    expect(installationChangeOf(removed('1.0.0'))).toEqual({ kind: 'removed', key });
  });
});

describe('evolveInstallation', () => {
  it('given nothing, nothing is installed', () => {
    expect(given([])).toBeNull();
    expect(given([published('1.0.0')])).toBeNull();
  });

  it('given an install, an upgrade and a rollback, the environment runs the rolled-back version', () => {
    expect(given([published('1.0.0'), installed('1.0.0'), published('2.0.0'), upgraded('1.0.0', '2.0.0', digest('b')), rolledBack('2.0.0', '1.0.0', digest('a'))])).toEqual({
      tenant: TENANT,
      environment: 'staging',
      name: NAME,
      version: '1.0.0',
      digest: digest('a'),
    });
  });

  it('given a removal, nothing is installed; a later install brings it back', () => {
    expect(given([installed('1.0.0'), removed('1.0.0')])).toBeNull();
    expect(given([installed('1.0.0'), removed('1.0.0'), installed('1.0.0', 'staging', digest('c'))])).toMatchObject({ digest: digest('c') });
  });

  it('events of another environment or tenant leave the installation as it is', () => {
    const ours = installed('1.0.0');
    expect(given([ours, installed('2.0.0', 'production'), removed('1.0.0', 'production'), installed('3.0.0', 'staging', digest('d'), 'globex')])).toEqual(given([ours]));
  });
});
