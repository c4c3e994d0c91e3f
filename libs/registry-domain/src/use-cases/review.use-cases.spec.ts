import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REVIEW_SETTINGS, DEFAULT_SIGNATURE_POLICY, DEFAULT_STORAGE_QUOTA_SETTINGS, ForgeOneError, type ReviewSettings } from '@forgeone/contracts';
import { InMemoryEventStore } from '@forgeone/event-sourcing';
import { beforeEach, describe, expect, it } from 'vitest';
import { installPlugin, upgradePlugin } from './change-installation.use-case.js';
import { setEnvironment } from './environment.use-cases.js';
import { publishPluginVersion } from './publish-plugin-version.use-case.js';
import type { AuthorizationRequest, Authorizer, CommandContext, EnvironmentAuthorizationRequest, RegistryPorts } from './registry.ports.js';
import { EventStoreReviewStatusReader, listReviews, recordIncident, recordRegulation, recordReview, showReview } from './review.use-cases.js';

const hello = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello');
const baseManifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');
const manifest = (name: string, version: string) => ({ ...baseManifest, name, version });

/** token → principal and the actions it may take, on plugins and on the tenant alike. */
class TableAuthorizer implements Authorizer {
  constructor(private readonly table: Record<string, { id: string; tenant: string; actions: string[] }>) {}
  private check(credential: string | undefined, action: string) {
    const entry = credential ? this.table[credential] : undefined;
    if (!entry) throw new ForgeOneError('AUTH.UNAUTHENTICATED', 'no valid credential');
    if (!entry.actions.includes(action)) throw new ForgeOneError('AUTHZ.DENIED', `${entry.id} may not ${action}`);
    return { id: entry.id, tenant: entry.tenant };
  }
  async authorize(request: AuthorizationRequest) {
    return this.check(request.credential, request.action);
  }
  async authorizeEnvironment(request: EnvironmentAuthorizationRequest) {
    return this.check(request.credential, request.action);
  }
}

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');
let ids = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
/** The caller's context on day `day` after T0. */
const on = (credential: string, day = 0): CommandContext => ({ credential, now: new Date(T0 + day * DAY), newId: uuid });

