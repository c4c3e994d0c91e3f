import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ForgeOneError, type PluginEvent } from '@forgeone/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { evolve } from '../plugin/plugin.decider.js';
import { pluginAggregateId, type PluginKey } from '../plugin/plugin.identity.js';
import { initialPluginState } from '../plugin/plugin.state.js';
import { installPlugin, removePlugin, rollbackPlugin, upgradePlugin } from './change-installation.use-case.js';
import { publishPluginVersion } from './publish-plugin-version.use-case.js';
import type { AuthorizationRequest, Authorizer, CommandContext, CommandMetadata, PluginEventStream, RegistryPorts } from './registry.ports.js';

const hello = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string };
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');
const NAME = manifest.name;

/** The plugin streams in memory, keyed by aggregate id, recording the metadata of each append. */
class InMemoryPluginStreams implements PluginEventStream {
  readonly streams = new Map<string, { event: PluginEvent; metadata: CommandMetadata }[]>();

  async load(plugin: PluginKey) {
    const stored = this.streams.get(pluginAggregateId(plugin)) ?? [];
    return { state: stored.map((s) => s.event).reduce(evolve, initialPluginState()), version: stored.length };
  }

  async append(plugin: PluginKey, events: readonly PluginEvent[], options: { expectedVersion: number; metadata: CommandMetadata }) {
    const id = pluginAggregateId(plugin);
    const stored = this.streams.get(id) ?? [];
    if (stored.length !== options.expectedVersion) throw new ForgeOneError('EVENTSTORE.CONFLICT', 'changed concurrently');
    stored.push(...events.map((event) => ({ event, metadata: options.metadata })));
    this.streams.set(id, stored);
    return events.map((_, i) => ({ eventId: `e${stored.length - events.length + i + 1}`, sequence: stored.length - events.length + i + 1 }));
  }

  get eventCount(): number {
    return [...this.streams.values()].reduce((n, s) => n + s.length, 0);
  }
}

/** A fixed rule table: token → principal and the actions it may take. */
class TableAuthorizer implements Authorizer {
  readonly asked: AuthorizationRequest[] = [];
  constructor(private readonly table: Record<string, { id: string; tenant: string; actions: string[] }>) {}

  async authorize(request: AuthorizationRequest) {
    this.asked.push(request);
    const entry = request.credential ? this.table[request.credential] : undefined;
    if (!entry) throw new ForgeOneError('AUTH.UNAUTHENTICATED', 'no valid credential');
    if (!entry.actions.includes(request.action)) throw new ForgeOneError('AUTHZ.DENIED', `${entry.id} may not ${request.action} Plugin ${request.plugin}`);
    return { id: entry.id, tenant: entry.tenant };
  }
}

const ctx = (credential: string | undefined): CommandContext => ({ credential, now: new Date('2026-03-01T10:00:00Z'), newId: () => 'id' });

