import { ForgeOneError, PLUGIN_CONFIG_EVENT_TYPES, type PluginConfigEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { PluginConfigCommand } from './plugin-config.commands.js';
import { pluginConfigDecider } from './plugin-config.decider.js';

const at = { name: 'acme/hello', environment: 'production' };
const sealed = { alg: 'A256GCM' as const, keyId: '0123456789abcdef', nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAA', tag: 'AAAAAAAAAAAAAAAAAAAAAA==' };
const setPlain = (key: string, value: string): PluginConfigCommand => ({ type: 'SetPluginConfigValue', data: { ...at, key, secret: false, value } });
const plainSet = (key: string, value: string): PluginConfigEvent => ({ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { ...at, key, secret: false, value } });
const secretSet = (key: string): PluginConfigEvent => ({ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { ...at, key, secret: true, sealed } });

function given(events: PluginConfigEvent[]) {
  const state = events.reduce(pluginConfigDecider.evolve, pluginConfigDecider.initialState());
  return {
    state,
    when: (command: PluginConfigCommand) => ({
      then: (expected: PluginConfigEvent[]) => expect(pluginConfigDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          pluginConfigDecider.decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
      },
    }),
  };
}

describe('plugin config decider', () => {
  it('sets a value', () => {
    given([]).when(setPlain('greeting', 'hi')).then([plainSet('greeting', 'hi')]);
  });
  it('the same value again changes nothing', () => {
    given([plainSet('greeting', 'hi')]).when(setPlain('greeting', 'hi')).then([]);
  });
  it('a secret is always set again (a fresh seal), and replaces a value of the same key', () => {
    given([plainSet('token', 'x')])
      .when({ type: 'SetPluginConfigValue', data: { ...at, key: 'token', secret: true, sealed } })
      .then([secretSet('token')]);
  });
  it('unsets a key, recording whether it was a secret', () => {
    given([secretSet('token')])
      .when({ type: 'UnsetPluginConfigValue', data: { ...at, key: 'token' } })
      .then([{ type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { ...at, key: 'token', secret: true } }]);
  });
  it('refuses to unset a key that is not set', () => {
    given([]).when({ type: 'UnsetPluginConfigValue', data: { ...at, key: 'nope' } }).thenRefused('PLUGIN_CONFIG.KEY_NOT_FOUND');
  });
  it('a fold keeps only the last value of a key and drops unset keys', () => {
    const { state } = given([plainSet('a', '1'), plainSet('a', '2'), plainSet('b', '3'), { type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { ...at, key: 'b', secret: false } }]);
    expect(Object.keys(state.entries)).toEqual(['a']);
    expect(state.entries.a).toMatchObject({ secret: false, value: '2' });
  });
});
