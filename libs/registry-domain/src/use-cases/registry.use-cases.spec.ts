import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SIGNATURE_POLICY, DEFAULT_STORAGE_QUOTA_SETTINGS, ForgeOneError, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, WATCH_AGGREGATE, WATCH_EVENT_TYPES } from '@forgeone/contracts';
import { InMemoryEventStore, isConflict } from '@forgeone/event-sourcing';
import { beforeEach, describe, expect, it } from 'vitest';
import { installPlugin, removePlugin, rollbackPlugin, upgradePlugin } from './change-installation.use-case.js';
import { confirmEnvironment, listEnvironments, setEnvironment, showEnvironment } from './environment.use-cases.js';
import { publishPluginVersion } from './publish-plugin-version.use-case.js';
import { reportDropRejected } from './watch.use-cases.js';
import type {
  AuthorizationRequest,
  Authorizer,
  CommandContext,
  CommandMetadata,
  EnvironmentAuthorizationRequest,
  RegistryPorts,
  SignatureCheck,
  SignatureOutcome,
  SignatureVerifier,
} from './registry.ports.js';

const hello = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string };
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');
const NAME = manifest.name;

/** The plugin aggregates' envelopes in the in-memory event store, by aggregate id. */
class PluginStreams {
  constructor(readonly store: InMemoryEventStore) {}

  get(id: string) {
    const events = this.plugins().filter((e) => e.id === id);
    return events.length ? events.map((e) => e.event) : undefined;
  }

  ids(): string[] {
    return [...new Set(this.plugins().map((e) => e.id))];
  }

  get eventCount(): number {
    return this.plugins().length;
  }

  private plugins() {
    return this.store.all().filter((e) => e.aggregate === PLUGIN_AGGREGATE);
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

  async authorizeEnvironment(request: EnvironmentAuthorizationRequest) {
    const entry = request.credential ? this.table[request.credential] : undefined;
    if (!entry) throw new ForgeOneError('AUTH.UNAUTHENTICATED', 'no valid credential');
    if (!entry.actions.includes(request.action)) throw new ForgeOneError('AUTHZ.DENIED', `${entry.id} may not ${request.action} Environment ${request.environment}`);
    return { id: entry.id, tenant: entry.tenant };
  }
}

/**
 * The verification port with a fixed verdict (the real verifier, with keys and envelopes, runs in the
 * registry's e2e tests): an envelope is well-formed when it is JSON; a stored signature passes when
 * its digest is in `valid`; unsigned is SIGNATURE.MISSING. Every check is kept, as the adapter records it.
 */
class VerdictVerifier implements SignatureVerifier {
  readonly checks: SignatureCheck[] = [];
  /** Whether each check asked for its result to be recorded. */
  readonly recorded: boolean[] = [];
  readonly valid = new Set<string>();

  checkEnvelope(envelope: Uint8Array): SignatureOutcome<'SIGNATURE.MALFORMED'> {
    try {
      JSON.parse(new TextDecoder().decode(envelope));
      return { ok: true, reason: null, message: 'well-formed' };
    } catch {
      return { ok: false, reason: 'SIGNATURE.MALFORMED', message: 'not JSON', details: {} };
    }
  }