describe('registry use cases - authorisation and tenants', () => {
  let streams: InMemoryPluginStreams;
  let authorizer: TableAuthorizer;
  let stored: Uint8Array[];
  let ports: RegistryPorts;

  beforeEach(() => {
    streams = new InMemoryPluginStreams();
    authorizer = new TableAuthorizer({
      alice: { id: 'alice', tenant: 'acme', actions: ['publish', 'install', 'upgrade', 'rollback', 'remove'] },
      dave: { id: 'dave', tenant: 'acme', actions: ['install', 'upgrade'] },
      carol: { id: 'carol', tenant: 'acme', actions: [] },
      gina: { id: 'gina', tenant: 'globex', actions: ['publish', 'install', 'upgrade', 'remove'] },
    });
    stored = [];
    ports = {
      plugins: streams,
      authorizer,
      sha256: (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      artifacts: {
        put: async (bytes) => {
          stored.push(bytes);
          return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, sizeBytes: bytes.byteLength, created: true };
        },
      },
    };
  });

  it('publish - asks to publish the plugin the manifest names, and records the principal as actor and tenant', async () => {
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    expect(authorizer.asked).toEqual([{ credential: 'alice', action: 'publish', plugin: NAME }]);
    const [entry] = streams.streams.get(`acme:${NAME}`) ?? [];
    expect(entry.metadata).toMatchObject({ actor: 'alice', tenant: 'acme' });
    expect(entry.event.data).toMatchObject({ publisher: 'alice' });
  });

  it('publish - a refusal comes before the module is validated, and nothing is stored', async () => {
    const notWasm = Buffer.from('#!/bin/sh\n').toString('base64');
    await expect(publishPluginVersion(ports, { manifest, wasm: notWasm }, ctx('carol'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    await expect(publishPluginVersion(ports, { manifest, wasm: notWasm }, ctx(undefined))).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
    expect({ events: streams.eventCount, artifacts: stored.length }).toEqual({ events: 0, artifacts: 0 });
    // An allowed caller gets to the validation.
    await expect(publishPluginVersion(ports, { manifest, wasm: notWasm }, ctx('alice'))).rejects.toMatchObject({ code: 'REGISTRY.WASM_INVALID' });
  });

  it('publish - a manifest that names no plugin is refused before policy is asked', async () => {
    await expect(publishPluginVersion(ports, { manifest: { version: '1.0.0' }, wasm }, ctx('alice'))).rejects.toMatchObject({ code: 'REGISTRY.MANIFEST_INVALID' });
    expect(authorizer.asked).toEqual([]);
  });

  it('install, upgrade, remove - ask for their own action in the environment', async () => {
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
    await expect(upgradePlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'))).rejects.toMatchObject({
      code: 'REGISTRY.NOT_AN_UPGRADE',
    });
    await removePlugin(ports, { name: NAME, environment: 'staging' }, ctx('alice'));
    expect(authorizer.asked.slice(1)).toEqual([
      { credential: 'alice', action: 'install', plugin: NAME, environment: 'staging' },
      { credential: 'alice', action: 'upgrade', plugin: NAME, environment: 'staging' },
      { credential: 'alice', action: 'remove', plugin: NAME, environment: 'staging' },
    ]);
  });

  it('rollback - asks for the rollback action; a caller who may upgrade but not roll back changes nothing', async () => {
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    await publishPluginVersion(ports, { manifest: { ...manifest, version: '1.1.0' }, wasm }, ctx('alice'));
    await installPlugin(ports, { name: NAME, version: '1.1.0', environment: 'production' }, ctx('alice'));
    const request = { name: NAME, version: manifest.version, environment: 'production', reason: '1.1.0 drops requests' };
    await expect(rollbackPlugin(ports, request, ctx('dave'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    expect(streams.eventCount).toBe(3);
    const result = await rollbackPlugin(ports, request, ctx('alice'));
    expect(result).toMatchObject({ name: NAME, version: manifest.version, environment: 'production' });
    expect(authorizer.asked.at(-1)).toEqual({ credential: 'alice', action: 'rollback', plugin: NAME, environment: 'production' });
    expect(streams.streams.get(`acme:${NAME}`)?.at(-1)?.event.data).toMatchObject({ fromVersion: '1.1.0', reason: '1.1.0 drops requests' });
  });

  it('install - a denied caller changes nothing', async () => {
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'production' }, ctx('carol'))).rejects.toMatchObject({
      code: 'AUTHZ.DENIED',
    });
    expect(streams.eventCount).toBe(1);
  });

  it("tenants - the same name in two tenants is two plugins; one tenant cannot install the other tenant's plugin", async () => {
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('gina'))).rejects.toMatchObject({
      code: 'REGISTRY.PLUGIN_NOT_FOUND',
    });
    const again = await publishPluginVersion(ports, { manifest, wasm }, ctx('gina'));
    expect(again.unchanged).toBeUndefined();
    expect([...streams.streams.keys()].sort()).toEqual([`acme:${NAME}`, `globex:${NAME}`]);
    expect(streams.streams.get(`globex:${NAME}`)?.[0].metadata).toMatchObject({ actor: 'gina', tenant: 'globex' });
  });
});
