import { ForgeOneError, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { handleCommand, type EventOrigin } from './command.handler.js';
import type { Decider } from './decider.js';
import { InMemoryEventStore } from './in-memory-event.store.js';

// A small decider over real plugin event types: "Remove" removes what is installed, "Install" installs 1.0.0 once.
type Command = { type: 'Install' } | { type: 'Remove' };
type Event = { type: string; data: { name: string; version: string; environment: string; digest?: string } };
type State = { installed: string | null; seen: number };
const DIGEST = `sha256:${'a'.repeat(64)}`;
const decider: Decider<Command, Event, State> = {
  initialState: () => ({ installed: null, seen: 0 }),
  decide: (command, state) => {
    if (command.type === 'Install') {
      if (state.installed) throw new ForgeOneError('REGISTRY.ALREADY_INSTALLED', `already installed at ${state.installed}`);
      return [{ type: PLUGIN_EVENT_TYPES.installed, data: { name: 'acme/x', version: '1.0.0', digest: DIGEST, environment: 'staging' } }];
    }
    return state.installed ? [{ type: PLUGIN_EVENT_TYPES.removed, data: { name: 'acme/x', version: state.installed, environment: 'staging' } }] : [];
  },
  evolve: (state, event) => ({ installed: event.type === PLUGIN_EVENT_TYPES.installed ? event.data.version : null, seen: state.seen + 1 }),
};
const target = { aggregate: PLUGIN_AGGREGATE, id: 'acme:acme/x', subject: 'acme/x' };
let ids = 0;
const origin: EventOrigin = { actor: 'alice', tenant: 'acme', now: new Date('2026-12-01T10:00:00.000Z'), newId: () => `evt-${++ids}` };

/** An in-memory store where another writer installs version 1.0.<n> just before each of our first `races` appends. */
class RacedStore extends InMemoryEventStore {
  appends = 0;
  constructor(public races: number) {
    super();
  }
  override async append(...args: Parameters<InMemoryEventStore['append']>) {
    this.appends++;
    if (this.races > 0) {
      this.races--;
      const data = { name: 'acme/x', version: `1.0.${this.appends}`, environment: 'staging', digest: DIGEST };
      const other = { id: `other-${this.appends}`, type: PLUGIN_EVENT_TYPES.installed, data, time: origin.now.toISOString(), actor: 'bob', tenant: 'acme' };
      await super.append(target.aggregate, target.id, [other], { expectedSequence: await this.lastSequence(target.aggregate, target.id) });
    }
    return super.append(...args);
  }
}

describe('command handler - load, decide, append', () => {
  it('appends the decided events with the loaded version expected and answers the state after them', async () => {
    const store = new InMemoryEventStore();
    const outcome = await handleCommand(store, decider, target, { type: 'Install' }, origin);
    expect(outcome.version).toBe(0);
    expect(outcome.state).toEqual({ installed: null, seen: 0 });
    expect(outcome.next).toEqual({ installed: '1.0.0', seen: 1 });
    expect(outcome.appended).toHaveLength(1);
    expect(outcome.appended[0].event).toMatchObject({ source: '/forgeone/registry', subject: 'acme/x', actor: 'alice', tenant: 'acme', time: '2026-12-01T10:00:00.000Z' });
    const removed = await handleCommand(store, decider, target, { type: 'Remove' }, origin);
    expect(removed.version).toBe(outcome.appended[0].sequence);
  });

  it('appends nothing when the decider decides nothing, and refuses what the decider refuses', async () => {
    const store = new InMemoryEventStore();
    expect((await handleCommand(store, decider, target, { type: 'Remove' }, origin)).appended).toEqual([]);
    await handleCommand(store, decider, target, { type: 'Install' }, origin);
    await expect(handleCommand(store, decider, target, { type: 'Install' }, origin)).rejects.toMatchObject({ code: 'REGISTRY.ALREADY_INSTALLED' });
    expect(store.all()).toHaveLength(1);
  });

  it('dry run: beforeAppend runs with the decided events, nothing is appended', async () => {
    const store = new InMemoryEventStore();
    const seen: unknown[] = [];
    const outcome = await handleCommand(store, decider, target, { type: 'Install' }, origin, { dryRun: true, beforeAppend: async (events, state) => void seen.push(events.length, state) });
    expect(seen).toEqual([1, { installed: null, seen: 0 }]);
    expect(outcome).toMatchObject({ appended: [], next: { installed: '1.0.0' } });
    expect(store.all()).toEqual([]);
  });

  it('a throwing beforeAppend appends nothing', async () => {
    const store = new InMemoryEventStore();
    const failing = handleCommand(store, decider, target, { type: 'Install' }, origin, { beforeAppend: async () => Promise.reject(new Error('storage down')) });
    await expect(failing).rejects.toThrow('storage down');
    expect(store.all()).toEqual([]);
  });
});

describe('command handler - conflicts', () => {
  it('re-decides on the fresh state when another writer came first', async () => {
    const store = new RacedStore(1);
    // The other writer installs first, so our Install is judged again and refused on its result.
    await expect(handleCommand(store, decider, target, { type: 'Install' }, origin)).rejects.toMatchObject({ code: 'REGISTRY.ALREADY_INSTALLED' });
    expect(store.appends).toBe(1);
    expect(store.all().map((e) => e.event.actor)).toEqual(['bob']);
  });

  it('succeeds on a later attempt when the fresh state still allows the command', async () => {
    const store = new RacedStore(0);
    await handleCommand(store, decider, target, { type: 'Install' }, origin);
    store.races = 2;
    const outcome = await handleCommand(store, decider, target, { type: 'Remove' }, origin);
    // Decided three times; the third on bob's second installation, which it removes.
    expect(store.appends).toBe(4);
    expect(outcome.version).toBe(3);
    expect(outcome.appended[0].event.data).toMatchObject({ version: '1.0.3' });
    expect(store.all().map((e) => e.event.actor)).toEqual(['alice', 'bob', 'bob', 'alice']);
  });

  it('gives up after the policy\'s attempts with the last EVENTSTORE.CONFLICT', async () => {
    const store = new RacedStore(10);
    await expect(handleCommand(store, decider, target, { type: 'Install' }, origin, { retry: { maxAttempts: 1 } })).rejects.toMatchObject({ code: 'EVENTSTORE.CONFLICT' });
    expect(store.appends).toBe(1);
    const removing = new RacedStore(0);
    await handleCommand(removing, decider, target, { type: 'Install' }, origin);
    removing.races = 10;
    await expect(handleCommand(removing, decider, target, { type: 'Remove' }, origin, { retry: { maxAttempts: 3 } })).rejects.toMatchObject({ code: 'EVENTSTORE.CONFLICT' });
    expect(removing.appends).toBe(4);
  });
});