  async verify(check: SignatureCheck, _metadata: CommandMetadata, options: { record: boolean }): Promise<SignatureOutcome> {
    this.checks.push(check);
    this.recorded.push(options.record);
    if (!check.signature) return { ok: false, reason: 'SIGNATURE.MISSING', message: 'unsigned', details: {} };
    return this.valid.has(check.signature.envelopeDigest)
      ? { ok: true, reason: null, message: 'signed' }
      : { ok: false, reason: 'SIGNATURE.UNTRUSTED_KEY', message: 'no trusted key', details: { keyIds: ['k'] } };
  }
}

let ids = 0;
// Event ids are unique, as the store stores an id once.
const ctx = (credential: string | undefined): CommandContext => ({ credential, now: new Date('2026-03-01T10:00:00Z'), newId: () => `evt-${++ids}` });

describe('registry use cases - authorisation and tenants', () => {
  let streams: PluginStreams;
  let authorizer: TableAuthorizer;
  let stored: Uint8Array[];
  let verifier: VerdictVerifier;
  let ports: RegistryPorts;

  beforeEach(() => {
    streams = new PluginStreams(new InMemoryEventStore());
    authorizer = new TableAuthorizer({
      alice: { id: 'alice', tenant: 'acme', actions: ['publish', 'install', 'upgrade', 'rollback', 'remove', 'read-environment', 'configure-environment', 'emergency-change'] },
      bob: { id: 'bob', tenant: 'acme', actions: ['read-environment', 'configure-environment'] },
      dave: { id: 'dave', tenant: 'acme', actions: ['install', 'upgrade'] },
      carol: { id: 'carol', tenant: 'acme', actions: [] },
      gina: { id: 'gina', tenant: 'globex', actions: ['publish', 'install', 'upgrade', 'remove'] },
    });
    stored = [];
    verifier = new VerdictVerifier();
    ports = {
      signatures: verifier,
      signaturePolicy: DEFAULT_SIGNATURE_POLICY,
      storageQuota: DEFAULT_STORAGE_QUOTA_SETTINGS,
      events: streams.store,
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
    const [entry] = streams.get(`acme:${NAME}`) ?? [];
    expect(entry).toMatchObject({ actor: 'alice', tenant: 'acme' });
    expect(entry.data).toMatchObject({ publisher: 'alice' });
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

  it('publish - a storage quota above the platform cap is refused naming the cap and its variable, before policy is asked', async () => {
    ports = { ...ports, storageQuota: { ...DEFAULT_STORAGE_QUOTA_SETTINGS, pluginCap: { maxBytes: 4096, maxKeys: 10_000 }, pluginDefault: { maxBytes: 1024, maxKeys: 100 } } };
    const asking = (maxStorageBytes: number) => ({ ...manifest, capabilities: { storage: true }, limits: { ...(manifest.limits as object), maxStorageBytes } });
    const refused = publishPluginVersion(ports, { manifest: asking(4097), wasm }, ctx('alice'));
    await expect(refused).rejects.toMatchObject({
      code: 'REGISTRY.MANIFEST_INVALID',
      message: expect.stringContaining("limits.maxStorageBytes: 4097 is above this platform's cap of 4096 (FORGEONE_STORAGE_MAX_QUOTA_BYTES)"),
    });
    expect(authorizer.asked).toEqual([]);
    expect(streams.eventCount).toBe(0);
    await publishPluginVersion(ports, { manifest: asking(4096), wasm }, ctx('alice'));
    expect(streams.eventCount).toBe(1);
  });

  it('publish - an allow-list naming a private address also asks publish-private-egress, refused before the module is read', async () => {
    const privateManifest = { ...manifest, capabilities: { http: { allow: ['example.com', '192.168.1.10:8443'] } } };
    const notWasm = Buffer.from('#!/bin/sh\n').toString('base64');
    await expect(publishPluginVersion(ports, { manifest: privateManifest, wasm: notWasm }, { ...ctx('alice'), source: 'http 203.0.113.7' })).rejects.toMatchObject({
      code: 'REGISTRY.PRIVATE_EGRESS_REFUSED',
      details: { entries: [{ entry: '192.168.1.10:8443', range: '192.168.0.0/16', rangeName: 'private network' }] },
    });
    expect(authorizer.asked).toEqual([
      { credential: 'alice', action: 'publish', plugin: NAME, source: 'http 203.0.113.7' },
      { credential: 'alice', action: 'publish-private-egress', plugin: NAME, source: 'http 203.0.113.7' },
    ]);
    expect({ events: streams.eventCount, artifacts: stored.length }).toEqual({ events: 0, artifacts: 0 });
  });

  it('publish - a principal allowed publish-private-egress publishes, and the event names the private entries', async () => {
    authorizer = new TableAuthorizer({ root: { id: 'root', tenant: 'acme', actions: ['publish', 'publish-private-egress'] } });
    ports = { ...ports, authorizer };
    const privateManifest = { ...manifest, capabilities: { http: { allow: ['example.com', '192.168.1.10:8443', 'localhost'] } } };
    await publishPluginVersion(ports, { manifest: privateManifest, wasm }, ctx('root'));
    expect(streams.get(`acme:${NAME}`)?.[0].data).toMatchObject({ privateEgress: ['192.168.1.10:8443', 'localhost'] });
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
    await installPlugin(ports, { name: NAME, version: '1.1.0', environment: 'staging' }, ctx('alice'));
    const request = { name: NAME, version: manifest.version, environment: 'staging', reason: '1.1.0 drops requests' };
    await expect(rollbackPlugin(ports, request, ctx('dave'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    expect(streams.eventCount).toBe(3);
    const result = await rollbackPlugin(ports, request, ctx('alice'));
    expect(result).toMatchObject({ name: NAME, version: manifest.version, environment: 'staging' });
    expect(authorizer.asked.at(-1)).toEqual({ credential: 'alice', action: 'rollback', plugin: NAME, environment: 'staging' });
    expect(streams.get(`acme:${NAME}`)?.at(-1)?.data).toMatchObject({ fromVersion: '1.1.0', reason: '1.1.0 drops requests' });
  });

  it('install - two racing installs of one environment: one is appended, the other is decided again and refused', async () => {
    const store = new (class extends InMemoryEventStore {
      conflicts = 0;
      override async append(...args: Parameters<InMemoryEventStore['append']>) {
        return super.append(...args).catch((error: unknown) => {
          if (isConflict(error)) this.conflicts++;
          throw error;
        });
      }
    })();
    ports = { ...ports, events: store };
    streams = new PluginStreams(store);
    await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
    const install = () => installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
    // Both load the same state before either appends; the second append conflicts and is re-decided.
    const results = await Promise.allSettled([install(), install()]);
    expect(store.conflicts).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'REGISTRY.ALREADY_INSTALLED' } });
    expect(streams.get(`acme:${NAME}`)?.map((e) => e.type)).toEqual([PLUGIN_EVENT_TYPES.versionPublished, PLUGIN_EVENT_TYPES.installed]);
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
    expect(streams.ids().sort()).toEqual([`acme:${NAME}`, `globex:${NAME}`]);
    expect(streams.get(`globex:${NAME}`)?.[0]).toMatchObject({ actor: 'gina', tenant: 'globex' });
  });

  describe('signatures', () => {
    const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const envelopeText = '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}';
    const envelopeDigest = sha(new TextEncoder().encode(envelopeText));

    it('publish - stores a well-formed envelope, records signedAt = publish time and verifies in audit mode at stage publish', async () => {
      const result = await publishPluginVersion(ports, { manifest, wasm, signature: envelopeText }, ctx('alice'));
      expect(stored.map(sha)).toContain(envelopeDigest);
      expect(streams.get(`acme:${NAME}`)?.[0].data).toMatchObject({ signature: { envelopeDigest, signedAt: '2026-03-01T10:00:00.000Z' } });
      expect(verifier.checks).toEqual([expect.objectContaining({ stage: 'publish', environment: null, mode: 'audit', signature: { envelopeDigest, signedAt: '2026-03-01T10:00:00.000Z' } })]);
      // An untrusted signature does not refuse a publish; the reply says how it verified.
      expect(result.signature).toMatchObject({ envelopeDigest, verified: false, reason: 'SIGNATURE.UNTRUSTED_KEY' });
    });

    it('publish - a malformed envelope refuses the publish with its code; nothing is stored or verified', async () => {
      await expect(publishPluginVersion(ports, { manifest, wasm, signature: '{not json' }, ctx('alice'))).rejects.toMatchObject({ code: 'SIGNATURE.MALFORMED' });
      expect({ events: streams.eventCount, artifacts: stored.length, checks: verifier.checks.length }).toEqual({ events: 0, artifacts: 0, checks: 0 });
    });

    it('publish - an unsigned version records no verification at publish', async () => {
      const result = await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      expect(result.signature).toBeUndefined();
      expect(verifier.checks).toEqual([]);
    });

    it('install - strict (qa) refuses a failing signature with its reason after verifying; nothing is installed', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      // qa: strict by default and not gated, so the install reaches its signature check.
      const install = installPlugin(ports, { name: NAME, version: manifest.version, environment: 'qa' }, ctx('alice'));
      await expect(install).rejects.toMatchObject({ code: 'SIGNATURE.MISSING', details: { mode: 'strict', environment: 'qa' } });
      expect(verifier.checks).toEqual([expect.objectContaining({ stage: 'install', environment: 'qa', mode: 'strict', threshold: 1, signature: null })]);
      expect(streams.eventCount).toBe(1);
    });

    it('install - audit (staging) goes ahead with a failing signature; the check ran with the recorded digests', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
      const published = streams.get(`acme:${NAME}`)![0].data as { digest: string; manifestDigest: string };
      expect(verifier.checks).toEqual([
        expect.objectContaining({ stage: 'install', environment: 'staging', mode: 'audit', digest: published.digest, manifestDigest: published.manifestDigest }),
      ]);
      expect(streams.eventCount).toBe(2);
    });

    it('install, upgrade, rollback - a valid signature passes strict mode; the threshold and stage follow the command', async () => {
      ports = { ...ports, signaturePolicy: { ...DEFAULT_SIGNATURE_POLICY, qa: { mode: 'strict', threshold: 2 } } };
      await publishPluginVersion(ports, { manifest, wasm, signature: envelopeText }, ctx('alice'));
      await publishPluginVersion(ports, { manifest: { ...manifest, version: '1.1.0' }, wasm, signature: envelopeText }, ctx('alice'));
      verifier.valid.add(envelopeDigest);
      await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'qa' }, ctx('alice'));
      await upgradePlugin(ports, { name: NAME, version: '1.1.0', environment: 'qa' }, ctx('alice'));
      await rollbackPlugin(ports, { name: NAME, version: manifest.version, environment: 'qa', reason: 'slow' }, ctx('alice'));
      expect(verifier.checks.slice(2).map((c) => [c.stage, c.version, c.mode, c.threshold])).toEqual([
        ['install', manifest.version, 'strict', 2],
        ['upgrade', '1.1.0', 'strict', 2],
        ['rollback', manifest.version, 'strict', 2],
      ]);
    });

    it('a command the decider refuses, and remove, verify nothing', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
      await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'))).rejects.toMatchObject({
        code: 'REGISTRY.ALREADY_INSTALLED',
      });
      await removePlugin(ports, { name: NAME, environment: 'staging' }, ctx('alice'));
      expect(verifier.checks.map((c) => c.stage)).toEqual(['install']);
    });
  });
  describe('environments', () => {
    it('an environment never set shows its defaults; a change is per tenant', async () => {
      expect(await showEnvironment(ports, { environment: 'production' }, ctx('alice'))).toMatchObject({
        configured: false,
        settings: { mode: 'strict', threshold: 1, gated: true, promotedFrom: 'staging', approvals: 1, soakSeconds: 0 },
      });
      expect((await listEnvironments(ports, ctx('alice'))).environments.map((e) => e.environment)).toEqual(['production', 'staging']);
      await setEnvironment(ports, { environment: 'qa', threshold: 2 }, ctx('alice'));
      expect((await listEnvironments(ports, ctx('alice'))).environments.map((e) => e.environment)).toEqual(['production', 'qa', 'staging']);
    });

    it('audit mode in a gated environment waits for a second administrator, then an unsigned version installs flagged', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      const proposed = await setEnvironment(ports, { environment: 'production', mode: 'audit' }, ctx('alice'));
      expect(proposed).toMatchObject({ outcome: 'proposed', environment: { settings: { mode: 'strict' }, pending: { proposedBy: 'alice', weakened: ['mode'] } } });
      // production is gated: only an emergency change installs there directly, and it still checks the signature.
      const emergency = { name: NAME, version: manifest.version, environment: 'production', emergency: { reason: 'outage' } };
      await expect(installPlugin(ports, emergency, ctx('alice'))).rejects.toMatchObject({ code: 'SIGNATURE.MISSING' });
      await expect(confirmEnvironment(ports, { environment: 'production' }, ctx('alice'))).rejects.toMatchObject({ code: 'ENVIRONMENT.SAME_ADMIN' });
      expect(await confirmEnvironment(ports, { environment: 'production' }, ctx('bob'))).toMatchObject({ outcome: 'confirmed', environment: { settings: { mode: 'audit' }, pending: null, changedBy: 'bob' } });
      const installed = await installPlugin(ports, emergency, ctx('alice'));
      expect(installed).toMatchObject({ name: NAME, environment: 'production' });
      expect(verifier.checks.at(-1)).toMatchObject({ environment: 'production', mode: 'audit', signature: null });
    });

    it('the threshold comes from the environment settings, not the first-start policy', async () => {
      await setEnvironment(ports, { environment: 'staging', mode: 'strict', threshold: 3 }, ctx('alice'));
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'))).rejects.toMatchObject({ code: 'SIGNATURE.MISSING' });
      expect(verifier.checks.at(-1)).toMatchObject({ environment: 'staging', mode: 'strict', threshold: 3 });
    });

    it('someone without configure-environment is refused and nothing is written', async () => {
      const before = streams.store.all().length;
      await expect(setEnvironment(ports, { environment: 'production', mode: 'audit' }, ctx('dave'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
      expect(streams.store.all().length).toBe(before);
    });
  });

  describe('rejected drops', () => {
    it('the watcher\'s report is recorded on the watch aggregate of its tenant and environment, with who reported it', async () => {
      authorizer = new TableAuthorizer({ watcher: { id: 'plugins-dir', tenant: 'acme', actions: ['report-drop-rejected'] }, dave: { id: 'dave', tenant: 'acme', actions: ['install'] } });
      ports = { ...ports, authorizer };
      const reply = await reportDropRejected(ports, { environment: 'staging', folder: 'greeter', check: 'symlink', reason: 'greeter is a symbolic link' }, ctx('watcher'));
      expect(reply).toMatchObject({ environment: 'staging', folder: 'greeter' });
      const [stored] = await streams.store.read(WATCH_AGGREGATE, 'acme:staging');
      expect(stored?.event).toMatchObject({
        type: WATCH_EVENT_TYPES.dropRejected,
        actor: 'plugins-dir',
        tenant: 'acme',
        id: reply.eventId,
        data: { environment: 'staging', folder: 'greeter', check: 'symlink', reason: 'greeter is a symbolic link' },
      });
      expect(stored?.sequence).toBe(reply.sequence);
    });

    it('someone without report-drop-rejected is refused and nothing is written', async () => {
      authorizer = new TableAuthorizer({ dave: { id: 'dave', tenant: 'acme', actions: ['install'] } });
      ports = { ...ports, authorizer };
      const before = streams.store.all().length;
      await expect(reportDropRejected(ports, { environment: 'staging', folder: 'x', check: 'name', reason: 'r' }, ctx('dave'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
      expect(streams.store.all().length).toBe(before);
    });
  });

  describe('dry runs', () => {
    it('dry run - an install that would succeed runs every check, verifies without recording and appends nothing', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      const result = await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging', dryRun: true }, ctx('alice'));
      expect(result).toMatchObject({
        dryRun: true,
        wouldSucceed: true,
        name: NAME,
        version: manifest.version,
        environment: 'staging',
        events: [{ type: 'io.forgeone.plugin.installed.v1', data: { name: NAME, version: manifest.version, environment: 'staging' } }],
        signature: { stage: 'install', mode: 'audit', threshold: 1, ok: false, reason: 'SIGNATURE.MISSING', flagged: true },
      });
      expect(streams.eventCount).toBe(1);
      expect(authorizer.asked.at(-1)).toEqual({ credential: 'alice', action: 'install', plugin: NAME, environment: 'staging' });
      expect(verifier.recorded).toEqual([false]);
      // The real install afterwards is judged the same way and records its verification.
      await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
      expect({ events: streams.eventCount, recorded: verifier.recorded }).toEqual({ events: 2, recorded: [false, true] });
    });

    it('dry run - each refusal is the command\'s own code, marked with the check that failed; nothing is appended or recorded', async () => {
      await publishPluginVersion(ports, { manifest, wasm }, ctx('alice'));
      await installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging' }, ctx('alice'));
      const before = { events: streams.eventCount, recorded: [...verifier.recorded] };
      await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'production', dryRun: true }, ctx('carol'))).rejects.toMatchObject({
        code: 'AUTHZ.DENIED',
        details: { dryRun: true, failedCheck: 'authorisation' },
      });
      await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'staging', dryRun: true }, ctx('alice'))).rejects.toMatchObject({
        code: 'REGISTRY.ALREADY_INSTALLED',
        details: { dryRun: true, failedCheck: 'decision' },
      });
      await expect(installPlugin(ports, { name: NAME, version: manifest.version, environment: 'qa', dryRun: true }, ctx('alice'))).rejects.toMatchObject({
        code: 'SIGNATURE.MISSING',
        details: { dryRun: true, failedCheck: 'signature', mode: 'strict', environment: 'qa' },
      });
      expect({ events: streams.eventCount, recorded: verifier.recorded }).toEqual({ events: before.events, recorded: [...before.recorded, false] });
    });
  });
});
