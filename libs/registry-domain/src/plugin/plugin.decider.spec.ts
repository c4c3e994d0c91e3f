import { ForgeOneError, PLUGIN_EVENT_TYPES, type PluginEvent, type PluginManifest } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { PluginCommand } from './plugin.commands.js';
import { decide, evolve } from './plugin.decider.js';
import { initialPluginState } from './plugin.state.js';

const NAME = 'acme/hello';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (version: string): PluginManifest => ({
  name: NAME,
  version,
  abi: 1,
  description: 'says hello',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 65536 },
  tests: [],
});

const published = (version: string, d = digest('a')): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.versionPublished,
  data: { name: NAME, version, digest: d, sizeBytes: 10, manifestDigest: digest('m'), manifest: manifest(version), publisher: 'user:1' },
});
const installed = (version: string, environment = 'staging', d = digest('a')): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.installed,
  data: { name: NAME, version, digest: d, environment },
});
const publish = (version: string, d = digest('a')): PluginCommand => ({
  type: 'PublishPluginVersion',
  data: { name: NAME, version, digest: d, sizeBytes: 10, manifestDigest: digest('m'), manifest: manifest(version), publisher: 'user:1' },
});

/** Given past events, when a command is decided, then these events (or this error code). */
function given(events: PluginEvent[]) {
  const state = events.reduce(evolve, initialPluginState());
  return {
    when: (command: PluginCommand) => ({
      then: (expected: PluginEvent[]) => expect(decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
        return caught as ForgeOneError;
      },
    }),
  };
}

describe('plugin decider - publish', () => {
  it('publishes a first version', () => {
    given([]).when(publish('1.0.0')).then([published('1.0.0')]);
  });
  it('treats republishing identical content as a no-op', () => {
    given([published('1.0.0')]).when(publish('1.0.0')).then([]);
  });
  it('refuses the same version with different bytes', () => {
    const error = given([published('1.0.0')]).when(publish('1.0.0', digest('b'))).thenRefused('REGISTRY.VERSION_EXISTS');
    expect(error.message).toContain('acme/hello@1.0.0');
  });
});

describe('plugin decider - install', () => {
  it('installs a published version', () => {
    given([published('1.0.0')])
      .when({ type: 'InstallPlugin', data: { name: NAME, version: '1.0.0', environment: 'staging' } })
      .then([installed('1.0.0')]);
  });
  it('refuses a plugin that was never published', () => {
    given([]).when({ type: 'InstallPlugin', data: { name: NAME, version: '1.0.0', environment: 'staging' } }).thenRefused('REGISTRY.PLUGIN_NOT_FOUND');
  });
  it('refuses a version that does not exist and lists the published ones', () => {
    const error = given([published('1.0.0')])
      .when({ type: 'InstallPlugin', data: { name: NAME, version: '9.9.9', environment: 'staging' } })
      .thenRefused('REGISTRY.VERSION_NOT_FOUND');
    expect(error.message).toContain('1.0.0');
  });
  it('refuses a second install into the same environment', () => {
    given([published('1.0.0'), installed('1.0.0')])
      .when({ type: 'InstallPlugin', data: { name: NAME, version: '1.0.0', environment: 'staging' } })
      .thenRefused('REGISTRY.ALREADY_INSTALLED');
  });
  it('installs into another environment independently', () => {
    given([published('1.0.0'), installed('1.0.0', 'staging')])
      .when({ type: 'InstallPlugin', data: { name: NAME, version: '1.0.0', environment: 'production' } })
      .then([installed('1.0.0', 'production')]);
  });
});

describe('plugin decider - upgrade and remove', () => {
  const history = [published('1.0.0'), published('1.1.0', digest('c')), installed('1.0.0')];
  it('upgrades to a newer version', () => {
    given(history)
      .when({ type: 'UpgradePlugin', data: { name: NAME, version: '1.1.0', environment: 'staging' } })
      .then([{ type: PLUGIN_EVENT_TYPES.upgraded, data: { name: NAME, fromVersion: '1.0.0', version: '1.1.0', digest: digest('c'), environment: 'staging' } }]);
  });
  it('refuses an upgrade to an older or equal version', () => {
    given([...history, { type: PLUGIN_EVENT_TYPES.upgraded, data: { name: NAME, fromVersion: '1.0.0', version: '1.1.0', digest: digest('c'), environment: 'staging' } }])
      .when({ type: 'UpgradePlugin', data: { name: NAME, version: '1.0.0', environment: 'staging' } })
      .thenRefused('REGISTRY.NOT_AN_UPGRADE');
  });
  it('refuses an upgrade where nothing is installed', () => {
    given(history)
      .when({ type: 'UpgradePlugin', data: { name: NAME, version: '1.1.0', environment: 'production' } })
      .thenRefused('REGISTRY.NOT_INSTALLED');
  });
  it('removes an installation, after which it can be installed again', () => {
    const removed: PluginEvent = { type: PLUGIN_EVENT_TYPES.removed, data: { name: NAME, version: '1.0.0', environment: 'staging' } };
    given(history).when({ type: 'RemovePlugin', data: { name: NAME, environment: 'staging' } }).then([removed]);
    given([...history, removed])
      .when({ type: 'InstallPlugin', data: { name: NAME, version: '1.1.0', environment: 'staging' } })
      .then([installed('1.1.0', 'staging', digest('c'))]);
  });
  it('refuses removing what is not installed', () => {
    given([published('1.0.0')]).when({ type: 'RemovePlugin', data: { name: NAME, environment: 'staging' } }).thenRefused('REGISTRY.NOT_INSTALLED');
  });
});
