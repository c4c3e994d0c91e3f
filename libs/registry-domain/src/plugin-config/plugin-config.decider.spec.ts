import { ForgeOneError, PLUGIN_CONFIG_EVENT_TYPES, type PluginConfigEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { PluginConfigCommand, SetPluginConfigValue } from './plugin-config.commands.js';
import { pluginConfigDecider } from './plugin-config.decider.js';

const at = { name: 'acme/hello', environment: 'production' };
const sealed = { alg: 'A256GCM' as const, keyId: '0123456789abcdef', nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAA', tag: 'AAAAAAAAAAAAAAAAAAAAAA==' };
const setPlain = (key: string, value: string): SetPluginConfigValue => ({ type: 'SetPluginConfigValue', data: { ...at, key, secret: false, value } });
const plainSet = (key: string, value: string): PluginConfigEvent => ({ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { ...at, key, secret: false, value } });
const secretSet = (key: string): PluginConfigEvent => ({ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { ...at, key, secret: true, sealed } });

type Stored = PluginConfigEvent & { actor?: string; time?: string };
const proposed = (key: string, value: string, changeId = 'c-1', actor = 'adm-1'): Stored => ({
  type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed,
  data: { ...at, key, changeId, change: 'set', secret: false, value },
  actor,
  time: '2026-12-07T10:00:00.000Z',
});
const approve = (changeId: string, actor: string, actorTokenIssuers: string[] = [], notes?: string): PluginConfigCommand => ({
  type: 'ApprovePluginConfigChange',
  data: { ...at, changeId, actor, actorTokenIssuers, ...(notes ? { notes } : {}) },
});

function given(events: Stored[]) {
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

describe('plugin config decider - changes of a gated environment wait for approval', () => {
  const gated = { changeId: 'c-1' };
  it('a set in a gated environment is only proposed, and what config_get serves stays as it was', () => {
    const { state, when } = given([plainSet('greeting', 'hi')]);
    when({ ...setPlain('greeting', 'hello'), proposal: gated }).then([
      { type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...at, key: 'greeting', changeId: 'c-1', change: 'set', secret: false, value: 'hello' } },
    ]);
    const after = pluginConfigDecider.evolve(state, proposed('greeting', 'hello'));
    expect(after.entries.greeting).toMatchObject({ value: 'hi' });
    expect(after.pending.greeting).toMatchObject({ changeId: 'c-1', proposedBy: 'adm-1', change: 'set', value: 'hello' });
  });
  it('a secret is proposed sealed, exactly as a value_set would hold it', () => {
    given([])
      .when({ type: 'SetPluginConfigValue', data: { ...at, key: 'token', secret: true, sealed }, proposal: gated })
      .then([{ type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...at, key: 'token', changeId: 'c-1', change: 'set', secret: true, sealed } }]);
  });
  it('an unset in a gated environment is proposed; of a key not set it is refused', () => {
    given([secretSet('token')])
      .when({ type: 'UnsetPluginConfigValue', data: { ...at, key: 'token' }, proposal: gated })
      .then([{ type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...at, key: 'token', changeId: 'c-1', change: 'unset', secret: true } }]);
    given([]).when({ type: 'UnsetPluginConfigValue', data: { ...at, key: 'nope' }, proposal: gated }).thenRefused('PLUGIN_CONFIG.KEY_NOT_FOUND');
  });
  it('proposing the value already served changes nothing', () => {
    given([plainSet('greeting', 'hi')]).when({ ...setPlain('greeting', 'hi'), proposal: gated }).then([]);
  });
  it("another principal's approval applies the change, naming the proposal, its proposer and the notes", () => {
    given([proposed('greeting', 'hello')])
      .when(approve('c-1', 'app-1', ['root'], 'checked'))
      .then([
        {
          type: PLUGIN_CONFIG_EVENT_TYPES.valueSet,
          data: { ...at, key: 'greeting', secret: false, value: 'hello', approval: { changeId: 'c-1', proposedBy: 'adm-1', notes: 'checked' } },
        },
      ]);
  });
  it('an approved secret is applied with the sealed value of its proposal', () => {
    const secretProposal: Stored = { type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...at, key: 'token', changeId: 'c-2', change: 'set', secret: true, sealed }, actor: 'adm-1' };
    given([secretProposal])
      .when(approve('c-2', 'app-1'))
      .then([{ type: PLUGIN_CONFIG_EVENT_TYPES.valueSet, data: { ...at, key: 'token', secret: true, sealed, approval: { changeId: 'c-2', proposedBy: 'adm-1' } } }]);
  });
  it('an approved removal unsets the key', () => {
    const removal: Stored = { type: PLUGIN_CONFIG_EVENT_TYPES.changeProposed, data: { ...at, key: 'greeting', changeId: 'c-3', change: 'unset', secret: false }, actor: 'adm-1' };
    given([plainSet('greeting', 'hi'), removal])
      .when(approve('c-3', 'app-1'))
      .then([{ type: PLUGIN_CONFIG_EVENT_TYPES.valueUnset, data: { ...at, key: 'greeting', secret: false, approval: { changeId: 'c-3', proposedBy: 'adm-1' } } }]);
  });
  it('the proposer may not approve their own change', () => {
    given([proposed('greeting', 'hello')]).when(approve('c-1', 'adm-1')).thenRefused('PLUGIN_CONFIG.OWN_CHANGE');
  });
  it('nor may a holder of a token the proposer issued', () => {
    given([proposed('greeting', 'hello')]).when(approve('c-1', 'app-2', ['root', 'adm-1'])).thenRefused('PLUGIN_CONFIG.OWN_CHANGE');
  });
  it('approving a change that does not wait is refused', () => {
    given([]).when(approve('c-9', 'app-1')).thenRefused('PLUGIN_CONFIG.NO_CHANGE');
  });
  it('a newer proposal for the same key replaces the older one', () => {
    const { state, when } = given([proposed('greeting', 'hello', 'c-1'), proposed('greeting', 'hallo', 'c-2')]);
    expect(Object.values(state.pending).map((p) => p.changeId)).toEqual(['c-2']);
    when(approve('c-1', 'app-1')).thenRefused('PLUGIN_CONFIG.NO_CHANGE');
  });
  it('a rejection discards the change: it never applies and cannot be approved afterwards', () => {
    const { state, when } = given([proposed('greeting', 'hello')]);
    when({ type: 'RejectPluginConfigChange', data: { ...at, changeId: 'c-1', notes: 'wrong greeting' } }).then([
      { type: PLUGIN_CONFIG_EVENT_TYPES.changeRejected, data: { ...at, key: 'greeting', changeId: 'c-1', secret: false, proposedBy: 'adm-1', notes: 'wrong greeting' } },
    ]);
    const rejected: Stored = { type: PLUGIN_CONFIG_EVENT_TYPES.changeRejected, data: { ...at, key: 'greeting', changeId: 'c-1', secret: false, proposedBy: 'adm-1', notes: 'wrong greeting' } };
    const after = pluginConfigDecider.evolve(state, rejected);
    expect(after).toEqual({ entries: {}, pending: {} });
    given([proposed('greeting', 'hello'), rejected]).when(approve('c-1', 'app-1')).thenRefused('PLUGIN_CONFIG.NO_CHANGE');
    given([]).when({ type: 'RejectPluginConfigChange', data: { ...at, changeId: 'c-1', notes: 'x' } }).thenRefused('PLUGIN_CONFIG.NO_CHANGE');
  });
  it('a value applied at once (the environment ungated since) drops the pending change of its key', () => {
    const { state } = given([proposed('greeting', 'hello'), plainSet('greeting', 'hey')]);
    expect(state.pending).toEqual({});
    expect(state.entries.greeting).toMatchObject({ value: 'hey' });
  });
});