describe('review use cases - on the in-memory event store', () => {
  let ports: RegistryPorts & { reviewSettings: ReviewSettings };
  const withSettings = (settings: Partial<ReviewSettings>) => ({ ...ports, reviewSettings: { ...ports.reviewSettings, ...settings } });

  beforeEach(async () => {
    ports = {
      events: new InMemoryEventStore(),
      authorizer: new TableAuthorizer({
        alice: { id: 'alice', tenant: 'acme', actions: ['publish', 'install', 'upgrade', 'emergency-change', 'configure-environment', 'review', 'read'] },
        rita: { id: 'rita', tenant: 'acme', actions: ['review', 'record-incident', 'record-regulation', 'read'] },
        dev: { id: 'dev', tenant: 'acme', actions: ['read'] },
        gina: { id: 'gina', tenant: 'globex', actions: ['publish', 'install', 'configure-environment', 'read', 'record-incident'] },
      }),
      signatures: {
        checkEnvelope: () => ({ ok: true, reason: null, message: 'well-formed' }),
        verify: async () => ({ ok: false, reason: 'SIGNATURE.MISSING', message: 'unsigned', details: {} }),
      },
      signaturePolicy: DEFAULT_SIGNATURE_POLICY,
      storageQuota: DEFAULT_STORAGE_QUOTA_SETTINGS,
      sha256: (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      artifacts: { put: async (bytes) => ({ digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, sizeBytes: bytes.byteLength, created: true }) },
      reviewSettings: DEFAULT_REVIEW_SETTINGS,
    };
    // acme/hello 1.0.0 installed in qa (audit mode, unsigned accepted), then qa gated: reviews apply there.
    await setEnvironment(ports, { environment: 'qa', mode: 'audit' }, on('alice'));
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) await publishPluginVersion(ports, { manifest: manifest('acme/hello', version), wasm }, on('alice'));
    await installPlugin(ports, { name: 'acme/hello', version: '1.0.0', environment: 'qa' }, on('alice'));
    await setEnvironment(ports, { environment: 'qa', promotedFrom: 'staging' }, on('alice'));
  });

  it('reader - ok after installation, due after the interval, null where it is not installed', async () => {
    const reader = new EventStoreReviewStatusReader(ports);
    expect(await reader.reviewStatus('acme', 'acme/hello', 'qa', new Date(T0 + DAY))).toMatchObject({ status: 'ok', overdue: false, reasons: [] });
    expect(await reader.reviewStatus('acme', 'acme/hello', 'qa', new Date(T0 + 91 * DAY))).toMatchObject({ status: 'due', overdue: false });
    expect(await reader.reviewStatus('acme', 'acme/hello', 'qa', new Date(T0 + 105 * DAY))).toMatchObject({ status: 'overdue', overdue: true });
    expect(await reader.reviewStatus('acme', 'acme/hello', 'staging')).toBeNull();
    expect(await reader.reviewStatus('globex', 'acme/hello', 'qa')).toBeNull();
  });

  it('reader - reviews apply only in the configured environments when they are named', async () => {
    expect(await new EventStoreReviewStatusReader(withSettings({ environments: ['production'] })).reviewStatus('acme', 'acme/hello', 'qa')).toBeNull();
  });

  it('upgrade - given a major incident naming the plugin, when upgraded in the gated environment (an emergency change: plain upgrades there are promotions), then REVIEW.REQUIRED, until an approved review', async () => {
    const incident = await recordIncident(ports, { severity: 'major', summary: 'leak', plugins: ['acme/hello'] }, on('rita', 1));
    expect(incident).toMatchObject({ kind: 'incident', forcesReview: true, plugins: ['acme/hello'] });
    const refused = upgradePlugin(ports, { name: 'acme/hello', version: '1.1.0', environment: 'qa', emergency: { reason: 'hotfix' } }, on('alice', 2));
    await expect(refused).rejects.toMatchObject({ code: 'REVIEW.REQUIRED', details: { name: 'acme/hello', environment: 'qa' } });
    // A dry run says the same, marked.
    await expect(upgradePlugin(ports, { name: 'acme/hello', version: '1.1.0', environment: 'qa', emergency: { reason: 'hotfix' }, dryRun: true }, on('alice', 2))).rejects.toMatchObject({
      code: 'REVIEW.REQUIRED',
      details: { dryRun: true, failedCheck: 'decision' },
    });
    // Configured off: the upgrade goes through.
    await expect(upgradePlugin(withSettings({ blocksUpgrade: false }), { name: 'acme/hello', version: '1.1.0', environment: 'qa', emergency: { reason: 'hotfix' } }, on('alice', 2))).resolves.toMatchObject({ version: '1.1.0' });

    await recordReview(ports, { name: 'acme/hello', outcome: 'changes-required', notes: 'redact logs' }, on('rita', 3));
    await expect(upgradePlugin(ports, { name: 'acme/hello', version: '1.2.0', environment: 'qa', emergency: { reason: 'hotfix' } }, on('alice', 4))).rejects.toMatchObject({ code: 'REVIEW.REQUIRED' });
    await recordReview(ports, { name: 'acme/hello', outcome: 'approved', notes: 'redacted' }, on('rita', 5));
    await expect(upgradePlugin(ports, { name: 'acme/hello', version: '1.2.0', environment: 'qa', emergency: { reason: 'hotfix' } }, on('alice', 6))).resolves.toMatchObject({ version: '1.2.0' });
  });

  it('upgrade - an ungated environment is never held, though its status is reported where reviews are configured to apply', async () => {
    const dev = withSettings({ environments: ['dev'] });
    await setEnvironment(ports, { environment: 'dev', mode: 'audit' }, on('alice'));
    await installPlugin(ports, { name: 'acme/hello', version: '1.0.0', environment: 'dev' }, on('alice'));
    await recordRegulation(dev, { summary: 'retention', all: true }, on('rita', 1));
    expect(await new EventStoreReviewStatusReader(dev).reviewStatus('acme', 'acme/hello', 'dev', new Date(T0 + 2 * DAY))).toMatchObject({ overdue: true });
    await expect(upgradePlugin(dev, { name: 'acme/hello', version: '1.1.0', environment: 'dev' }, on('alice', 2))).resolves.toMatchObject({ version: '1.1.0' });
  });

  it('review - the publisher of the installed version may not review it; someone who may not review is refused before anything', async () => {
    await expect(recordReview(ports, { name: 'acme/hello', outcome: 'approved', notes: 'mine' }, on('alice'))).rejects.toMatchObject({ code: 'REVIEW.SELF_REVIEW' });
    await expect(recordReview(ports, { name: 'acme/hello', outcome: 'approved', notes: 'x' }, on('dev'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    await expect(recordReview(ports, { name: 'acme/nope', outcome: 'approved', notes: 'x' }, on('rita'))).rejects.toMatchObject({ code: 'REGISTRY.PLUGIN_NOT_FOUND' });
  });

  it('list and show - a minor incident forces nothing; lists hold only the caller tenant; show names the last review', async () => {
    const minor = await recordIncident(ports, { severity: 'minor', summary: 'slow', plugins: ['acme/hello'] }, on('rita', 1));
    expect(minor.forcesReview).toBe(false);
    expect((await listReviews(ports, {}, on('dev', 2))).plugins).toEqual([]);
    // globex names acme's plugin: in its own tenant the name does not exist.
    await expect(recordIncident(ports, { severity: 'major', summary: 'x', plugins: ['acme/hello'] }, on('gina', 2))).rejects.toMatchObject({ code: 'REGISTRY.PLUGIN_NOT_FOUND' });
    await recordRegulation(ports, { summary: 'retention', all: true }, on('rita', 3));
    const list = await listReviews(ports, { overdue: true }, on('dev', 4));
    expect(list.plugins).toEqual([expect.objectContaining({ name: 'acme/hello', environment: 'qa', status: 'overdue', version: '1.0.0' })]);
    expect(list.plugins[0].reasons[0]).toMatch(/^a regulation change was recorded on .* by rita: retention$/);
    expect((await listReviews(ports, {}, on('gina', 4))).plugins).toEqual([]);
    await recordReview(ports, { name: 'acme/hello', outcome: 'approved', notes: 'ok' }, on('rita', 5));
    const shown = await showReview(ports, { name: 'acme/hello' }, on('dev', 6));
    expect(shown).toMatchObject({ name: 'acme/hello', lastReview: { outcome: 'approved', by: 'rita' }, environments: [{ environment: 'qa', status: 'ok' }] });
  });
});
