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

describe('plugin decider - publish with a signature', () => {
  const signature = (c: string) => ({ envelopeDigest: digest(c), signedAt: '2026-03-01T10:00:00.000Z' });
  const signed = (c: string): PluginCommand => {
    const command = publish('1.0.0') as PluginCommand & { type: 'PublishPluginVersion' };
    return { ...command, data: { ...command.data, signature: signature(c) } };
  };
  it('records the signature with the version', () => {
    const [event] = decide(signed('e'), initialPluginState());
    expect(event.data).toMatchObject({ signature: signature('e') });
    expect(evolve(initialPluginState(), event).versions['1.0.0'].signature).toEqual(signature('e'));
  });
  it('treats republishing the same content with the same envelope as a no-op', () => {
    const [event] = decide(signed('e'), initialPluginState());
    given([event]).when(signed('e')).then([]);
  });
  it('refuses the same content with another signature, or a signature for a version published unsigned', () => {
    const [event] = decide(signed('e'), initialPluginState());
    expect(given([event]).when(signed('f')).thenRefused('REGISTRY.VERSION_EXISTS').message).toContain('with another signature');
    expect(given([event]).when(publish('1.0.0')).thenRefused('REGISTRY.VERSION_EXISTS').message).toContain('publish a new version');
    expect(given([published('1.0.0')]).when(signed('e')).thenRefused('REGISTRY.VERSION_EXISTS').message).toContain('already published unsigned');
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
  it('refuses an upgrade to the installed version', () => {
    given(history)
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

const upgraded = (fromVersion: string, version: string, d: string, environment = 'staging'): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.upgraded,
  data: { name: NAME, fromVersion, version, digest: d, environment },
});
const rolledBack = (fromVersion: string, version: string, d: string, reason: string, environment = 'staging'): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.rolledBack,
  data: { name: NAME, fromVersion, version, digest: d, environment, reason },
});
const removed = (version: string, environment = 'staging'): PluginEvent => ({ type: PLUGIN_EVENT_TYPES.removed, data: { name: NAME, version, environment } });
const install = (version: string, environment = 'staging'): PluginCommand => ({ type: 'InstallPlugin', data: { name: NAME, version, environment } });
const upgrade = (version: string, environment = 'staging'): PluginCommand => ({ type: 'UpgradePlugin', data: { name: NAME, version, environment } });
const rollback = (version: string, reason = '2.0.0 loses orders', environment = 'staging'): PluginCommand => ({
  type: 'RollbackPlugin',
  data: { name: NAME, version, environment, reason },
});

describe('plugin decider - rollback protection', () => {
  const versions = [published('1.0.0'), published('1.5.0', digest('b')), published('2.0.0', digest('c'))];
  const onTwo = [...versions, installed('1.0.0'), upgraded('1.0.0', '2.0.0', digest('c'))];

  it('refuses an upgrade to a version below the installed one, naming the highest version and the rollback command', () => {
    const error = given(onTwo).when(upgrade('1.0.0')).thenRefused('REGISTRY.DOWNGRADE_REFUSED');
    expect(error.message).toContain('lower than 2.0.0, the highest version staging has had');
    expect(error.message).toContain('forgeone plugin rollback acme/hello@1.0.0 --env staging --reason <text>');
    expect(error.details).toMatchObject({ highestVersion: '2.0.0', requestedVersion: '1.0.0' });
  });

  it('remembers the highest version after a removal: a reinstall below it is refused', () => {
    const error = given([...onTwo, removed('2.0.0')]).when(install('1.5.0')).thenRefused('REGISTRY.DOWNGRADE_REFUSED');
    expect(error.message).toContain('lower than 2.0.0');
    expect(error.message).toContain('install 2.0.0 or later, then use `forgeone plugin rollback acme/hello@1.5.0');
  });

  it('allows a reinstall at or above the highest version after a removal', () => {
    given([...onTwo, removed('2.0.0')]).when(install('2.0.0')).then([installed('2.0.0', 'staging', digest('c'))]);
  });

  it('keeps the highest version per environment: production may start lower than staging has been', () => {
    given(onTwo).when(install('1.0.0', 'production')).then([installed('1.0.0', 'production')]);
  });

  it('after a rollback, an upgrade above the installed but below the highest version is still refused', () => {
    const error = given([...onTwo, rolledBack('2.0.0', '1.0.0', digest('a'), 'bad')]).when(upgrade('1.5.0')).thenRefused('REGISTRY.DOWNGRADE_REFUSED');
    expect(error.message).toContain('upgrade to 2.0.0 or later, then use');
  });

  it('after a rollback, an upgrade back to the highest version is allowed', () => {
    given([...onTwo, rolledBack('2.0.0', '1.0.0', digest('a'), 'bad')])
      .when(upgrade('2.0.0'))
      .then([upgraded('1.0.0', '2.0.0', digest('c'))]);
  });
});

describe('plugin decider - rollback', () => {
  const versions = [published('1.0.0'), published('1.5.0', digest('b')), published('2.0.0', digest('c'))];
  const onTwo = [...versions, installed('1.0.0'), upgraded('1.0.0', '2.0.0', digest('c'))];

  it('goes back to a lower published version and records the reason', () => {
    given(onTwo).when(rollback('1.5.0', '2.0.0 loses orders')).then([rolledBack('2.0.0', '1.5.0', digest('b'), '2.0.0 loses orders')]);
  });

  it('may go back to a version the environment never had', () => {
    given([...versions, installed('2.0.0', 'staging', digest('c'))]).when(rollback('1.0.0')).then([rolledBack('2.0.0', '1.0.0', digest('a'), '2.0.0 loses orders')]);
  });

  it('can be repeated further down', () => {
    given([...onTwo, rolledBack('2.0.0', '1.5.0', digest('b'), 'first')])
      .when(rollback('1.0.0', 'second'))
      .then([rolledBack('1.5.0', '1.0.0', digest('a'), 'second')]);
  });

  it('refuses the installed version or a higher one', () => {
    given(onTwo).when(rollback('2.0.0')).thenRefused('REGISTRY.NOT_A_ROLLBACK');
    const error = given([...versions, installed('1.0.0')]).when(rollback('1.5.0')).thenRefused('REGISTRY.NOT_A_ROLLBACK');
    expect(error.message).toContain('1.5.0 is not lower than 1.0.0, the version installed in staging');
  });

  it('refuses where nothing is installed, also after a removal', () => {
    given(versions).when(rollback('1.0.0')).thenRefused('REGISTRY.NOT_INSTALLED');
    given([...onTwo, removed('2.0.0')]).when(rollback('1.0.0')).thenRefused('REGISTRY.NOT_INSTALLED');
  });

  it('refuses a version that was never published', () => {
    given(onTwo).when(rollback('0.9.0')).thenRefused('REGISTRY.VERSION_NOT_FOUND');
  });

  it('keeps the highest version: after rolling back, the rolled-back-to version cannot be passed by a lower upgrade', () => {
    const state = [...onTwo, rolledBack('2.0.0', '1.0.0', digest('a'), 'bad')].reduce(evolve, initialPluginState());
    expect(state.highestVersions).toEqual({ staging: '2.0.0' });
    expect(state.installations['staging']).toEqual({ version: '1.0.0', digest: digest('a') });
  });
});
